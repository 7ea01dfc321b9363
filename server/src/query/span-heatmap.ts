// The latency heatmap of a span selection: span counts by start-time column and duration row.
import type { TraceHeatmapResponse } from '@kiln/api/http';
import { T } from '../storage/tables.js';
import type { QueryEngine } from './engine.js';
import { Params } from './sql.js';
import { spanConditions, type SpanFilter } from './traces.js';

// Two rows per doubling of the duration: fine enough to tell a 150 ms route from a 250 ms one, and
// a microsecond-to-minutes spread is still fewer than 75 rows.
const ROWS_PER_OCTAVE = 2;

export async function spanHeatmap(engine: QueryEngine, f: SpanFilter, timeBuckets: number): Promise<TraceHeatmapResponse> {
  const { fromMs, untilMs } = f.range;
  const stepMs = (untilMs - fromMs) / timeBuckets;
  const p = new Params();
  const from = p.add('Int64', Math.floor(fromMs));
  const step = p.add('Float64', stepMs);
  const rows = await engine.json<{ col: string; row: string; n: string }>(
    `SELECT least(toUInt32(floor((toUnixTimestamp64Milli(start_time) - ${from}) / ${step})), ${p.add('UInt32', timeBuckets - 1)}) AS col,
       toUInt32(floor(log2(greatest(duration_ns, 1)) * ${ROWS_PER_OCTAVE})) AS row, count() AS n
     FROM ${T.spans} WHERE ${spanConditions(f, p)} GROUP BY col, row`,
    p,
  );
  const rowNumbers = rows.map((r) => Number(r.row));
  const first = rowNumbers.length === 0 ? 0 : Math.min(...rowNumbers);
  const nRows = rowNumbers.length === 0 ? 0 : Math.max(...rowNumbers) - first + 1;
  const counts = Array.from({ length: timeBuckets }, () => new Array<number>(nRows).fill(0));
  let maxCount = 0;
  for (const r of rows) {
    const n = Number(r.n);
    counts[Number(r.col)]![Number(r.row) - first] = n;
    maxCount = Math.max(maxCount, n);
  }
  const durationBoundsNs = nRows === 0 ? [] : Array.from({ length: nRows + 1 }, (_, i) => Math.round(2 ** ((first + i) / ROWS_PER_OCTAVE)));
  return { fromMs, untilMs, stepMs, durationBoundsNs, counts, maxCount };
}
