// Deploys of a service from its series grouped by version: when each version ran and how much.
import type { Series } from '@kiln/api/http';

export interface Version {
  version: string;
  /** unix ms of the first and last profile of the version. */
  first: number;
  last: number;
  /** Total of the selected profile type (CPU nanoseconds for `cpu`). */
  value: number;
  /** Profiler samples (the agent's `samples` profile type), when the service has them. */
  samples?: number;
}

/**
 * One row per version (the `version` label of each series) with samples in the range, newest
 * deploy first. `stepMs` is the series' step, `untilMs` the end of the range.
 */
export function summariseVersions(series: readonly Series[], stepMs: number, untilMs: number): Version[] {
  const out: Version[] = [];
  for (const s of series) {
    const version = s.labels['version'];
    if (version === undefined) continue;
    let first = Infinity;
    let last = -Infinity;
    let value = 0;
    for (const [t, v] of s.points) {
      if (!(v > 0)) continue;
      first = Math.min(first, t);
      // A point stands for its whole step: last seen is the end of the last one (not in the future).
      last = Math.max(last, Math.min(t + stepMs, untilMs));
      value += v;
    }
    // The server's exact times when it has them; else the timeline steps bound them.
    if (value > 0) out.push({ version, first: s.firstSeen ?? first, last: s.lastSeen ?? last, value });
  }
  // Newest deploy first; deploys within one step are told apart by their version numbers.
  return out.sort((a, b) => b.first - a.first || b.last - a.last || b.version.localeCompare(a.version, undefined, { numeric: true }));
}

/** `versions` with the sample count of each from `samples` (the `samples` profile type's series grouped by version). */
export function withSampleCounts(versions: readonly Version[], samples: readonly Series[]): Version[] {
  const counts = new Map<string, number>();
  for (const s of samples) {
    const version = s.labels['version'];
    if (version !== undefined)
      counts.set(
        version,
        s.points.reduce((sum, [, v]) => sum + v, 0),
      );
  }
  return versions.map((v) => {
    const n = counts.get(v.version);
    return n === undefined ? v : { ...v, samples: n };
  });
}
