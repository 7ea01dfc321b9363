// A CPU controller cgroup for tests: created with an optional quota, processes started inside it,
// the kernel's own throttling counters read from it, removed afterwards. Works on cgroup v1 (the
// `cpu` hierarchy) and v2 (the unified one, with the cpu controller enabled at its root).
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface CpuStat {
  periods: number;
  throttledPeriods: number;
  throttledNs: number;
}

interface Hierarchy {
  root: string;
  version: 1 | 2;
}

function cpuHierarchy(): Hierarchy {
  for (const line of readFileSync('/proc/self/mounts', 'utf8').split('\n')) {
    const [, mountPoint, type, options] = line.split(' ');
    if (mountPoint === undefined || options === undefined) continue;
    if (type === 'cgroup' && options.split(',').includes('cpu')) return { root: mountPoint, version: 1 };
  }
  for (const line of readFileSync('/proc/self/mounts', 'utf8').split('\n')) {
    const [, mountPoint, type] = line.split(' ');
    if (type === 'cgroup2' && mountPoint !== undefined) {
      const controllers = readFileSync(join(mountPoint, 'cgroup.controllers'), 'utf8');
      if (controllers.split(/\s+/).includes('cpu')) return { root: mountPoint, version: 2 };
    }
  }
  throw new Error('no cgroup hierarchy with the cpu controller is mounted: CPU throttling cannot be tested here');
}

export class CpuCgroup {
  /** The path in the cpu hierarchy, as the agent reports it: `/kiln-test-…`. */
  readonly path: string;
  readonly dir: string;
  /** The kernel's id of the cgroup: its directory's inode number. */
  readonly id: bigint;
  readonly #version: 1 | 2;

  /** A new cgroup; with `quotaUs`, its tasks may use that much CPU time per `periodUs` (default 100 ms). */
  constructor(opts: { quotaUs?: number; periodUs?: number } = {}) {
    const h = cpuHierarchy();
    this.#version = h.version;
    this.path = `/kiln-test-${randomBytes(4).toString('hex')}`;
    this.dir = join(h.root, this.path);
    mkdirSync(this.dir);
    const period = opts.periodUs ?? 100_000;
    if (opts.quotaUs !== undefined) {
      if (h.version === 1) {
        writeFileSync(join(this.dir, 'cpu.cfs_period_us'), String(period));
        writeFileSync(join(this.dir, 'cpu.cfs_quota_us'), String(opts.quotaUs));
      } else {
        writeFileSync(join(this.dir, 'cpu.max'), `${opts.quotaUs} ${period}`);
      }
    }
    this.id = statSync(this.dir, { bigint: true }).ino;
  }

  /** `command` wrapped so that it runs inside this cgroup from its first instruction. */
  wrap(command: readonly string[]): string[] {
    return ['sh', '-c', `echo $$ > ${this.dir}/cgroup.procs && exec "$@"`, 'sh', ...command];
  }

  cpuStat(): CpuStat {
    const fields = new Map<string, number>();
    for (const line of readFileSync(join(this.dir, 'cpu.stat'), 'utf8').split('\n')) {
      const [k, v] = line.split(' ');
      if (k !== undefined && v !== undefined) fields.set(k, Number(v));
    }
    const throttledNs = this.#version === 1 ? (fields.get('throttled_time') ?? 0) : (fields.get('throttled_usec') ?? 0) * 1000;
    return { periods: fields.get('nr_periods') ?? 0, throttledPeriods: fields.get('nr_throttled') ?? 0, throttledNs };
  }

  /** Moves whatever still runs in it to the root cgroup and removes it. */
  remove(): void {
    const root = join(this.dir, '..');
    try {
      for (const pid of readFileSync(join(this.dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean)) {
        try {
          writeFileSync(join(root, 'cgroup.procs'), pid);
        } catch {
          // It exited meanwhile.
        }
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    // A task that just exited can keep the cgroup busy for a moment.
    for (let attempt = 0; ; attempt++) {
      try {
        rmdirSync(this.dir);
        return;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') return;
        if (code !== 'EBUSY' || attempt === 50) throw err;
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
      }
    }
  }
}
