// Cgroup ids (directory inode numbers) → paths, by walking a hierarchy: here a directory tree.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { CgroupPaths } from '../src/signals/cgroup-paths.js';

const ino = (path: string): bigint => statSync(path, { bigint: true }).ino;

test('ids resolve to paths in the hierarchy; an unknown id is looked for again only after the rewalk delay', () => {
  const mount = mkdtempSync(join(tmpdir(), 'kiln-cgroups-'));
  try {
    mkdirSync(join(mount, 'kubepods/pod1'), { recursive: true });
    let now = 0;
    const paths = new CgroupPaths({ hierarchy: { version: 1, mount, root: '/' }, rewalkMs: 5000, now: () => now });
    assert.deepEqual(paths.of(ino(mount)), { path: '/', dir: mount });
    assert.equal(paths.of(ino(join(mount, 'kubepods/pod1')))?.path, '/kubepods/pod1');
    mkdirSync(join(mount, 'late'));
    now = 1000;
    assert.equal(paths.of(ino(join(mount, 'late'))), undefined, 'within the delay: no new walk');
    assert.match(paths.pathOf(ino(join(mount, 'late'))), /^unknown cgroup \d+$/);
    now = 7000;
    assert.deepEqual(paths.of(ino(join(mount, 'late'))), { path: '/late', dir: join(mount, 'late') });
  } finally {
    rmSync(mount, { recursive: true, force: true });
  }
});

test('a mount that shows part of the hierarchy names paths from the hierarchy root; the walk is bounded', () => {
  const mount = mkdtempSync(join(tmpdir(), 'kiln-cgroups-'));
  try {
    mkdirSync(join(mount, 'a/b'), { recursive: true });
    const paths = new CgroupPaths({ hierarchy: { version: 2, mount, root: '/kubepods/pod9' }, maxEntries: 2 });
    assert.equal(paths.of(ino(mount))?.path, '/kubepods/pod9');
    assert.equal(paths.of(ino(join(mount, 'a')))?.path, '/kubepods/pod9/a');
    assert.equal(paths.overflow, 1);
  } finally {
    rmSync(mount, { recursive: true, force: true });
  }
});
