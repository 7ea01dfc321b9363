// Per-process snapshots of the address space: what /proc/<pid>/maps said when it was last read,
// with each executable file mapping's ELF already opened, so that samples can be symbolized
// after the process has exited.
import { readFileSync } from 'node:fs';
import { posix } from 'node:path';

import type { ElfEntry } from './elf-cache.js';
import type { ErrorAccounting } from './error-accounting.js';
import type { MappedFiles } from './mapped-files.js';
import type { PerfMap } from './perf-map.js';
import { isFileMapping, parseNsPid, parseProcMaps, type ProcMapping } from './proc-maps.js';
import type { MappingInfo } from './user-frames.js';

export interface SnapshotMapping {
  /** The line of /proc/<pid>/maps it was parsed from: an unchanged line is reused without parsing. */
  line: string;
  raw: ProcMapping;
  /** Handed out with frames; the same object while the line is unchanged (the agent keys its pprof mappings by it). */
  info: MappingInfo;
  /** Key into the ELF cache, for executable file mappings that could be opened. */
  key?: string;
  /** Base name of the path, for "[unknown] name+0x…" frames. */
  name: string;
}

export interface Snapshot {
  pid: number;
  generation: number | undefined;
  /** /proc/<pid> */
  dir: string;
  /** /proc/<pid>/root: the process's view of the file system. */
  root: string;
  /** The pid inside the process's own pid namespace (names its perf map). */
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

const MAX_MISSED = 4096;

/**
 * The mappings of a /proc/<pid>/maps text, sorted by start. A line found unchanged among
 * `previous` is reused as it is (parsed, its ELF opened); of the new lines, executable file
 * mappings get their ELF from `openExecutable`.
 */
export function snapshotMappings(
  text: string,
  previous: readonly SnapshotMapping[],
  openExecutable: (raw: ProcMapping) => ElfEntry | undefined,
): SnapshotMapping[] {
  const old = new Map<string, SnapshotMapping>();
  for (const m of previous) old.set(m.line, m);

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
      const entry = openExecutable(raw);
      if (entry !== undefined) {
        m.key = entry.key;
        m.info.buildId = entry.buildId;
      }
    }
    mappings.push(m);
  }
  mappings.sort((a, b) => a.raw.start - b.raw.start);
  return mappings;
}

/** Remembers an address that a fresh read of the maps did not place in executable memory. */
export function rememberMissed(snap: Snapshot, addr: number): void {
  if (snap.missed.size >= MAX_MISSED) snap.missed.clear();
  snap.missed.add(addr);
}

export class ProcessSnapshots {
  private readonly byPid = new Map<number, Snapshot>();

  /**
   * `refreshMs`: how old a snapshot must be before an address outside every executable mapping
   * re-reads the maps (SymbolizerOptions.mapsRefreshMs).
   */
  constructor(
    private readonly procRoot: string,
    private readonly refreshMs: number,
    private readonly files: MappedFiles,
    private readonly errors: ErrorAccounting,
  ) {}

  get(pid: number): Snapshot | undefined {
    return this.byPid.get(pid);
  }

  /** Takes a snapshot unless there is one for this pid and generation; false if /proc/<pid> is unreadable. */
  capture(pid: number, generation: number | undefined): boolean {
    const existing = this.byPid.get(pid);
    if (existing !== undefined && existing.generation === generation) return true;
    return this.take(pid, generation, undefined) !== undefined;
  }

  /** The snapshot for samples of `generation`, taken now if there is none for it. */
  forGeneration(pid: number, generation: number | undefined): Snapshot | undefined {
    const snap = this.byPid.get(pid);
    if (snap !== undefined && snap.generation === generation) return snap;
    // An earlier generation than the one captured: the process has exec'd since, and the maps of
    // that image are gone. Reading /proc now would describe the new image, and would replace
    // (or, once the process is gone, drop) the snapshot its later samples need.
    if (snap?.generation !== undefined && generation !== undefined && generation < snap.generation) return undefined;
    return this.take(pid, generation, undefined);
  }

  /** Old enough that an address outside every executable mapping may re-read the maps. */
  mayReread(snap: Snapshot): boolean {
    return Date.now() - snap.takenAt >= this.refreshMs;
  }

  /** Reads the maps again, reusing the mappings of unchanged lines; undefined if they cannot be read. */
  reread(snap: Snapshot): Snapshot | undefined {
    return this.take(snap.pid, snap.generation, snap);
  }

  /** See Symbolizer.mappedBuildId. */
  mappedBuildId(pid: number, path: string): string | undefined {
    const snap = this.byPid.get(pid);
    if (snap === undefined) return undefined;
    for (const m of snap.mappings) if (m.key !== undefined && m.raw.path === path) return m.info.buildId;
    return undefined;
  }

  forget(pid: number): void {
    this.byPid.delete(pid);
  }

  clear(): void {
    this.byPid.clear();
  }

  private take(pid: number, generation: number | undefined, previous: Snapshot | undefined): Snapshot | undefined {
    const dir = `${this.procRoot}/${pid}`;
    let text: string;
    try {
      text = readFileSync(`${dir}/maps`, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      this.errors.count(code === 'ENOENT' || code === 'ESRCH' ? 'process-gone' : 'proc-unreadable', err, { pid });
      if (previous === undefined) this.byPid.delete(pid);
      return undefined;
    }
    let nspid = pid;
    try {
      nspid = parseNsPid(readFileSync(`${dir}/status`, 'utf8')) ?? pid;
    } catch {
      // the process may be exiting; its maps were read
    }
    const root = `${dir}/root`;
    const mappings = snapshotMappings(text, previous?.mappings ?? [], (raw) => this.files.open(dir, root, raw));
    const snap: Snapshot = {
      pid,
      generation,
      dir,
      root,
      nspid,
      mappings,
      takenAt: Date.now(),
      missed: new Set(),
      perfMaps: previous?.perfMaps,
    };
    this.byPid.set(pid, snap);
    return snap;
  }
}
