// /api/v1/series: the step of a range, and the engine's buckets as the API's dense points.
import type { ProfileMetadata, SeriesResponse } from '@kiln/api/http';
import { badRequest } from '../http/http-error.js';
import type { SeriesBuckets } from './engine.js';
import { parseStep, type TimeRange } from './time.js';

export const MAX_SERIES_POINTS = 11_000;

/** Seconds per point: `step` when given, else about 300 points over the range and never under 10 s. */
export function seriesStep(range: TimeRange, step: string | undefined): number {
  const rangeS = (range.untilMs - range.fromMs) / 1000;
  const s = step === undefined || step === '' ? Math.max(10, Math.ceil(rangeS / 300)) : parseStep(step);
  if (rangeS / s > MAX_SERIES_POINTS)
    throw badRequest(`step ${s}s gives more than ${MAX_SERIES_POINTS} points over the range; use a larger step`);
  return s;
}

export function seriesResponse(r: SeriesBuckets, step: number, metadata: ProfileMetadata): SeriesResponse {
  const ms = (x: number): number | null => (Number.isFinite(x) ? x * 1000 : null);
  return {
    series: r.groups.map((g) => {
      let total = 0;
      const points: [number, number][] = [];
      for (let i = 0; i < r.buckets; i++) {
        total += g.values[i]!;
        points.push([(r.startS + i * step) * 1000, g.values[i]!]);
      }
      return { labels: g.labels, points, total, firstSeen: ms(g.firstS), lastSeen: ms(g.lastS) };
    }),
    step,
    from: r.startS * 1000,
    until: (r.startS + r.buckets * step) * 1000,
    metadata,
  };
}
