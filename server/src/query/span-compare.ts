// "Compare slow with typical": for one route or statement, the diff of the merged CPU profiles of
// its typical spans (p40–p60 of its durations, the left side) against its slow ones (p95 and up).
import type { SpanCompareResponse, SpanGroup } from '@kiln/api/http';
import { HttpError } from '../http/http-error.js';
import { T } from '../storage/tables.js';
import { diffBody, type QueryEngine } from './engine.js';
import { DEFAULT_PROFILE_TYPE } from './selector.js';
import { cpuSampleCounts, stampedSelection, type SpanRef } from './span-samples.js';
import { Params } from './sql.js';
import { spanConditions, spanRefs, type SpanFilter } from './traces.js';

/** Below this, a p95 is one or two spans and a median is not typical of anything. */
export const MIN_COMPARED_SPANS = 10;
/**
 * Spans merged per side at most (a sample of them, by span id hash, when there are more): enough
 * for a stable profile, and the ids stay a small query parameter.
 */
const MAX_GROUP_SPANS = 2000;

export async function compareSlowWithTypical(
  engine: QueryEngine,
  f: SpanFilter & { name: string },
  maxNodes: number,
): Promise<SpanCompareResponse> {
  const p = new Params();
  const where = spanConditions(f, p);
  const [q] = await engine.json<{ n: string; p40: string; p60: string; p95: string }>(
    `SELECT count() AS n, quantileExact(0.4)(duration_ns) AS p40, quantileExact(0.6)(duration_ns) AS p60,
       quantileExact(0.95)(duration_ns) AS p95 FROM ${T.spans} WHERE ${where}`,
    p,
  );
  const n = Number(q?.n ?? 0);
  const what = `spans named ${JSON.stringify(f.name)}`;
  if (n === 0) throw new HttpError(404, `no ${what} in the selection and range`);
  if (n < MIN_COMPARED_SPANS)
    throw new HttpError(400, `only ${n} ${what} in the selection and range: comparing needs at least ${MIN_COMPARED_SPANS}`);
  const group = (condition: string): Promise<SpanRef[]> =>
    spanRefs(engine, `${where} AND ${condition}`, `ORDER BY cityHash64(span_id) LIMIT ${MAX_GROUP_SPANS}`, p);
  const typical = await group(`duration_ns BETWEEN ${p.add('UInt64', q!.p40)} AND ${p.add('UInt64', q!.p60)}`);
  const slow = await group(`duration_ns >= ${p.add('UInt64', q!.p95)}`);
  const typicalGroup = summary(typical, await cpuSampleCounts(engine, typical));
  const slowGroup = summary(slow, await cpuSampleCounts(engine, slow));
  if (typicalGroup.cpuSamples === 0 && slowGroup.cpuSamples === 0) {
    throw new HttpError(
      404,
      `the ${what} hold no CPU samples: only spans the agent captured are stamped on the samples taken while they ran`,
    );
  }
  const r = await engine.diff(stampedSelection(typical), stampedSelection(slow), maxNodes);
  return { diff: diffBody(r, await engine.metadata(DEFAULT_PROFILE_TYPE), maxNodes), slow: slowGroup, typical: typicalGroup };
}

function summary(spans: SpanRef[], samples: number[]): SpanGroup {
  const durations = spans.map((s) => s.durationNs);
  return {
    spans: spans.length,
    cpuSamples: samples.reduce((a, b) => a + b, 0),
    minDurationNs: durations.length === 0 ? 0 : Math.min(...durations),
    maxDurationNs: durations.length === 0 ? 0 : Math.max(...durations),
  };
}
