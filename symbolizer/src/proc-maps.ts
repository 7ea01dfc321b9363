// /proc/<pid>/maps and /proc/<pid>/status parsing.

export interface ProcMapping {
  start: number;
  end: number;
  /** e.g. "r-xp" */
  perms: string;
  offset: number;
  /** "major:minor" in hex, as the kernel prints it. */
  dev: string;
  inode: number;
  /** The path without a " (deleted)" suffix; '' for anonymous memory; "[vdso]" etc. for special mappings. */
  path: string;
  deleted: boolean;
}

const DELETED = ' (deleted)';

/**
 * Parses /proc/<pid>/maps. Mappings above 2^53 (only [vsyscall] on x86-64) cannot be held
 * exactly in a number and are skipped.
 */
export function parseProcMaps(text: string): ProcMapping[] {
  const out: ProcMapping[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    // start-end perms offset dev inode [path]; the path may contain spaces.
    const m = /^([0-9a-f]+)-([0-9a-f]+) (\S+) ([0-9a-f]+) (\S+) (\d+)\s*(.*)$/.exec(line);
    if (m === null) continue;
    const [, startHex = '', endHex = '', perms = '', offsetHex = '', dev = '', inode = '0', rawPath = ''] = m;
    if (endHex.length > 13) continue;
    const start = parseInt(startHex, 16);
    const end = parseInt(endHex, 16);
    if (!Number.isSafeInteger(end)) continue;
    const deleted = rawPath.endsWith(DELETED);
    out.push({
      start,
      end,
      perms,
      offset: parseInt(offsetHex, 16),
      dev,
      inode: Number(inode),
      path: deleted ? rawPath.slice(0, -DELETED.length) : rawPath,
      deleted,
    });
  }
  return out;
}

/** The innermost pid from the `NSpid:` line of /proc/<pid>/status (the pid inside the process's own pid namespace). */
export function parseNsPid(statusText: string): number | undefined {
  const m = /^NSpid:\s*([\d\s]+)$/m.exec(statusText);
  if (m === null) return undefined;
  const ids = (m[1] ?? '').trim().split(/\s+/).map(Number);
  const last = ids[ids.length - 1];
  return last !== undefined && Number.isInteger(last) && last > 0 ? last : undefined;
}

/** A file-backed mapping: a path that is not a kernel pseudo-mapping like [heap], [vdso] or [anon:name]. */
export function isFileMapping(m: ProcMapping): boolean {
  return m.path.startsWith('/') && m.inode !== 0;
}

/** The `start-end` name of the mapping under /proc/<pid>/map_files/. */
export function mapFilesName(m: ProcMapping): string {
  return `${m.start.toString(16)}-${m.end.toString(16)}`;
}
