// Kernel symbols from /proc/kallsyms: text symbols only, modules as "name [module]".
// Loaded on first use; reloaded (at most once per minReloadIntervalMs) when an address
// is not covered, which is what a module or BPF program loaded since then looks like.
//
// The table is compact: sorted addresses, one buffer of names and offsets into it (~5 MB for
// 120k symbols, against ~11 MB of small strings on the JS heap), read and parsed in native
// code (a load is ~50 ms, mostly the kernel formatting the file).
import { native } from './native.js';

/** How far past a symbol an address may be when the next symbol belongs to another module. */
const MAX_TAIL = 0x10000;
/** ... and when the next symbol is in the same module (or the core kernel). */
const MAX_GAP = 0x100000;
/**
 * Addresses are stored as offsets from this base so that they fit a double exactly: kernel
 * text, modules and BPF programs live above it on x86-64 and arm64 (addresses below are skipped).
 */
const BASE = 0xfff0000000000000n;
/** Addresses that stayed uncovered right after a load: they do not trigger another one. */
const MAX_MISSES = 4096;

export interface KallsymsOptions {
  minReloadIntervalMs?: number;
  now?: () => number;
}

export class Kallsyms {
  /** Sorted, one per address (the first symbol listed there). */
  private keys: Float64Array = new Float64Array(0);
  /** Name i is names[nameStart[i], nameStart[i] + nameLength[i]). */
  private names: Buffer = Buffer.alloc(0);
  private nameStart: Uint32Array = new Uint32Array(0);
  private nameLength: Uint16Array = new Uint16Array(0);
  /** Index into `modules`; 0 is the core kernel (''). */
  private moduleOf: Uint16Array = new Uint16Array(0);
  private modules: string[] = [''];
  private loadedAt = -Infinity;
  private readonly missedSinceLoad = new Set<bigint>();
  /** Every address read as 0: kptr_restrict hides them from us. */
  restricted = false;
  loads = 0;
  private readonly minReloadIntervalMs: number;
  private readonly now: () => number;

  constructor(
    readonly path: string,
    opts: KallsymsOptions = {},
  ) {
    this.minReloadIntervalMs = opts.minReloadIntervalMs ?? 10_000;
    this.now = opts.now ?? Date.now;
  }

  get size(): number {
    return this.keys.length;
  }

  /** Reads the file now. Throws if it cannot be read. */
  load(): void {
    const t = native().loadKallsyms(this.path, BASE);
    this.loadedAt = this.now();
    this.loads++;
    this.missedSinceLoad.clear();
    this.keys = t.keys;
    this.names = t.names;
    this.nameStart = t.nameStart;
    this.nameLength = t.nameLength;
    this.moduleOf = t.moduleOf;
    this.modules = t.modules;
    this.restricted = t.restricted;
  }

  /**
   * The symbol covering `addr` ("name" or "name [module]"), or undefined. Loads the file on
   * first use and reloads it when the address is not covered (rate-limited; an address that
   * was still not covered right after a load does not reload again). Throws if the file
   * cannot be read.
   */
  lookup(addr: bigint): string | undefined {
    if (this.loads === 0) this.load();
    let found = this.find(addr);
    if (found === undefined && !this.missedSinceLoad.has(addr) && this.now() - this.loadedAt >= this.minReloadIntervalMs) {
      this.load();
      found = this.find(addr);
      if (found === undefined) {
        if (this.missedSinceLoad.size >= MAX_MISSES) this.missedSinceLoad.clear();
        this.missedSinceLoad.add(addr);
      }
    }
    return found;
  }

  private find(addr: bigint): string | undefined {
    if (this.restricted || addr < BASE) return undefined;
    const key = Number(addr - BASE);
    const keys = this.keys;
    let lo = 0;
    let hi = keys.length - 1;
    let i = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if ((keys[mid] ?? 0) <= key) {
        i = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    if (i < 0) return undefined;
    const mod = this.moduleOf[i] ?? 0;
    const sameRegion = i + 1 < keys.length && this.moduleOf[i + 1] === mod;
    if (key - (keys[i] ?? 0) >= (sameRegion ? MAX_GAP : MAX_TAIL)) return undefined;
    const start = this.nameStart[i] ?? 0;
    const name = this.names.toString('latin1', start, start + (this.nameLength[i] ?? 0));
    return mod === 0 ? name : `${name} [${this.modules[mod] ?? ''}]`;
  }
}
