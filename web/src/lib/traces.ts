// Spans as the Traces pages show them: durations, the waterfall order of a trace, how a span's
// CPU samples were attributed, and the time × duration box selected on the heatmap.
import type { Span, SpanSummary } from './api';

/** "1.24 s", "245 ms", "830 µs", "120 ns". */
export function formatDurationNs(ns: number): string {
  if (ns >= 60e9) return `${(ns / 60e9).toFixed(ns >= 600e9 ? 0 : 1)} min`;
  if (ns >= 1e9) return `${(ns / 1e9).toFixed(ns >= 10e9 ? 1 : 2)} s`;
  if (ns >= 1e6) return `${(ns / 1e6).toFixed(ns >= 100e6 ? 0 : ns >= 10e6 ? 1 : 2)} ms`;
  if (ns >= 1e3) return `${(ns / 1e3).toFixed(ns >= 100e3 ? 0 : 1)} µs`;
  return `${Math.round(ns)} ns`;
}

/** Nanoseconds as the API's duration parameter (whole microseconds, rounded down so the bound is kept). */
export function durationParam(ns: number): string {
  return `${Math.floor(ns / 1e3)}us`;
}

/** A duration parameter (`250ms`, `1.5s`, `800us`, `1m`) in nanoseconds, or NaN. */
export function parseDurationNs(s: string): number {
  const m = /^(\d+(?:\.\d+)?)(us|ms|s|m|h)$/.exec(s.trim());
  if (m === null) return NaN;
  const unit: Record<string, number> = { us: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };
  return Number(m[1]) * unit[m[2]!]!;
}

export interface WaterfallRow {
  span: Span;
  /** Nesting under its parent (0 for a root, or a span whose parent is not stored). */
  depth: number;
  /** Start and end relative to the trace's first start, in ms. */
  offsetMs: number;
  endMs: number;
}

export interface Waterfall {
  rows: WaterfallRow[];
  /** Last end relative to the first start, in ms (at least a microsecond, so widths stay finite). */
  totalMs: number;
}

/**
 * The spans of a trace depth first, children under their parent by start time. A span whose
 * parent is missing (not captured, or from a service that sends nowhere) is shown as a root
 * rather than hidden.
 */
export function waterfall(spans: readonly Span[]): Waterfall {
  if (spans.length === 0) return { rows: [], totalMs: 0 };
  const ids = new Set(spans.map((s) => s.spanId));
  const children = new Map<string, Span[]>();
  const roots: Span[] = [];
  for (const s of spans) {
    if (s.parentSpanId !== '' && s.parentSpanId !== s.spanId && ids.has(s.parentSpanId)) {
      const list = children.get(s.parentSpanId) ?? [];
      list.push(s);
      children.set(s.parentSpanId, list);
    } else roots.push(s);
  }
  const byStart = (a: Span, b: Span): number => a.start - b.start || b.durationNs - a.durationNs;
  const t0 = Math.min(...spans.map((s) => s.start));
  const rows: WaterfallRow[] = [];
  const seen = new Set<string>();
  const visit = (s: Span, depth: number): void => {
    // A cycle of parent ids (bad input from an SDK) must not loop forever.
    if (seen.has(s.spanId)) return;
    seen.add(s.spanId);
    const offsetMs = s.start - t0;
    rows.push({ span: s, depth, offsetMs, endMs: offsetMs + s.durationNs / 1e6 });
    for (const c of (children.get(s.spanId) ?? []).sort(byStart)) visit(c, depth + 1);
  };
  for (const r of roots.sort(byStart)) visit(r, 0);
  // Spans only reachable through a cycle: still listed, as roots.
  for (const s of [...spans].sort(byStart)) visit(s, 0);
  return { rows, totalMs: Math.max(1e-3, ...rows.map((r) => r.endMs)) };
}

export interface Attribution {
  /** exact: the thread served only this span; thread-window: it interleaved others (an event loop). */
  mode: string;
  /** How many other spans the thread served meanwhile. */
  overlapped: number | undefined;
  /** Span ids whose samples fall in this span's window, besides its own. */
  stamps: string[];
}

/** The kiln.* attribution attributes of an agent span; undefined for spans without them (SDK spans). */
export function attributionOf(span: Span): Attribution | undefined {
  const mode = span.attributes['kiln.attribution'];
  if (mode === undefined) return undefined;
  const overlapped = span.attributes['kiln.overlapped'];
  const stamps = span.attributes['kiln.stamps'];
  return {
    mode,
    overlapped: overlapped === undefined || overlapped === '' ? undefined : Number(overlapped),
    stamps: stamps ? stamps.split(',').filter((s) => s !== '') : [],
  };
}

/** The time × duration area selected on the heatmap: [fromMs, untilMs) × [minNs, maxNs). */
export interface HeatmapBox {
  fromMs: number;
  untilMs: number;
  minNs: number;
  maxNs: number;
}

/** The `box` URL parameter: `fromMs,untilMs,minNs,maxNs`. */
export function formatBox(b: HeatmapBox): string {
  return [b.fromMs, b.untilMs, b.minNs, b.maxNs].map((v) => String(Math.round(v))).join(',');
}

export function parseBox(s: string | null): HeatmapBox | null {
  if (s === null) return null;
  const v = s.split(',').map(Number);
  if (v.length !== 4 || !v.every(Number.isFinite)) return null;
  const [fromMs, untilMs, minNs, maxNs] = v as [number, number, number, number];
  return untilMs > fromMs && maxNs > minNs ? { fromMs, untilMs, minNs, maxNs } : null;
}

export function inBox(s: SpanSummary, b: HeatmapBox): boolean {
  return s.start >= b.fromMs && s.start < b.untilMs && s.durationNs >= b.minNs && s.durationNs < b.maxNs;
}

/** The time × duration box of heatmap cells [c0, c1] × [r0, r1] (inclusive, any order). */
export function cellsBox(
  h: { fromMs: number; stepMs: number; durationBoundsNs: readonly number[] },
  c0: number,
  c1: number,
  r0: number,
  r1: number,
): HeatmapBox {
  const [ca, cb] = c0 <= c1 ? [c0, c1] : [c1, c0];
  const [ra, rb] = r0 <= r1 ? [r0, r1] : [r1, r0];
  return {
    fromMs: h.fromMs + ca * h.stepMs,
    untilMs: h.fromMs + (cb + 1) * h.stepMs,
    minNs: h.durationBoundsNs[ra]!,
    maxNs: h.durationBoundsNs[rb + 1]!,
  };
}
