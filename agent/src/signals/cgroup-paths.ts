// The scheduler probe names a cgroup by its id, the inode number of its directory in the CPU
// controller's hierarchy; the API names it by its path there. Ids are found by walking the
// hierarchy, again when an unknown id turns up, but at most once a second (about once per agent
// interval, when records are labelled): a cgroup that came and went between two walks stays
// unknown rather than costing a walk per record.
import { readdirSync, statSync } from 'node:fs';
import type { CpuHierarchy } from '../cgroups.js';

export interface CgroupPathsOptions {
  hierarchy: CpuHierarchy;
  /** Walks at most this often (default 1 s). */
  rewalkMs?: number;
  /** Directories remembered at most (default 65536); past it the map starts over at the next walk. */
  maxEntries?: number;
  now?: () => number;
}

export interface CgroupDir {
  /** As the API carries it: the path in the hierarchy, `/` for its root. */
  path: string;
  /** Where its files are on this host. */
  dir: string;
}

export class CgroupPaths {
  readonly #opts: CgroupPathsOptions;
  readonly #byId = new Map<bigint, CgroupDir>();
  #walkedAt = -Infinity;
  /** Directories the last walk met beyond maxEntries. */
  overflow = 0;

  constructor(opts: CgroupPathsOptions) {
    this.#opts = opts;
  }

  /** The cgroup of this id, if it exists (or existed at a walk). */
  of(id: bigint): CgroupDir | undefined {
    let found = this.#byId.get(id);
    if (found === undefined) {
      const now = (this.#opts.now ?? Date.now)();
      if (now - this.#walkedAt < (this.#opts.rewalkMs ?? 1000)) return undefined;
      this.#walkedAt = now;
      this.#walk();
      found = this.#byId.get(id);
    }
    return found;
  }

  /** A path to show for an id: its own, or one that says it is not known. */
  pathOf(id: bigint): string {
    return this.of(id)?.path ?? `unknown cgroup ${id}`;
  }

  #walk(): void {
    const max = this.#opts.maxEntries ?? 65536;
    if (this.#byId.size >= max) this.#byId.clear();
    this.overflow = 0;
    const { mount, root } = this.#opts.hierarchy;
    const prefix = root === '/' ? '' : root;
    const stack: [dir: string, path: string][] = [[mount, '']];
    for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
      const [dir, path] = next;
      let ino: bigint;
      let entries;
      try {
        ino = statSync(dir, { bigint: true }).ino;
        entries = readdirSync(dir, { withFileTypes: true });
      } catch {
        continue; // removed while we walked
      }
      if (this.#byId.size >= max) {
        this.overflow++;
        continue;
      }
      this.#byId.set(ino, { path: prefix + path || '/', dir });
      for (const e of entries) if (e.isDirectory()) stack.push([`${dir}/${e.name}`, `${path}/${e.name}`]);
    }
  }
}
