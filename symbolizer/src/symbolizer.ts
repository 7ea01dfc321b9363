// Raw stack addresses → frames. User space through per-process snapshots of the address
// space and a build-id keyed cache of ELF/DWARF state (elfutils underneath); JIT code
// through perf maps; the kernel through /proc/kallsyms. Nothing here throws out of the
// public methods: problems are counted by kind and the frames become "[unknown] ...".
import type { Logger } from 'pino';

import { ElfCache, FrameCache, type Frame } from './elf-cache.js';
import { ElfResolvePass, type ElfResolveContext } from './elf-resolve-pass.js';
import { ErrorAccounting } from './error-accounting.js';
import { Kallsyms } from './kallsyms.js';
import { kernelFrames } from './kernel-frames.js';
import { MappedFiles } from './mapped-files.js';
import { isFileMapping } from './proc-maps.js';
import { ProcessSnapshots } from './process-snapshots.js';
import { ProcessView } from './process-view.js';
import { jitUserFrames, unknownFrame, unknownUserFrames, type FrameCounts, type UserFrames } from './user-frames.js';

export interface SymbolizerStats {
  /** Lookups answered by the per-(build-id, vaddr) frame cache. */
  cacheHits: number;
  cacheMisses: number;
  /** Addresses that became an "[unknown] ..." frame. */
  unknownFrames: number;
  /** Addresses resolved to at least one named frame. */
  resolvedFrames: number;
  errors: number;
  errorsByKind: Record<string, number>;
  /** ELF files open in the cache, and the memory they hold (bounded by maxCacheBytes). */
  elfFiles: number;
  elfBytes: number;
}

export interface SymbolizerOptions {
  procRoot?: string;
  /**
   * Bound on the memory the cached ELF/DWARF state holds: per file, the heap its setup allocated
   * (libelf's copies of the sections read, decompressed debug sections, libdwfl's module, the
   * symbol index), DWZ files copied into memory, and ENTRY_BYTES for the rest. Default 48 MiB.
   */
  maxCacheBytes?: number;
  /**
   * An address outside every executable mapping re-reads /proc/<pid>/maps (a dlopen since the
   * last read) when that read is at least this old. Default 1000 ms; the agent passes half its
   * interval, so an unchanged process's maps are read about once per interval at most.
   */
  mapsRefreshMs?: number;
  logger?: Logger;
}

const DEFAULT_MAX_CACHE_BYTES = 48 * 1024 * 1024;
/** Default of SymbolizerOptions.mapsRefreshMs. */
const DEFAULT_MAPS_REFRESH_MS = 1000;

export class Symbolizer {
  private readonly errors: ErrorAccounting;
  private readonly cache: ElfCache;
  private readonly files: MappedFiles;
  private readonly snapshots: ProcessSnapshots;
  private readonly kallsyms: Kallsyms;
  private readonly counts: FrameCounts = { cacheHits: 0, cacheMisses: 0, unknownFrames: 0, resolvedFrames: 0 };
  private readonly elfContext: ElfResolveContext;

  constructor(opts: SymbolizerOptions = {}) {
    const procRoot = opts.procRoot ?? '/proc';
    this.errors = new ErrorAccounting(opts.logger);
    this.cache = new ElfCache(opts.maxCacheBytes ?? DEFAULT_MAX_CACHE_BYTES);
    this.files = new MappedFiles(this.cache, this.errors);
    this.snapshots = new ProcessSnapshots(procRoot, opts.mapsRefreshMs ?? DEFAULT_MAPS_REFRESH_MS, this.files, this.errors);
    this.kallsyms = new Kallsyms(`${procRoot}/kallsyms`);
    this.elfContext = { cache: this.cache, frameCache: new FrameCache(), files: this.files, errors: this.errors, counts: this.counts };
  }

