// The CPU samples of spans: the agent stamps each sample with the span its thread was serving
// (kiln_samples.span_id), so a span's profile is the samples stamped with its id, or with every id
// of its kiln.stamps attribute when its thread served other spans in its window.
import type { QueryEngine, Selection } from './engine.js';
import { DEFAULT_PROFILE_TYPE } from './selector.js';
import { Params, samplesWhere, type StampedBy } from './sql.js';
import type { TimeRange } from './time.js';
import { T } from '../storage/tables.js';

/** What the samples of a span are found by. */
export interface SpanRef {
  /** 16 hex digits. */
  spanId: string;
  service: string;
  startMs: number;
  durationNs: number;
  /** The kiln.stamps attribute: comma-separated hex span ids, empty when there are none. */
  stamps: string;
}

// A sample's time is the start of the agent interval (its profile) that took it, so samples of a
// span are stored up to one interval (10s by default) before the span started; after its end there
// is only the rounding of times to seconds. Both margins are generous: span ids are random 64-bit
// numbers, a wider window finds no foreign samples, only reads more.
const BEFORE_MS = 5 * 60_000;
const AFTER_MS = 60_000;

/** pprof's CPU profiles (Go's, our agent's) count samples as `samples/count` next to `cpu/nanoseconds`. */
const SAMPLE_COUNT_TYPE = 'samples';

/** The ids whose samples are the span's: its own and those of kiln.stamps (valid hex ids only). */
export function stampIds(span: Pick<SpanRef, 'spanId' | 'stamps'>): string[] {
  const ids = new Set([span.spanId]);
  for (const id of span.stamps.split(',')) {
    const t = id.trim().toLowerCase();
    if (/^[0-9a-f]{16}$/.test(t)) ids.add(t);
  }
  return [...ids];
}

/** A hex span id as kiln_samples.span_id stores it (decimal UInt64). */
const decimalId = (hex: string): string => BigInt(`0x${hex}`).toString();

/** The samples of these spans, wherever they fall: ids, services and the time range around them. */
export function stampedSelection(spans: readonly SpanRef[], profileType = DEFAULT_PROFILE_TYPE): Selection {
  const ids = new Set<string>();
  const services = new Set<string>();
  let fromMs = Infinity;
  let untilMs = -Infinity;
  for (const s of spans) {
    for (const id of stampIds(s)) ids.add(decimalId(id));
    services.add(s.service);
    fromMs = Math.min(fromMs, s.startMs - BEFORE_MS);
    untilMs = Math.max(untilMs, s.startMs + s.durationNs / 1e6 + AFTER_MS);
  }
  const range: TimeRange = spans.length === 0 ? { fromMs: 0, untilMs: 1 } : { fromMs, untilMs };
  const stampedBy: StampedBy = { spanIds: [...ids], services: [...services] };
  return { selector: { profileType, explicitType: true, matchers: [] }, range, stampedBy };
}

/** Each span's CPU sample count, in the order given, from one query for them all. */
export async function cpuSampleCounts(engine: QueryEngine, spans: readonly SpanRef[]): Promise<number[]> {
  if (spans.length === 0) return [];
  const sel = stampedSelection(spans, SAMPLE_COUNT_TYPE);
  const p = new Params();
  const rows = await engine.json<{ id: string; n: string }>(
    `SELECT toString(span_id) AS id, sum(value) AS n FROM ${T.samples}
     WHERE ${samplesWhere(sel.selector, sel.range, p, engine.ctx, sel.stampedBy)} GROUP BY span_id`,
    p,
  );
  const byId = new Map(rows.map((r) => [r.id, Number(r.n)]));
  return spans.map((s) => stampIds(s).reduce((sum, id) => sum + (byId.get(decimalId(id)) ?? 0), 0));
}
