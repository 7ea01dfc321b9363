import { constants } from 'node:fs';
import { access, mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { KilnUsageError, describeError } from '../errors.js';

/**
 * Makes sure `dir` exists (creating it and missing parents) and that we can write in it,
 * so chDB never starts on a directory it cannot use. Throws KilnUsageError otherwise.
 */
export async function ensureWritableDataDir(dir: string): Promise<void> {
  try {
    await makeDirs(dir);
  } catch (err) {
    throw new KilnUsageError(`data directory ${dir} cannot be created: ${describeError(err)}`);
  }
  const probe = join(dir, `.kiln-write-probe-${process.pid}`);
  try {
    await access(dir, constants.W_OK);
    // access() trusts mode bits only: root passes it on read-only mounts, so also really write.
    await writeFile(probe, '');
    await rm(probe, { force: true });
  } catch (err) {
    throw new KilnUsageError(`data directory ${dir} is not writable: ${describeError(err)}`);
  }
}

/**
 * `mkdir -p` without `{ recursive: true }`: Node 20's recursive mkdir never returns for paths
 * under /proc (the kernel answers ENOENT for an existing parent and libuv retries forever).
 */
async function makeDirs(dir: string): Promise<void> {
  const missing: string[] = [];
  for (let current = dir; ; current = dirname(current)) {
    const kind = await pathKind(current);
    if (kind === 'directory') break;
    if (kind === 'other') {
      throw new Error(`${current} is not a directory`);
    }
    missing.unshift(current);
    if (dirname(current) === current) break;
  }
  for (const path of missing) {
    try {
      await mkdir(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
}

async function pathKind(path: string): Promise<'directory' | 'other' | 'missing'> {
  try {
    return (await stat(path)).isDirectory() ? 'directory' : 'other';
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // ENOTDIR: some ancestor is a file; the walk up reports which one.
    if (code === 'ENOENT' || code === 'ENOTDIR') return 'missing';
    throw err;
  }
}
