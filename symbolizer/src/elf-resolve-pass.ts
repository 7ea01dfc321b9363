// The ELF part of one symbolizeUser batch: addresses in file mappings become ELF virtual
// addresses; those the frame cache knows are answered at once, the rest are queued per file and
// resolved with one native call per file.
import { ENTRY_BYTES, fileOffsetToVaddr, type ElfCache, type ElfEntry, type Frame, type FrameCache } from './elf-cache.js';
import type { ErrorAccounting } from './error-accounting.js';
import type { MappedFiles } from './mapped-files.js';
import type { NativeResolveResult } from './native.js';
import type { ProcessView } from './process-view.js';
import type { SnapshotMapping } from './process-snapshots.js';
import { elfUserFrames, unknownUserFrames, type FrameCounts, type UserFrames } from './user-frames.js';

/** What every pass shares: the symbolizer's caches and counters. */
export interface ElfResolveContext {
  cache: ElfCache;
  frameCache: FrameCache;
  files: MappedFiles;
  errors: ErrorAccounting;
  counts: FrameCounts;
}

/** The addresses of one batch queued for one ELF file, in parallel arrays. */
interface Queued {
  entry: ElfEntry;
  slots: number[];
  vaddrs: number[];
  mappings: SnapshotMapping[];
}

export class ElfResolvePass {
  // The context's parts as own fields: one property load fewer per use on the per-address path.
  private readonly cache: ElfCache;
  private readonly frameCache: FrameCache;
  private readonly files: MappedFiles;
  private readonly errors: ErrorAccounting;
  private readonly counts: FrameCounts;
  private readonly queued = new Map<ElfEntry, Queued>();
  /** Each mapping's cache entry, looked up (and held) once per batch rather than per address. */
  private readonly entries = new Map<SnapshotMapping, ElfEntry | undefined>();

  /** Answers go to `out`, by index into `addresses`. */
  constructor(
    ctx: ElfResolveContext,
    private readonly view: ProcessView,
    private readonly out: UserFrames[],
    private readonly addresses: readonly number[],
  ) {
    this.cache = ctx.cache;
    this.frameCache = ctx.frameCache;
    this.files = ctx.files;
    this.errors = ctx.errors;
    this.counts = ctx.counts;
  }

  /**
   * The address `addr` at `slot`, looked up at `lookup` in the file mapping `m`: answered from
   * the frame cache, or queued. (The per-address path makes as few calls and loads as it can: the
   * agent runs without V8's optimizing compilers, which would inline them.)
   */
  add(slot: number, addr: number, lookup: number, m: SnapshotMapping): void {
    let entry = this.entries.get(m);
    if (entry === undefined && !this.entries.has(m)) entry = this.holdEntry(m);
    if (entry === undefined) {
      this.out[slot] = unknownUserFrames(addr, m, this.counts);
      return;
    }
    const vaddr = fileOffsetToVaddr(entry.loads, lookup - m.raw.start + m.raw.offset);
    if (vaddr === undefined) {
      this.out[slot] = unknownUserFrames(addr, m, this.counts);
      return;
    }
    const cached = this.frameCache.get(entry.key, vaddr);
    if (cached !== undefined) {
      this.counts.cacheHits++;
      this.out[slot] = elfUserFrames(cached, addr, m, this.counts);
      return;
    }
    this.counts.cacheMisses++;
    let q = this.queued.get(entry);
    if (q === undefined) {
      q = { entry, slots: [], vaddrs: [], mappings: [] };
      this.queued.set(entry, q);
    }
    q.slots.push(slot);
    q.vaddrs.push(vaddr);
    q.mappings.push(m);
  }

  /** Resolves every queued address, one native call per file, and remembers the frames. */
  resolveQueued(): void {
    for (const q of this.queued.values()) this.resolve(q);
  }

  /** A mapping's cache entry, the first time the batch meets the mapping: held until the batch ends. */
  private holdEntry(m: SnapshotMapping): ElfEntry | undefined {
    const entry = this.files.entryOf(this.view.snapshot, m);
    if (entry !== undefined) this.cache.hold(entry.key);
    this.entries.set(m, entry);
    return entry;
  }

  private resolve(q: Queued): void {
    const { entry } = q;
    if (entry.stale || entry.file.changed()) {
      if (!entry.stale) this.errors.count('file-changed', undefined, { path: entry.path });
      entry.stale = true;
      this.cache.delete(entry.key);
      this.unknownAll(q);
      return;
    }
    let res: NativeResolveResult;
    try {
      res = entry.file.resolve(Float64Array.from(q.vaddrs));
    } catch (err) {
      this.errors.count('internal', err, { path: entry.path });
      this.unknownAll(q);
      return;
    }
    if (!entry.problemCounted && (res.error !== undefined || res.warning !== undefined)) {
      entry.problemCounted = true;
      this.errors.count(res.error !== undefined ? 'elf-unusable' : 'dwarf', res.error ?? res.warning, { path: entry.path });
    }
    this.cache.resize(entry, ENTRY_BYTES + res.heldBytes);
    const perAddress = splitFrames(res);
    for (let k = 0; k < q.slots.length; k++) {
      const slot = q.slots[k] ?? 0;
      const frames = perAddress[k] ?? [];
      // A file that could not be set up is not remembered as "nothing there".
      if (res.error === undefined) this.frameCache.set(entry.key, q.vaddrs[k] ?? 0, frames);
      this.out[slot] = elfUserFrames(frames, this.addresses[slot] ?? 0, q.mappings[k], this.counts);
    }
  }

  private unknownAll(q: Queued): void {
    for (let k = 0; k < q.slots.length; k++) {
      const slot = q.slots[k] ?? 0;
      this.out[slot] = unknownUserFrames(this.addresses[slot] ?? 0, q.mappings[k], this.counts);
    }
  }
}

/** Native struct-of-arrays result → frozen frames per address. */
export function splitFrames(res: NativeResolveResult): Frame[][] {
  const out: Frame[][] = [];
  let f = 0;
  for (let i = 0; i < res.counts.length; i++) {
    const n = res.counts[i] ?? 0;
    const frames: Frame[] = [];
    for (let k = 0; k < n; k++, f++) {
      const frame: Frame = { name: res.strings[res.names[f] ?? 0] ?? '??', inlined: res.inlined[f] === 1 };
      const file = res.files[f] ?? -1;
      if (file >= 0) frame.file = res.strings[file];
      const line = res.lines[f] ?? 0;
      if (line > 0) frame.line = line;
      const startLine = res.startLines[f] ?? 0;
      if (startLine > 0) frame.startLine = startLine;
      frames.push(Object.freeze(frame));
    }
    out.push(frames);
  }
  return out;
}
