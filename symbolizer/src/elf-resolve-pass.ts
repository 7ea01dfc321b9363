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
  private readonly queued = new Map<ElfEntry, Queued>();
  /** Each mapping's cache entry, looked up (and held) once per batch rather than per address. */
  private readonly entries = new Map<SnapshotMapping, ElfEntry | undefined>();

  /** Answers go to `out`, by index into `addresses`. */
  constructor(
    private readonly ctx: ElfResolveContext,
    private readonly view: ProcessView,
    private readonly out: UserFrames[],
    private readonly addresses: readonly number[],
  ) {}

  /** The address at `slot`, looked up at `lookup` in the file mapping `m`: answered from the frame cache, or queued. */
  add(slot: number, lookup: number, m: SnapshotMapping): void {
    const { ctx, out } = this;
    const addr = this.addresses[slot] ?? 0;
    const entry = this.entryOf(m);
    if (entry === undefined) {
      out[slot] = unknownUserFrames(addr, m, ctx.counts);
      return;
    }
    const vaddr = fileOffsetToVaddr(entry.loads, lookup - m.raw.start + m.raw.offset);
    if (vaddr === undefined) {
      out[slot] = unknownUserFrames(addr, m, ctx.counts);
      return;
    }
    const cached = ctx.frameCache.get(entry.key, vaddr);
    if (cached !== undefined) {
      ctx.counts.cacheHits++;
      out[slot] = elfUserFrames(cached, addr, m, ctx.counts);
      return;
    }
    ctx.counts.cacheMisses++;
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

  private entryOf(m: SnapshotMapping): ElfEntry | undefined {
    let entry = this.entries.get(m);
    if (entry !== undefined || this.entries.has(m)) return entry;
    entry = this.ctx.files.entryOf(this.view.snapshot, m);
    if (entry !== undefined) this.ctx.cache.hold(entry.key);
    this.entries.set(m, entry);
    return entry;
  }

  private resolve(q: Queued): void {
    const { ctx, out, addresses } = this;
    const { entry } = q;
    if (entry.stale || entry.file.changed()) {
      if (!entry.stale) ctx.errors.count('file-changed', undefined, { path: entry.path });
      entry.stale = true;
      ctx.cache.delete(entry.key);
      this.unknownAll(q);
      return;
    }
    let res: NativeResolveResult;
    try {
      res = entry.file.resolve(Float64Array.from(q.vaddrs));
    } catch (err) {
      ctx.errors.count('internal', err, { path: entry.path });
      this.unknownAll(q);
      return;
    }
    if (!entry.problemCounted && (res.error !== undefined || res.warning !== undefined)) {
      entry.problemCounted = true;
      ctx.errors.count(res.error !== undefined ? 'elf-unusable' : 'dwarf', res.error ?? res.warning, { path: entry.path });
    }
    ctx.cache.resize(entry, ENTRY_BYTES + res.heldBytes);
    const perAddress = splitFrames(res);
    for (let k = 0; k < q.slots.length; k++) {
      const slot = q.slots[k] ?? 0;
      const frames = perAddress[k] ?? [];
      // A file that could not be set up is not remembered as "nothing there".
      if (res.error === undefined) ctx.frameCache.set(entry.key, q.vaddrs[k] ?? 0, frames);
      out[slot] = elfUserFrames(frames, addresses[slot] ?? 0, q.mappings[k], ctx.counts);
    }
  }

  private unknownAll(q: Queued): void {
    for (let k = 0; k < q.slots.length; k++) {
      const slot = q.slots[k] ?? 0;
      this.out[slot] = unknownUserFrames(this.addresses[slot] ?? 0, q.mappings[k], this.ctx.counts);
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
