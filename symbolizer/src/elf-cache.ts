// ELF/DWARF state keyed by build-id (fallback: path, size, mtime, inode), LRU-bounded by the
// memory it holds; and a bounded cache of resolved frames per (key, vaddr).
import type { NativeElfFile } from './native.js';

export interface Frame {
  name: string;
  file?: string;
  line?: number;
  /** The line where the function is declared (DWARF DW_AT_decl_line); absent when unknown. */
  startLine?: number;
  inlined: boolean;
}

export interface ElfEntry {
  key: string;
  buildId: string;
  /** The path in the process's mount namespace, for names and debuglink lookups. */
  path: string;
  file: NativeElfFile;
  /** PT_LOAD segments of the mapped file: p_offset, p_vaddr, p_filesz, p_memsz, p_flags. */
  loads: Float64Array;
  /** Memory this entry holds (see SymbolizerOptions.maxCacheBytes). */
  bytes: number;
  debugPath?: string;
  /** The file changed on disk after it was opened: its contents are no longer trusted. */
  stale: boolean;
  /** A setup or DWARF problem was already counted for this entry. */
  problemCounted: boolean;
}

/** What an open file costs beyond what its setup measured: descriptors, libelf's handle, the JS side. */
export const ENTRY_BYTES = 16 * 1024;

/** ELF virtual address of a file offset, through the PT_LOAD that contains it. */
export function fileOffsetToVaddr(loads: Float64Array, fileOffset: number): number | undefined {
  for (let i = 0; i + 4 < loads.length; i += 5) {
    const off = loads[i] ?? 0;
    const filesz = loads[i + 2] ?? 0;
    if (fileOffset >= off && fileOffset < off + filesz) return fileOffset - off + (loads[i + 1] ?? 0);
  }
  return undefined;
}

export class ElfCache {
  private readonly entries = new Map<string, ElfEntry>();
  /** Entries in use by the batch being symbolized: not evicted until released. */
  private readonly held = new Set<string>();
  private total = 0;

  constructor(
    private readonly maxBytes: number,
    private readonly maxEntries = 8192,
  ) {}

  get bytes(): number {
    return this.total;
  }

  get size(): number {
    return this.entries.size;
  }

  has(key: string): boolean {
    return this.entries.has(key);
  }

  /** Looks up and marks as most recently used. */
  get(key: string): ElfEntry | undefined {
    const e = this.entries.get(key);
    if (e !== undefined) {
      this.entries.delete(key);
      this.entries.set(key, e);
    }
    return e;
  }

  /** Adds `entry` and evicts least recently used entries (never `entry` itself) beyond the bounds. */
  add(entry: ElfEntry): void {
    this.delete(entry.key);
    this.entries.set(entry.key, entry);
    this.total += entry.bytes;
    this.trim(entry.key);
  }

  /** Keeps `key` from eviction until releaseHolds(), so a batch never sees its handles closed. */
  hold(key: string): void {
    this.held.add(key);
  }

  releaseHolds(): void {
    this.held.clear();
    this.trim(undefined);
  }

  /** Re-accounts an entry whose byte count changed. */
  resize(entry: ElfEntry, bytes: number): void {
    if (this.entries.get(entry.key) !== entry) return;
    this.total += bytes - entry.bytes;
    entry.bytes = bytes;
    this.trim(entry.key);
  }

  delete(key: string): void {
    const e = this.entries.get(key);
    if (e === undefined) return;
    this.entries.delete(key);
    this.total -= e.bytes;
    e.file.close();
  }

  clear(): void {
    for (const key of [...this.entries.keys()]) this.delete(key);
  }

  private trim(keep: string | undefined): void {
    for (const key of this.entries.keys()) {
      if (this.total <= this.maxBytes && this.entries.size <= this.maxEntries) break;
      if (key !== keep && !this.held.has(key)) this.delete(key);
    }
  }
}

/**
 * Resolved frames per (ELF entry key, vaddr); an empty array records "nothing there". Bounded by
 * two generations instead of an LRU list: a hit in the current one costs two Map lookups and no
 * reordering; the older generation is dropped when the current one fills up (hits move forward).
 */
export class FrameCache {
  private current = new Map<string, Map<number, readonly Frame[]>>();
  private previous = new Map<string, Map<number, readonly Frame[]>>();
  private currentSize = 0;
  private previousSize = 0;

  constructor(private readonly maxEntries = 200_000) {}

  get size(): number {
    return this.currentSize + this.previousSize;
  }

  get(key: string, vaddr: number): readonly Frame[] | undefined {
    const v = this.current.get(key)?.get(vaddr);
    if (v !== undefined) return v;
    const old = this.previous.get(key)?.get(vaddr);
    if (old !== undefined) this.set(key, vaddr, old);
    return old;
  }

  set(key: string, vaddr: number, frames: readonly Frame[]): void {
    if (this.currentSize >= this.maxEntries / 2) {
      this.previous = this.current;
      this.previousSize = this.currentSize;
      this.current = new Map();
      this.currentSize = 0;
    }
    let byVaddr = this.current.get(key);
    if (byVaddr === undefined) this.current.set(key, (byVaddr = new Map<number, readonly Frame[]>()));
    if (!byVaddr.has(vaddr)) this.currentSize++;
    byVaddr.set(vaddr, frames);
  }
}
