// A batch's view of a process: addresses outside executable memory re-read the maps at most once
// per batch and only when the snapshot is old enough; perf maps are read once per batch.
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';

import { ProcessView } from '../src/process-view.js';
import { fakeProc, mapsLine, snapshotsOver } from './helpers.js';

const HEAP = mapsLine(0x1000000, 0x1021000, 'rw-p', 0, 0, '[heap]');
const JIT_A = mapsLine(0x7f0000000000, 0x7f0000010000, 'rwxp', 0, 0, '');
const JIT_B = mapsLine(0x7f0000100000, 0x7f0000110000, 'rwxp', 0, 0, '');
const JIT_C = mapsLine(0x7f0000200000, 0x7f0000210000, 'rwxp', 0, 0, '');

describe('ProcessView.locate', () => {
  const proc = fakeProc();
  after(() => proc.remove());

  test('start is inside, end is outside; gaps and the ends of the address space are outside', () => {
    proc.writeMaps(199, [
      mapsLine(0x400000, 0x401000, 'r--p', 0, 11, '/usr/bin/app'),
      mapsLine(0x401000, 0x402000, 'r-xp', 0x1000, 11, '/usr/bin/app'),
      mapsLine(0x7f1000001000, 0x7f1000002000, 'r-xp', 0x1000, 22, '/usr/lib/libx.so.1'),
    ]);
    proc.writeMaps(198, []);
    const { snapshots } = snapshotsOver(proc.root, 60_000);
    const view = ProcessView.forBatch(snapshots, 199, 1);
    assert.ok(view);
    assert.equal(view.locate(0x400000)?.raw.perms, 'r--p');
    assert.equal(view.locate(0x400fff)?.raw.perms, 'r--p');
    assert.equal(view.locate(0x401000)?.raw.perms, 'r-xp');
    assert.equal(view.locate(0x401fff)?.raw.path, '/usr/bin/app');
    assert.equal(view.locate(0x402000), undefined);
    assert.equal(view.locate(0x3fffff), undefined);
    assert.equal(view.locate(0x7f1000001800)?.raw.path, '/usr/lib/libx.so.1');
    assert.equal(view.locate(0x7f1000002000), undefined);
    assert.equal(ProcessView.forBatch(snapshots, 198, 1)?.locate(0x401000), undefined, 'no mappings at all');
  });

  test('no snapshot and none can be taken: no view', () => {
    const { snapshots } = snapshotsOver(proc.root, 0);
    assert.equal(ProcessView.forBatch(snapshots, 12345, undefined), undefined);
  });

  test('an address outside executable memory re-reads the maps once per batch; one still outside is not retried', () => {
    proc.writeMaps(200, [HEAP, JIT_A]);
    const { snapshots } = snapshotsOver(proc.root, 0);
    assert.equal(snapshots.capture(200, 1), true);
    const taken = snapshots.get(200);

    proc.writeMaps(200, [HEAP, JIT_A, JIT_B]);
    const view = ProcessView.forBatch(snapshots, 200, 1);
    assert.ok(view);
    assert.equal(view.snapshot, taken, 'the captured snapshot serves the batch');
    assert.equal(view.locate(0x7f0000000010)?.raw.start, 0x7f0000000000, 'inside: no read');
    assert.equal(view.snapshot, taken);
    assert.equal(view.locate(0x7f0000100010)?.raw.start, 0x7f0000100000, 'outside: the maps are read again');
    assert.notEqual(view.snapshot, taken);
    assert.equal(snapshots.get(200), view.snapshot);

    const reread = view.snapshot;
    proc.writeMaps(200, [HEAP, JIT_A, JIT_B, JIT_C]);
    assert.equal(view.locate(0x7f0000200010), undefined, 'at most one read per batch');
    assert.equal(view.snapshot, reread);
    assert.equal(view.locate(0x1000010)?.raw.perms, 'rw-p', 'a mapping that is not executable is returned as such');
    assert.deepEqual([...reread.missed], [0x7f0000200010, 0x1000010], 'outside executable memory after a read: remembered');

    const next = ProcessView.forBatch(snapshots, 200, 1);
    assert.ok(next);
    assert.equal(next.locate(0x7f0000200010), undefined, 'a remembered address does not read again in a later batch');
    assert.equal(next.snapshot, reread);
    assert.equal(next.locate(0x7f0000200020)?.raw.start, 0x7f0000200000, 'another one does');
  });

  test('a snapshot taken for this batch, or one younger than the refresh interval, is not read again', () => {
    proc.writeMaps(201, [HEAP]);
    const fresh = snapshotsOver(proc.root, 0);
    const view = ProcessView.forBatch(fresh.snapshots, 201, 1);
    assert.ok(view);
    const taken = view.snapshot;
    proc.writeMaps(201, [HEAP, JIT_A]);
    assert.equal(view.locate(0x7f0000000010), undefined);
    assert.equal(view.snapshot, taken);
    assert.deepEqual([...taken.missed], [0x7f0000000010]);

    const slow = snapshotsOver(proc.root, 60_000);
    proc.writeMaps(201, [HEAP]);
    assert.equal(slow.snapshots.capture(201, 1), true);
    proc.writeMaps(201, [HEAP, JIT_A]);
    const young = ProcessView.forBatch(slow.snapshots, 201, 1);
    assert.ok(young);
    assert.equal(young.locate(0x7f0000000010), undefined);
    assert.equal(young.snapshot.missed.size, 0, 'not read, so not known to be outside');
  });
});

describe('ProcessView.perfMapName', () => {
  const proc = fakeProc();
  after(() => proc.remove());

  test("names come from the perf map under the process's root and its own namespace's pid, read once per batch", () => {
    proc.writeMaps(300, [JIT_A]);
    proc.writeStatus(300, 'NSpid:\t300\t9\n');
    const tmp = join(proc.root, '300', 'root', 'tmp');
    mkdirSync(tmp, { recursive: true });
    writeFileSync(join(tmp, 'perf-9.map'), '7f0000000000 100 LazyCompile:*hot app.js:1\n');
    const { snapshots } = snapshotsOver(proc.root, 1000);

    const view = ProcessView.forBatch(snapshots, 300, 1);
    assert.ok(view);
    assert.equal(view.perfMapName(0x7f0000000010), 'LazyCompile:*hot app.js:1');
    appendFileSync(join(tmp, 'perf-9.map'), '7f0000000100 100 LazyCompile:*warm app.js:9\n');
    assert.equal(view.perfMapName(0x7f0000000110), undefined, 'appended after this batch read the map');

    const next = ProcessView.forBatch(snapshots, 300, 1);
    assert.ok(next);
    assert.equal(next.perfMapName(0x7f0000000110), 'LazyCompile:*warm app.js:9');
    assert.equal(next.perfMapName(0x7f0000001000), undefined);
  });
});
