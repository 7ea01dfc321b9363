// Raw stack addresses → frames. User space through per-process snapshots of the address
// space and a build-id keyed cache of ELF/DWARF state (elfutils underneath); JIT code
// through perf maps; the kernel through /proc/kallsyms. Nothing here throws out of the
// public methods: problems are counted by kind and the frames become "[unknown] ...".
import { readFileSync, statSync, type Stats } from 'node:fs';
import { posix } from 'node:path';

import type { Logger } from 'pino';

import { attachDebugFile } from './debuginfo.js';
import { ElfCache, FrameCache, fileOffsetToVaddr, type ElfEntry, type Frame } from './elf-cache.js';
import { Kallsyms } from './kallsyms.js';
import { errorCode, native, type NativeAddon, type NativeElfFile, type NativeResolveResult } from './native.js';
import { PerfMap } from './perf-map.js';
import { isFileMapping, mapFilesName, parseNsPid, parseProcMaps, type ProcMapping } from './proc-maps.js';

export interface MappingInfo {
  start: number;
  end: number;
  offset: number;
  path: string;
  /** hex, '' if none (or not known: anonymous memory, unreadable file) */
  buildId: string;
}

export interface UserFrames {
  mapping?: MappingInfo;
  /** Innermost first; the last one is the function the address is in; inlined frames before it have inlined: true. */
  frames: Frame[];
}

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

/**
 * What `errorsByKind` counts:
 * - `process-gone`: the process exited before its /proc/<pid>/maps was read (it lived shorter than
 *   the agent's first look at it): routine under process churn, so logged at debug level only.
 * - `proc-unreadable`: /proc/<pid>/maps exists but could not be read (permission, …).
 * - `file-unreadable`: a mapped file could be opened neither through map_files nor through the process's root.
 * - `file-replaced`: the path now names another file than the one mapped (deleted, replaced, another mount namespace's view).
 * - `file-changed`: the file was modified in place after it was opened (size or mtime changed).
 * - `elf-invalid`: not an ELF file or a bad ELF header.
 * - `elf-truncated`: segments or section headers point past the end of the file.
 * - `elf-unusable`: libdwfl could not set the file up (no loadable segment, read errors).
 * - `dwarf`: DWARF present but unreadable (symbols are still used).
 * - `evicted`: the cached state was evicted and the process is gone, so it cannot be reopened.
 * - `kallsyms`, `kallsyms-restricted`: /proc/kallsyms unreadable, or its addresses hidden (kptr_restrict).
 * - `internal`: an unexpected exception (a bug); the whole batch became unknown.
 */
export type SymbolizerErrorKind =
  | 'process-gone'
  | 'proc-unreadable'
  | 'file-unreadable'
  | 'file-replaced'
  | 'file-changed'
  | 'elf-invalid'
  | 'elf-truncated'
  | 'elf-unusable'
  | 'dwarf'
  | 'evicted'
  | 'kallsyms'
  | 'kallsyms-restricted'
  | 'internal';

interface SnapshotMapping {
  /** The line of /proc/<pid>/maps it was parsed from: an unchanged line is reused without parsing. */
  line: string;
  raw: ProcMapping;
  info: MappingInfo;
  /** Key into the ELF cache, for executable file mappings that could be opened. */
  key?: string;
  name: string;
}

interface Snapshot {
  pid: number;
  generation: number | undefined;
  root: string;
  nspid: number;
  /** Sorted by start. */
  mappings: SnapshotMapping[];
  takenAt: number;
  /**
   * Lookup addresses that were outside every executable mapping right after a read of the maps
   * (bad frame-pointer unwinds mostly): they do not trigger another read. Bounded by MAX_MISSED.
   */
  missed: Set<number>;
  perfMaps?: PerfMap[];
}

interface Pending {
  entry: ElfEntry;
  slots: number[];
  vaddrs: number[];
  mappings: SnapshotMapping[];
}

const DEFAULT_MAX_CACHE_BYTES = 48 * 1024 * 1024;
/** What an open file costs beyond what its setup measured: descriptors, libelf's handle, the JS side. */
const ENTRY_BYTES = 16 * 1024;
/** Default of SymbolizerOptions.mapsRefreshMs. */
const DEFAULT_MAPS_REFRESH_MS = 1000;
const MAX_FILE_IDS = 65_536;
const MAX_MISSED = 4096;

function statKey(st: Stats): string {
  return `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}`;
}

function unknownFrame(name: string): Frame {
  return Object.freeze({ name, inlined: false });
}

