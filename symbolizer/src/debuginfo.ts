// Where a separate debug file for an ELF may be, and whether a candidate matches it.
// Looked up under the process's root first, then the host's ('').
import { statSync } from 'node:fs';
import { posix } from 'node:path';

import type { NativeAddon, NativeElfFile, NativeElfInfo } from './native.js';

/**
 * Candidate paths, in the order gdb and libdwfl try them: the build-id tree, then the
 * `.gnu_debuglink` name next to the file, in `.debug/` next to it, and under /usr/lib/debug.
 */
export function debugCandidates(info: Pick<NativeElfInfo, 'buildId' | 'debuglink'>, pathInNs: string, roots: string[]): string[] {
  const out: string[] = [];
  const id = info.buildId;
  if (id.length > 2) {
    for (const r of roots) out.push(`${r}/usr/lib/debug/.build-id/${id.slice(0, 2)}/${id.slice(2)}.debug`);
  }
  const link = info.debuglink;
  if (link !== '' && !link.includes('/')) {
    const dir = posix.dirname(pathInNs);
    for (const r of roots) {
      out.push(`${r}${dir}/${link}`, `${r}${dir}/.debug/${link}`, `${r}/usr/lib/debug${dir}/${link}`);
    }
  }
  return [...new Set(out)];
}

/**
 * Finds the debug file of `file` (whose own info is `info`, mapped as `pathInNs`) and attaches
 * it: same build-id, or, without a build-id, the CRC recorded by `.gnu_debuglink`. Only
 * called when the file has no DWARF of its own. Its path, or undefined; never throws.
 */
export function attachDebugFile(
  addon: NativeAddon,
  file: NativeElfFile,
  info: NativeElfInfo,
  pathInNs: string,
  roots: string[],
): string | undefined {
  for (const candidate of debugCandidates(info, pathInNs, roots)) {
    try {
      const st = statSync(candidate);
      if (!st.isFile() || (st.ino === info.ino && st.dev === info.dev)) continue;
    } catch {
      continue;
    }
    let debug: NativeElfFile | undefined;
    try {
      debug = new addon.ElfFile(candidate);
      const di = debug.info();
      if (!di.hasDwarf && !di.hasSymtab) continue;
      const matches = info.buildId !== '' ? di.buildId === info.buildId : info.debuglink !== '' && debug.crc32() === info.debuglinkCrc;
      if (!matches) continue;
      file.attachDebug(debug);
      return candidate;
    } catch {
      continue;
    } finally {
      debug?.close();
    }
  }
  return undefined;
}