  /**
   * Captures what is needed to symbolize `pid` later even if it exits: its maps, and every
   * executable file mapping's ELF opened through /proc/<pid>/map_files (falling back to
   * /proc/<pid>/root/<path>). Cheap if already captured for this pid and generation.
   * Returns false if /proc/<pid> is unreadable (counted as an error).
   */
  snapshotProcess(pid: number, generation?: number): boolean {
    try {
      return this.snapshots.capture(pid, generation);
    } catch (err) {
      this.errors.count('internal', err);
      return false;
    }
  }

  /**
   * The build-id of the executable file mapping of `path` in `pid`'s current snapshot (the
   * snapshot's ELF state already has it); undefined when there is no snapshot, no such mapping,
   * or its file could not be opened. Never reads /proc.
   */
  mappedBuildId(pid: number, path: string): string | undefined {
    return this.snapshots.mappedBuildId(pid, path);
  }

  /** Drops a process's snapshot. Cached ELF state stays (it is shared by build-id). */
  forgetProcess(pid: number): void {
    this.snapshots.forget(pid);
  }

  /**
   * User-space addresses of `pid` → frames, one entry per address. By default the first
   * address is the leaf (a PC) and every other one a return address, looked up at address - 1
   * so that it falls in the call instruction; `isReturnAddress` overrides that (one flag for
   * all, or one per address). Takes a snapshot if there is none for this pid and generation.
   */
  symbolizeUser(pid: number, addresses: number[], generation?: number, isReturnAddress?: boolean | boolean[]): UserFrames[] {
    try {
      return this.symbolizeUserUnchecked(pid, addresses, generation, isReturnAddress);
    } catch (err) {
      this.errors.count('internal', err);
      this.counts.unknownFrames += addresses.length;
      return addresses.map((a) => ({ frames: [unknownFrame(`[unknown] 0x${a.toString(16)}`)] }));
    } finally {
      this.cache.releaseHolds();
    }
  }

  /** Kernel addresses → one frame each from /proc/kallsyms ("name" or "name [module]"). */
  symbolizeKernel(addresses: bigint[]): Frame[] {
    return kernelFrames(this.kallsyms, addresses, this.errors, this.counts);
  }

  stats(): SymbolizerStats {
    return {
      ...this.counts,
      errors: this.errors.total,
      errorsByKind: { ...this.errors.byKind },
      elfFiles: this.cache.size,
      elfBytes: this.cache.bytes,
    };
  }

  /** Releases every native handle. The symbolizer stays usable (it reopens what it needs). */
  close(): void {
    this.snapshots.clear();
    this.files.clear();
    this.cache.clear();
  }

  /**
   * Three phases: the process's snapshot for the batch; each address located in it, JIT code
   * named from perf maps and file mappings answered from the frame cache or queued per ELF file;
   * one native resolve per file for what was queued.
   */
  private symbolizeUserUnchecked(
    pid: number,
    addresses: number[],
    generation: number | undefined,
    isReturnAddress: boolean | boolean[] | undefined,
  ): UserFrames[] {
    const out: UserFrames[] = new Array<UserFrames>(addresses.length);
    const view = ProcessView.forBatch(this.snapshots, pid, generation);
    if (view === undefined) {
      for (let i = 0; i < addresses.length; i++) out[i] = unknownUserFrames(addresses[i] ?? 0, undefined, this.counts);
      return out;
    }
    const elf = new ElfResolvePass(this.elfContext, view, out, addresses);
    for (let i = 0; i < addresses.length; i++) {
      const addr = addresses[i] ?? 0;
      const ret = typeof isReturnAddress === 'boolean' ? isReturnAddress : (isReturnAddress?.[i] ?? i > 0);
      const lookup = ret && addr > 0 ? addr - 1 : addr;
      const m = view.locate(lookup);
      // JIT code lives in anonymous memory.
      if (m === undefined || !isFileMapping(m.raw)) out[i] = jitUserFrames(view.perfMapName(lookup), addr, m, this.counts);
      else elf.add(i, addr, lookup, m);
    }
    elf.resolveQueued();
    return out;
  }
}
