// A /proc of our own making: <root>/<pid>/maps and status written by the test, so snapshots
// can be taken of processes that do not exist, without privileges.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { ElfCache } from '../src/elf-cache.js';
import { ErrorAccounting } from '../src/error-accounting.js';
import { MappedFiles } from '../src/mapped-files.js';
import { ProcessSnapshots } from '../src/process-snapshots.js';

export interface FakeProc {
  root: string;
  writeMaps(pid: number, lines: string[]): void;
  writeStatus(pid: number, text: string): void;
  remove(): void;
}

export function fakeProc(): FakeProc {
  const root = mkdtempSync(join(tmpdir(), 'kiln-symbolizer-proc-'));
  const dir = (pid: number): string => {
    const d = join(root, String(pid));
    mkdirSync(d, { recursive: true });
    return d;
  };
  return {
    root,
    writeMaps: (pid, lines) => writeFileSync(join(dir(pid), 'maps'), lines.map((l) => `${l}\n`).join('')),
    writeStatus: (pid, text) => writeFileSync(join(dir(pid), 'status'), text),
    remove: () => rmSync(root, { recursive: true, force: true }),
  };
}

/** Snapshots over `procRoot` wired as the Symbolizer wires them. */
export function snapshotsOver(
  procRoot: string,
  refreshMs: number,
): { snapshots: ProcessSnapshots; errors: ErrorAccounting; cache: ElfCache; files: MappedFiles } {
  const errors = new ErrorAccounting(undefined);
  const cache = new ElfCache(48 * 1024 * 1024);
  const files = new MappedFiles(cache, errors);
  return { snapshots: new ProcessSnapshots(procRoot, refreshMs, files, errors), errors, cache, files };
}

/** A /proc/<pid>/maps line. */
export function mapsLine(start: number, end: number, perms: string, offset: number, inode: number, path: string): string {
  const dev = inode === 0 ? '00:00' : '08:01';
  return `${start.toString(16)}-${end.toString(16)} ${perms} ${offset.toString(16).padStart(8, '0')} ${dev} ${inode}${path === '' ? '' : `  ${path}`}`;
}
