// The kernel's own throttling counters of a cgroup (cpu.stat) and its quota, v1 and v2: the
// cross-check of what the scheduler probe measured. Counters are cumulative; the agent sends what
// each grew by over an interval.
import { readFileSync } from 'node:fs';

export interface CpuStat {
  periods: number;
  throttledPeriods: number;
  throttledNs: number;
}

export interface CpuQuota {
  /** µs per period, -1 for none. */
  quotaUs: number;
  periodUs: number;
}

/**
 * cpu.stat: v1 has throttled_time (ns), v2 throttled_usec. A v2 cgroup without the cpu controller
 * enabled has neither period counter: it cannot be throttled, and counts as zero.
 */
export function parseCpuStat(text: string): CpuStat {
  const fields = new Map<string, number>();
  for (const line of text.split('\n')) {
    const [key, value] = line.trim().split(/\s+/);
    if (key && value !== undefined && /^\d+$/.test(value)) fields.set(key, Number(value));
  }
  if (fields.size === 0) throw new Error(`not a cpu.stat: ${JSON.stringify(text.slice(0, 80))}`);
  const throttledUs = fields.get('throttled_usec');
  return {
    periods: fields.get('nr_periods') ?? 0,
    throttledPeriods: fields.get('nr_throttled') ?? 0,
    throttledNs: throttledUs !== undefined ? throttledUs * 1000 : (fields.get('throttled_time') ?? 0),
  };
}

/** v2 cpu.max: `max 100000` or `10000 100000`. */
export function parseCpuMax(text: string): CpuQuota {
  const match = /^(max|\d+)\s+(\d+)\s*$/.exec(text.trim());
  if (!match) throw new Error(`not a cpu.max: ${JSON.stringify(text.slice(0, 80))}`);
  return { quotaUs: match[1] === 'max' ? -1 : Number(match[1]), periodUs: Number(match[2]) };
}

/** v1 cpu.cfs_quota_us (-1: none) and cpu.cfs_period_us. */
export function parseCfsQuota(quotaText: string, periodText: string): CpuQuota {
  const quota = quotaText.trim();
  const period = periodText.trim();
  if (!/^-?\d+$/.test(quota) || !/^\d+$/.test(period))
    throw new Error(`not a cfs quota and period: ${JSON.stringify(quota.slice(0, 40))}, ${JSON.stringify(period.slice(0, 40))}`);
  return { quotaUs: Number(quota) < 0 ? -1 : Number(quota), periodUs: Number(period) };
}

/** A cgroup directory's counters and quota; the root cgroup has no quota files (none: -1). */
export function readCpuStat(dir: string, version: 1 | 2): { stat: CpuStat; quota: CpuQuota } {
  const stat = parseCpuStat(readFileSync(`${dir}/cpu.stat`, 'utf8'));
  const optional = (file: string): string | undefined => {
    try {
      return readFileSync(`${dir}/${file}`, 'utf8');
    } catch {
      return undefined;
    }
  };
  let quota: CpuQuota = { quotaUs: -1, periodUs: 0 };
  if (version === 2) {
    const max = optional('cpu.max');
    if (max !== undefined) quota = parseCpuMax(max);
  } else {
    const q = optional('cpu.cfs_quota_us');
    const p = optional('cpu.cfs_period_us');
    if (q !== undefined && p !== undefined) quota = parseCfsQuota(q, p);
  }
  return { stat, quota };
}

export interface CpuStatDelta extends CpuStat, CpuQuota {
  cgroupId: bigint;
}

/** Per cgroup, what its counters grew by since the previous poll. */
export class CpuStatDeltas {
  readonly #last = new Map<bigint, CpuStat>();

  constructor(private readonly read: (dir: string) => { stat: CpuStat; quota: CpuQuota }) {}

  /**
   * Reads each cgroup and returns the growth of those read before; a first reading is the baseline.
   * A cgroup gone or unreadable is forgotten, as is one not asked for.
   */
  poll(cgroups: { id: bigint; dir: string }[], onError?: (dir: string, err: Error) => void): CpuStatDelta[] {
    const out: CpuStatDelta[] = [];
    const asked = new Set<bigint>();
    for (const { id, dir } of cgroups) {
      asked.add(id);
      let now;
      try {
        now = this.read(dir);
      } catch (err) {
        this.#last.delete(id);
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') onError?.(dir, err as Error);
        continue;
      }
      const before = this.#last.get(id);
      this.#last.set(id, now.stat);
      // Counters that went down belong to a new cgroup of the same path: the new reading is a baseline.
      if (before === undefined || now.stat.periods < before.periods || now.stat.throttledNs < before.throttledNs) continue;
      out.push({
        cgroupId: id,
        periods: now.stat.periods - before.periods,
        throttledPeriods: Math.max(0, now.stat.throttledPeriods - before.throttledPeriods),
        throttledNs: now.stat.throttledNs - before.throttledNs,
        ...now.quota,
      });
    }
    for (const id of this.#last.keys()) if (!asked.has(id)) this.#last.delete(id);
    return out;
  }
}
