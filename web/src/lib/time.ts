// Time ranges as the API takes them (`now-1h`, unix s/ms, RFC 3339) and as people read them.

export interface TimeRange {
  from: string;
  until: string;
}

export const PRESETS: readonly { label: string; from: string }[] = [
  { label: '5m', from: 'now-5m' },
  { label: '15m', from: 'now-15m' },
  { label: '1h', from: 'now-1h' },
  { label: '6h', from: 'now-6h' },
  { label: '24h', from: 'now-24h' },
  { label: '7d', from: 'now-7d' },
  { label: '30d', from: 'now-30d' },
];

export const DEFAULT_RANGE: TimeRange = { from: 'now-1h', until: 'now' };

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** A duration like `500ms`, `10s`, `5m`, `2h`, `7d` in ms, or NaN. */
export function parseDuration(s: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d|w)$/.exec(s.trim());
  return m ? Number(m[1]) * UNIT_MS[m[2]!]! : NaN;
}

/** A time parameter → unix ms (relative ones against `now`), NaN if unreadable. */
export function resolveTime(t: string, now = Date.now()): number {
  const s = t.trim();
  if (s === 'now') return now;
  const rel = /^now\s*-\s*(.+)$/.exec(s);
  if (rel) return now - parseDuration(rel[1]!);
  if (/^\d+$/.test(s)) {
    const n = Number(s);
    return s.length >= 13 ? n : n * 1000;
  }
  return Date.parse(s);
}

/** Absolute ms → the API's unix ms parameter. */
export function msParam(ms: number): string {
  return String(Math.round(ms));
}

export function isRelative(t: string): boolean {
  return t.trim().startsWith('now');
}

/** "last 1h" for presets, else "2026-11-22 10:00 → 11:00". */
export function describeRange(r: TimeRange, now = Date.now()): string {
  if (r.until === 'now' && isRelative(r.from)) return `last ${r.from.replace(/^now-/, '')}`;
  const a = resolveTime(r.from, now);
  const b = resolveTime(r.until, now);
  if (!Number.isFinite(a) || !Number.isFinite(b)) return `${r.from} → ${r.until}`;
  const da = formatDateTime(a);
  const db = formatDateTime(b);
  return da.slice(0, 10) === db.slice(0, 10) ? `${da} → ${db.slice(11)}` : `${da} → ${db}`;
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}

/** Local "YYYY-MM-DD HH:MM:SS". */
export function formatDateTime(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** Value for an `<input type="datetime-local">`. */
export function toLocalInput(ms: number): string {
  return formatDateTime(ms).replace(' ', 'T');
}

/** A step giving about `points` buckets over [from, until] ms, as a duration string. */
export function stepFor(fromMs: number, untilMs: number, points = 120): string {
  const span = Math.max(1000, untilMs - fromMs);
  const raw = span / points / 1000;
  const steps = [1, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400];
  const s = steps.find((x) => x >= raw) ?? 86400;
  return `${s}s`;
}

/** The time axis a page's timelines share: absolute bounds and the step of their buckets. */
export interface TimeAxis {
  fromMs: number;
  untilMs: number;
  /** The CPU timeline's step (see {@link stepFor}); the signal timelines cut their buckets to match. */
  step: string;
  stepMs: number;
}

/** The axis of `range` as of `now`, or null when a bound is unreadable or the range is empty. */
export function timeAxis(range: TimeRange, now = Date.now()): TimeAxis | null {
  const fromMs = resolveTime(range.from, now);
  const untilMs = resolveTime(range.until, now);
  if (!Number.isFinite(fromMs) || !Number.isFinite(untilMs) || untilMs <= fromMs) return null;
  const step = stepFor(fromMs, untilMs);
  return { fromMs, untilMs, step, stepMs: parseDuration(step) };
}
