// Snapshots of /proc/<pid>/maps: parsing with reuse of unchanged lines, and when a snapshot is
// taken, kept, replaced or dropped.
import assert from 'node:assert/strict';
import { realpathSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';

import { native } from '../src/native.js';
import type { ProcMapping } from '../src/proc-maps.js';
import { snapshotMappings } from '../src/process-snapshots.js';
import { fakeProc, mapsLine, snapshotsOver } from './helpers.js';

const EXE = mapsLine(0x401000, 0x402000, 'r-xp', 0x1000, 11, '/usr/bin/app');
const EXE_DATA = mapsLine(0x400000, 0x401000, 'r--p', 0, 11, '/usr/bin/app');
const HEAP = mapsLine(0x1000000, 0x1021000, 'rw-p', 0, 0, '[heap]');
const ANON_EXEC = mapsLine(0x7f0000000000, 0x7f0000010000, 'rwxp', 0, 0, '');
const LIB = mapsLine(0x7f1000001000, 0x7f1000002000, 'r-xp', 0x1000, 22, '/usr/lib/libx.so.1');
const VDSO = mapsLine(0x7fff00000000, 0x7fff00002000, 'r-xp', 0, 0, '[vdso]');

describe('snapshotMappings', () => {
  test('parses every line, sorted by start; skips what is not a mapping; names are base names', () => {
    const opened: string[] = [];
    const ms = snapshotMappings([LIB, EXE, 'not a mapping', HEAP, EXE_DATA, '', ANON_EXEC, VDSO].join('\n'), [], (raw) => {
      opened.push(raw.path);
      return undefined;
    });
    assert.deepEqual(
      ms.map((m) => [m.raw.start, m.name]),
      [
        [0x400000, 'app'],
        [0x401000, 'app'],
        [0x1000000, '[heap]'],
        [0x7f0000000000, ''],
        [0x7f1000001000, 'libx.so.1'],
        [0x7fff00000000, '[vdso]'],
      ],
    );
    assert.deepEqual(opened, ['/usr/lib/libx.so.1', '/usr/bin/app'], 'only executable file mappings are opened, in file order');
    const exe = ms[1];
    assert.deepEqual(exe?.info, { start: 0x401000, end: 0x402000, offset: 0x1000, path: '/usr/bin/app', buildId: '' });
    assert.equal(exe?.key, undefined, 'a file that could not be opened has no cache key');
  });

  test('unchanged lines are reused as they are, without parsing or opening again; changed ones are new', () => {
    const first = snapshotMappings([EXE, LIB, HEAP].join('\n'), [], () => undefined);
    const byLine = new Map(first.map((m) => [m.line, m]));
    const libMoved = mapsLine(0x7f2000001000, 0x7f2000002000, 'r-xp', 0x1000, 22, '/usr/lib/libx.so.1');
    const opened: ProcMapping[] = [];
    const second = snapshotMappings([EXE, libMoved, HEAP].join('\n'), first, (raw) => {
      opened.push(raw);
      return undefined;
    });
    assert.equal(second[0], byLine.get(EXE));
    assert.equal(second[0]?.info, byLine.get(EXE)?.info, 'the same MappingInfo object: the agent keys pprof mappings by it');
    assert.equal(second[1], byLine.get(HEAP));
    assert.notEqual(second[2], byLine.get(LIB));
    assert.deepEqual(
      opened.map((r) => r.start),
      [0x7f2000001000],
      'only the new line is opened',
    );
  });
});

describe('ProcessSnapshots', () => {
  const proc = fakeProc();
  after(() => proc.remove());

  test('a pid without /proc/<pid>: no snapshot, counted as process-gone', () => {
    const { snapshots, errors } = snapshotsOver(proc.root, 1000);
    assert.equal(snapshots.capture(999, undefined), false);
    assert.equal(snapshots.get(999), undefined);
    assert.deepEqual(errors.byKind, { 'process-gone': 1 });
  });

  test('capture is cheap for a captured generation; the pid in its own namespace comes from NSpid', () => {
    proc.writeMaps(100, [HEAP]);
    proc.writeStatus(100, 'Name:\tapp\nNSpid:\t100\t7\n');
    const { snapshots } = snapshotsOver(proc.root, 1000);
    assert.equal(snapshots.capture(100, 1), true);
    const snap = snapshots.get(100);
    assert.equal(snap?.nspid, 7);
    assert.equal(snap?.root, join(proc.root, '100', 'root'));
    proc.writeMaps(100, [HEAP, ANON_EXEC]);
    assert.equal(snapshots.capture(100, 1), true);
    assert.equal(snapshots.get(100), snap, 'not read again');
    assert.equal(snapshots.forGeneration(100, 1), snap);
    assert.equal(snapshots.capture(100, 2), true);
    assert.equal(snapshots.get(100)?.mappings.length, 2, 'a new generation reads the maps again');
  });

  test('samples of an earlier generation than the snapshot get none, and leave it in place', () => {
    proc.writeMaps(101, [HEAP]);
    const { snapshots } = snapshotsOver(proc.root, 1000);
    assert.equal(snapshots.capture(101, 5), true);
    const snap = snapshots.get(101);
    assert.equal(snapshots.forGeneration(101, 4), undefined);
    assert.equal(snapshots.get(101), snap);
    assert.equal(snapshots.forGeneration(101, undefined), snapshots.get(101), 'no generation: read again');
  });

  test('reread reuses unchanged mappings and keeps perf maps; a failed reread keeps the snapshot, a failed first read drops it', () => {
    proc.writeMaps(102, [HEAP, ANON_EXEC]);
    const { snapshots, errors } = snapshotsOver(proc.root, 1000);
    const first = snapshots.forGeneration(102, 1);
    assert.ok(first);
    first.perfMaps = [];
    proc.writeMaps(102, [HEAP, ANON_EXEC, VDSO]);
    const second = snapshots.reread(first);
    assert.ok(second);
    assert.equal(snapshots.get(102), second);
    assert.equal(second.mappings[0], first.mappings[0]);
    assert.equal(second.mappings[1], first.mappings[1]);
    assert.equal(second.mappings.length, 3);
    assert.equal(second.perfMaps, first.perfMaps);

    rmSync(join(proc.root, '102', 'maps'));
    assert.equal(snapshots.reread(second), undefined);
    assert.equal(snapshots.get(102), second, 'kept for the samples it already describes');
    assert.equal(snapshots.forGeneration(102, 2), undefined);
    assert.equal(snapshots.get(102), undefined, 'a process gone before its new generation was read');
    assert.deepEqual(errors.byKind, { 'process-gone': 2 });
  });

  test('an executable file that cannot be opened is counted once per mapping, and the mapping has no build-id', () => {
    proc.writeMaps(103, [EXE, EXE_DATA]);
    const { snapshots, errors } = snapshotsOver(proc.root, 0);
    const snap = snapshots.forGeneration(103, 1);
    assert.ok(snap);
    snapshots.reread(snap);
    snapshots.forGeneration(103, 2);
    assert.deepEqual(errors.byKind, { 'file-unreadable': 1 });
    assert.equal(snapshots.mappedBuildId(103, '/usr/bin/app'), undefined);
  });

  test("mappedBuildId of this process's executable is the build-id of the file", () => {
    const { snapshots, cache } = snapshotsOver('/proc', 1000);
    assert.equal(snapshots.capture(process.pid, undefined), true);
    const exe = realpathSync(process.execPath);
    const file = new (native().ElfFile)(exe);
    const want = file.info().buildId;
    file.close();
    assert.notEqual(want, '', 'node is built with a build-id');
    assert.equal(snapshots.mappedBuildId(process.pid, exe), want);
    assert.equal(snapshots.mappedBuildId(process.pid, '/no/such/file'), undefined);
    cache.clear();
  });
});
