// The ELF behind an executable file mapping of a process: which file it is (its stat identity),
// how to open it from outside the process, and its state in the ELF cache.
import { statSync, type Stats } from 'node:fs';

import { attachDebugFile } from './debuginfo.js';
import { ENTRY_BYTES, type ElfCache, type ElfEntry } from './elf-cache.js';
import type { ErrorAccounting, SymbolizerErrorKind } from './error-accounting.js';
import { errorCode, native, type NativeAddon, type NativeElfFile } from './native.js';
import { mapFilesName, type ProcMapping } from './proc-maps.js';
import type { Snapshot, SnapshotMapping } from './process-snapshots.js';

/** Bound on the remembered stat identities; beyond it they are forgotten and files are opened again. */
const MAX_FILE_IDS = 65_536;

/** A file's identity as stat sees it: the same file unchanged has the same key in every process. */
export function statKey(st: Stats): string {
  return `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}`;
}

export class MappedFiles {
  /** stat identity (dev:ino:size:mtime) of a mapped file → its cache key, to skip reopening. */
  private readonly fileIds = new Map<string, string>();
  private addonInstance: NativeAddon | undefined;

  constructor(
    private readonly cache: ElfCache,
    private readonly errors: ErrorAccounting,
  ) {}

  /**
   * Opens (or finds in the cache) the ELF behind an executable file mapping of the process whose
   * /proc directory is `dir`. Undefined when it cannot be opened (counted once per file).
   */
  open(dir: string, root: string, m: ProcMapping): ElfEntry | undefined {
    // map_files names the mapped inode itself, even if the path was replaced or deleted since.
    let openPath = `${dir}/map_files/${mapFilesName(m)}`;
    let st: Stats;
    try {
      st = statSync(openPath);
    } catch {
      if (m.deleted) {
        this.errors.countOnce(`deleted:${dir}:${m.path}:${m.inode}`, 'file-replaced', undefined, { path: m.path });
        return undefined;
      }
      openPath = `${root}${m.path}`;
      try {
        st = statSync(openPath);
      } catch (err) {
        this.errors.countOnce(`missing:${dir}:${m.path}:${m.inode}`, 'file-unreadable', err, { path: openPath });
        return undefined;
      }
      // Overlay filesystems show another st_dev than maps does; the inode number still matches.
      if (st.ino !== m.inode) {
        this.errors.countOnce(`replaced:${dir}:${m.path}:${m.inode}`, 'file-replaced', undefined, { path: openPath });
        return undefined;
      }
    }
    const fileId = statKey(st);
    const known = this.fileIds.get(fileId);
    if (known !== undefined) {
      const entry = this.cache.get(known);
      if (entry !== undefined && !entry.stale) return entry;
    }
    if (this.errors.hasCounted(fileId)) return undefined;
    return this.openElf(openPath, m.path, fileId, [root, '']);
  }

  /**
   * The cache entry of a snapshot's mapping. State evicted from the cache (or dropped after the
   * file changed) is reopened while the process is still there; otherwise the mapping loses its
   * key and the failure counts as `evicted`.
   */
  entryOf(snap: Snapshot, m: SnapshotMapping): ElfEntry | undefined {
    if (m.key === undefined) return undefined;
    const entry = this.cache.get(m.key);
    if (entry !== undefined && !entry.stale) return entry;
    const reopened = this.open(snap.dir, snap.root, m.raw);
    if (reopened === undefined) {
      this.errors.count('evicted', undefined, { pid: snap.pid, path: m.raw.path });
      m.key = undefined;
    } else {
      m.key = reopened.key;
    }
    return reopened;
  }

  /** Forgets every stat identity (the cache entries they point to are closed by the caller). */
  clear(): void {
    this.fileIds.clear();
  }

  private openElf(openPath: string, pathInNs: string, fileId: string, roots: string[]): ElfEntry | undefined {
    const addon = this.addon();
    let file: NativeElfFile;
    try {
      file = new addon.ElfFile(openPath);
    } catch (err) {
      const code = errorCode(err);
      const kind: SymbolizerErrorKind = code === 'ENOTELF' || code === 'EBADELF' ? 'elf-invalid' : 'file-unreadable';
      this.errors.countOnce(fileId, kind, err, { path: openPath });
      return undefined;
    }
    const info = file.info();
    if (info.truncated) this.errors.count('elf-truncated', undefined, { path: openPath });
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

  private addon(): NativeAddon {
    this.addonInstance ??= native();
    return this.addonInstance;
  }
}