export class Symbolizer {
  private readonly procRoot: string;
  private readonly mapsRefreshMs: number;
  private readonly log: Logger | undefined;
  private readonly cache: ElfCache;
  private readonly frameCache = new FrameCache();
  private readonly snapshots = new Map<number, Snapshot>();
  /** stat identity (dev:ino:size:mtime) of a mapped file → its cache key, to skip reopening. */
  private readonly fileIds = new Map<string, string>();
  /** stat identities that failed to open, so each broken file is counted once. */
  private readonly failedFileIds = new Map<string, SymbolizerErrorKind>();
  private readonly kallsyms: Kallsyms;
  private addonInstance: NativeAddon | undefined;
  private readonly counters: Omit<SymbolizerStats, 'elfFiles' | 'elfBytes'> = {
    cacheHits: 0,
    cacheMisses: 0,
    unknownFrames: 0,
    resolvedFrames: 0,
    errors: 0,
    errorsByKind: {},
  };

  constructor(opts: SymbolizerOptions = {}) {
    this.procRoot = opts.procRoot ?? '/proc';
    this.mapsRefreshMs = opts.mapsRefreshMs ?? DEFAULT_MAPS_REFRESH_MS;
    this.log = opts.logger;
    this.cache = new ElfCache(opts.maxCacheBytes ?? DEFAULT_MAX_CACHE_BYTES);
    this.kallsyms = new Kallsyms(`${this.procRoot}/kallsyms`);
  }

  /**
   * Captures what is needed to symbolize `pid` later even if it exits: its maps, and every
   * executable file mapping's ELF opened through /proc/<pid>/map_files (falling back to
   * /proc/<pid>/root/<path>). Cheap if already captured for this pid and generation.
   * Returns false if /proc/<pid> is unreadable (counted as an error).
   */
  snapshotProcess(pid: number, generation?: number): boolean {
    try {
      const existing = this.snapshots.get(pid);
      if (existing !== undefined && existing.generation === generation) return true;
      return this.takeSnapshot(pid, generation, undefined) !== undefined;
    } catch (err) {
      this.error('internal', err);
      return false;
    }
  }

  /**
   * The build-id of the executable file mapping of `path` in `pid`'s current snapshot (the
   * snapshot's ELF state already has it); undefined when there is no snapshot, no such mapping,
   * or its file could not be opened. Never reads /proc.
   */
  mappedBuildId(pid: number, path: string): string | undefined {
    const snap = this.snapshots.get(pid);
    if (snap === undefined) return undefined;
    for (const m of snap.mappings) if (m.key !== undefined && m.raw.path === path) return m.info.buildId;
    return undefined;
  }

  /** Drops a process's snapshot. Cached ELF state stays (it is shared by build-id). */
  forgetProcess(pid: number): void {
    this.snapshots.delete(pid);
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
      this.error('internal', err);
      this.counters.unknownFrames += addresses.length;
      return addresses.map((a) => ({ frames: [unknownFrame(`[unknown] 0x${a.toString(16)}`)] }));
    } finally {
      this.cache.releaseHolds();
    }
  }

  /** Kernel addresses → one frame each from /proc/kallsyms ("name" or "name [module]"). */
  symbolizeKernel(addresses: bigint[]): Frame[] {
    const out: Frame[] = [];
    let failed = false;
    for (const addr of addresses) {
      let name: string | undefined;
      if (!failed) {
        try {
          const loads = this.kallsyms.loads;
          name = this.kallsyms.lookup(addr);
          if (this.kallsyms.loads !== loads && this.kallsyms.restricted) this.error('kallsyms-restricted', undefined);
        } catch (err) {
          failed = true;
          this.error('kallsyms', err);
        }
      }
      if (name === undefined) {
        this.counters.unknownFrames++;
        out.push(unknownFrame(`[unknown] 0x${addr.toString(16)}`));
      } else {
        this.counters.resolvedFrames++;
        out.push(Object.freeze({ name, inlined: false }));
      }
    }
    return out;
  }

  stats(): SymbolizerStats {
    return { ...this.counters, errorsByKind: { ...this.counters.errorsByKind }, elfFiles: this.cache.size, elfBytes: this.cache.bytes };
  }

  /** Releases every native handle. The symbolizer stays usable (it reopens what it needs). */
  close(): void {
    this.snapshots.clear();
    this.fileIds.clear();
    this.cache.clear();
  }

  private addon(): NativeAddon {
    this.addonInstance ??= native();
    return this.addonInstance;
  }

  private error(kind: SymbolizerErrorKind, err: unknown, detail?: Record<string, unknown>): void {
    this.counters.errors++;
    const first = this.counters.errorsByKind[kind] === undefined;
    this.counters.errorsByKind[kind] = (this.counters.errorsByKind[kind] ?? 0) + 1;
    if (this.log !== undefined) {
      const msg = `symbolizer: ${kind}`;
      const fields = { kind, err, ...detail };
      if (first && kind !== 'process-gone') this.log.warn(fields, msg);
      else this.log.debug(fields, msg);
    }
  }

  // --- snapshots -----------------------------------------------------------

  private takeSnapshot(pid: number, generation: number | undefined, previous: Snapshot | undefined): Snapshot | undefined {
    const dir = `${this.procRoot}/${pid}`;
    let text: string;
    try {
      text = readFileSync(`${dir}/maps`, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      this.error(code === 'ENOENT' || code === 'ESRCH' ? 'process-gone' : 'proc-unreadable', err, { pid });
      if (previous === undefined) this.snapshots.delete(pid);
      return undefined;
    }
    let nspid = pid;
    try {
      nspid = parseNsPid(readFileSync(`${dir}/status`, 'utf8')) ?? pid;
    } catch {
      // the process may be exiting; its maps were read
    }
    const root = `${dir}/root`;
    const old = new Map<string, SnapshotMapping>();
    for (const m of previous?.mappings ?? []) old.set(m.line, m);

    const mappings: SnapshotMapping[] = [];
    for (const line of text.split('\n')) {
      const reused = old.get(line);
      if (reused !== undefined) {
        mappings.push(reused);
        continue;
      }
      const raw = parseProcMaps(line)[0];
      if (raw === undefined) continue;
      const m: SnapshotMapping = {
        line,
        raw,
        info: { start: raw.start, end: raw.end, offset: raw.offset, path: raw.path, buildId: '' },
        name: posix.basename(raw.path) || raw.path,
      };
      if (isFileMapping(raw) && raw.perms.includes('x')) {
        const entry = this.openMapping(dir, root, raw);
        if (entry !== undefined) {
          m.key = entry.key;
          m.info.buildId = entry.buildId;
        }
      }
      mappings.push(m);
    }
    mappings.sort((a, b) => a.raw.start - b.raw.start);
    const snap: Snapshot = { pid, generation, root, nspid, mappings, takenAt: Date.now(), missed: new Set(), perfMaps: previous?.perfMaps };
    this.snapshots.set(pid, snap);
    return snap;
  }

  private snapshotFor(pid: number, generation: number | undefined): Snapshot | undefined {
    const snap = this.snapshots.get(pid);
    if (snap !== undefined && snap.generation === generation) return snap;
    // An earlier generation than the one captured: the process has exec'd since, and the maps of
    // that image are gone. Reading /proc now would describe the new image, and would replace
    // (or, once the process is gone, drop) the snapshot its later samples need.
    if (snap?.generation !== undefined && generation !== undefined && generation < snap.generation) return undefined;
    return this.takeSnapshot(pid, generation, undefined);
  }

  /** Opens (or finds in the cache) the ELF behind an executable file mapping. */
  private openMapping(dir: string, root: string, m: ProcMapping): ElfEntry | undefined {
    // map_files names the mapped inode itself, even if the path was replaced or deleted since.
    let openPath = `${dir}/map_files/${mapFilesName(m)}`;
    let st: Stats;
    try {
      st = statSync(openPath);
    } catch {
      if (m.deleted) {
        this.failOnce(`deleted:${dir}:${m.path}:${m.inode}`, 'file-replaced', undefined, { path: m.path });
        return undefined;
      }
      openPath = `${root}${m.path}`;
      try {
        st = statSync(openPath);
      } catch (err) {
        this.failOnce(`missing:${dir}:${m.path}:${m.inode}`, 'file-unreadable', err, { path: openPath });
        return undefined;
      }
      // Overlay filesystems show another st_dev than maps does; the inode number still matches.
      if (st.ino !== m.inode) {
        this.failOnce(`replaced:${dir}:${m.path}:${m.inode}`, 'file-replaced', undefined, { path: openPath });
        return undefined;
      }
    }
    const fileId = statKey(st);
    const known = this.fileIds.get(fileId);
    if (known !== undefined) {
      const entry = this.cache.get(known);
      if (entry !== undefined && !entry.stale) return entry;
    }
    if (this.failedFileIds.has(fileId)) return undefined;
    return this.openElf(openPath, m.path, fileId, [root, '']);
  }

  private openElf(openPath: string, pathInNs: string, fileId: string, roots: string[]): ElfEntry | undefined {
    const addon = this.addon();
    let file: NativeElfFile;
    try {
      file = new addon.ElfFile(openPath);
    } catch (err) {
      const code = errorCode(err);
      const kind: SymbolizerErrorKind = code === 'ENOTELF' || code === 'EBADELF' ? 'elf-invalid' : 'file-unreadable';
      this.failOnce(fileId, kind, err, { path: openPath });
      return undefined;
    }
    const info = file.info();
    if (info.truncated) this.error('elf-truncated', undefined, { path: openPath });
    const key = info.buildId !== '' ? info.buildId : `path:${pathInNs}:${info.size}:${info.mtimeMs}:${info.ino}`;
    this.rememberFileId(fileId, key);
    const cached = this.cache.get(key);
    if (cached !== undefined && !cached.stale) {
      file.close();
      return cached;
    }
    const debugPath = info.hasDwarf ? undefined : attachDebugFile(addon, file, info, pathInNs, roots);
    file.setAltRoots(roots);
    const entry: ElfEntry = {
      key,
      buildId: info.buildId,
      path: pathInNs,
      file,
      loads: info.loads,
      bytes: ENTRY_BYTES,
      debugPath,
      stale: false,
      problemCounted: false,
    };
    this.cache.add(entry);
    return entry;
  }

  private rememberFileId(fileId: string, key: string): void {
    if (this.fileIds.size >= MAX_FILE_IDS) this.fileIds.clear();
    this.fileIds.set(fileId, key);
  }

  private failOnce(id: string, kind: SymbolizerErrorKind, err: unknown, detail: Record<string, unknown>): void {
    if (this.failedFileIds.has(id)) return;
    if (this.failedFileIds.size >= MAX_FILE_IDS) this.failedFileIds.clear();
    this.failedFileIds.set(id, kind);
    this.error(kind, err, detail);
  }

  // --- user space ----------------------------------------------------------

  private symbolizeUserUnchecked(
    pid: number,
    addresses: number[],
    generation: number | undefined,
    isReturnAddress: boolean | boolean[] | undefined,
  ): UserFrames[] {
    const out: UserFrames[] = new Array<UserFrames>(addresses.length);
    const before = this.snapshots.get(pid);
    let snap = this.snapshotFor(pid, generation);
    // Read in this call, i.e. after every sample of the batch was taken.
    let refreshed = snap !== undefined && snap !== before;
    let perfMapsRead = false;
    const pending = new Map<ElfEntry, Pending>();
    // Each mapping's cache entry, looked up (and held) once per call rather than per address.
    const entries = new Map<SnapshotMapping, ElfEntry | undefined>();

    for (let i = 0; i < addresses.length; i++) {
      const addr = addresses[i] ?? 0;
      const ret = typeof isReturnAddress === 'boolean' ? isReturnAddress : (isReturnAddress?.[i] ?? i > 0);
      const lookup = ret && addr > 0 ? addr - 1 : addr;
      if (snap === undefined) {
        out[i] = this.unknown(addr, undefined);
        continue;
      }
      let m = findMapping(snap.mappings, lookup);
      if (m === undefined || !m.raw.perms.includes('x')) {
        if (!refreshed && !snap.missed.has(lookup) && Date.now() - snap.takenAt >= this.mapsRefreshMs) {
          refreshed = true;
          snap = this.takeSnapshot(pid, generation, snap) ?? snap;
          m = findMapping(snap.mappings, lookup);
        }
        if (refreshed && (m === undefined || !m.raw.perms.includes('x'))) {
          if (snap.missed.size >= MAX_MISSED) snap.missed.clear();
          snap.missed.add(lookup);
        }
      }
      if (m === undefined || !isFileMapping(m.raw)) {
        // JIT code lives in anonymous memory.
        if (!perfMapsRead) {
          perfMapsRead = true;
          this.refreshPerfMaps(snap);
        }
        const name = lookupPerfMaps(snap, lookup);
        if (name !== undefined) {
          this.counters.resolvedFrames++;
          out[i] = { mapping: m?.info, frames: [Object.freeze({ name, inlined: false })] };
        } else {
          out[i] = this.unknown(addr, m);
        }
        continue;
      }
      let entry = entries.get(m);
      if (entry === undefined && !entries.has(m)) {
        entry = m.key !== undefined ? this.cache.get(m.key) : undefined;
        if (m.key !== undefined && (entry === undefined || entry.stale)) {
          // Evicted (or replaced after a change): reopen while the process is still there.
          entry = this.openMapping(`${this.procRoot}/${pid}`, snap.root, m.raw);
          if (entry === undefined) {
            this.error('evicted', undefined, { pid, path: m.raw.path });
            m.key = undefined;
          } else {
            m.key = entry.key;
          }
        }
        if (entry !== undefined) this.cache.hold(entry.key);
        entries.set(m, entry);
      }
      if (entry === undefined) {
        out[i] = this.unknown(addr, m);
        continue;
      }
      const vaddr = fileOffsetToVaddr(entry.loads, lookup - m.raw.start + m.raw.offset);
      if (vaddr === undefined) {
        out[i] = this.unknown(addr, m);
        continue;
      }
      const cached = this.frameCache.get(entry.key, vaddr);
      if (cached !== undefined) {
        this.counters.cacheHits++;
        out[i] = this.fromFrames(cached, addr, m);
        continue;
      }
      this.counters.cacheMisses++;
      let p = pending.get(entry);
      if (p === undefined) {
        p = { entry, slots: [], vaddrs: [], mappings: [] };
        pending.set(entry, p);
      }
      p.slots.push(i);
      p.vaddrs.push(vaddr);
      p.mappings.push(m);
    }

    for (const p of pending.values()) this.resolvePending(p, out, addresses);
    return out;
  }

  private resolvePending(p: Pending, out: UserFrames[], addresses: number[]): void {
    const { entry } = p;
    const fail = (): void => {
      for (let k = 0; k < p.slots.length; k++) {
        const slot = p.slots[k] ?? 0;
        out[slot] = this.unknown(addresses[slot] ?? 0, p.mappings[k]);
      }
    };
    if (entry.stale || entry.file.changed()) {
      if (!entry.stale) this.error('file-changed', undefined, { path: entry.path });
      entry.stale = true;
      this.cache.delete(entry.key);
      fail();
      return;
    }
    let res: NativeResolveResult;
    try {
      res = entry.file.resolve(Float64Array.from(p.vaddrs));
    } catch (err) {
      this.error('internal', err, { path: entry.path });
      fail();
      return;
    }
    if (!entry.problemCounted && (res.error !== undefined || res.warning !== undefined)) {
      entry.problemCounted = true;
      this.error(res.error !== undefined ? 'elf-unusable' : 'dwarf', res.error ?? res.warning, { path: entry.path });
    }
    this.cache.resize(entry, ENTRY_BYTES + res.heldBytes);
    const perAddress = splitFrames(res);
    for (let k = 0; k < p.slots.length; k++) {
      const slot = p.slots[k] ?? 0;
      const frames = perAddress[k] ?? [];
      // A file that could not be set up is not remembered as "nothing there".
      if (res.error === undefined) this.frameCache.set(entry.key, p.vaddrs[k] ?? 0, frames);
      out[slot] = this.fromFrames(frames, addresses[slot] ?? 0, p.mappings[k]);
    }
  }

  private fromFrames(frames: readonly Frame[], addr: number, m: SnapshotMapping | undefined): UserFrames {
    if (frames.length === 0) return this.unknown(addr, m);
    this.counters.resolvedFrames++;
    return { mapping: m?.info, frames: frames.slice() };
  }

  private unknown(addr: number, m: SnapshotMapping | undefined): UserFrames {
    this.counters.unknownFrames++;
    if (m === undefined || m.raw.path === '') return { mapping: m?.info, frames: [unknownFrame(`[unknown] 0x${addr.toString(16)}`)] };
    const offset = addr - m.raw.start + m.raw.offset;
    return { mapping: m.info, frames: [unknownFrame(`[unknown] ${m.name}+0x${offset.toString(16)}`)] };
  }

  private refreshPerfMaps(snap: Snapshot): void {
    if (snap.perfMaps === undefined) {
      const paths = new Set([`${snap.root}/tmp/perf-${snap.pid}.map`, `${snap.root}/tmp/perf-${snap.nspid}.map`]);
      snap.perfMaps = [...paths].map((p) => new PerfMap(p));
    }
    for (const pm of snap.perfMaps) pm.refresh();
  }
}

function lookupPerfMaps(snap: Snapshot, addr: number): string | undefined {
  for (const pm of snap.perfMaps ?? []) {
    const name = pm.lookup(addr);
    if (name !== undefined) return name;
  }
  return undefined;
}

function findMapping(mappings: SnapshotMapping[], addr: number): SnapshotMapping | undefined {
  let lo = 0;
  let hi = mappings.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const m = mappings[mid];
    if (m === undefined) break;
    if (addr < m.raw.start) hi = mid - 1;
    else if (addr >= m.raw.end) lo = mid + 1;
    else return m;
  }
  return undefined;
}

/** Native struct-of-arrays result → frozen frames per address. */
function splitFrames(res: NativeResolveResult): Frame[][] {
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
