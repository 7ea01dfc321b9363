// The ELF part of a batch: addresses in this test's own node binary, answered from the frame
// cache when known and otherwise queued and resolved together; and how frames are built.
import assert from 'node:assert/strict';
import { realpathSync } from 'node:fs';
import { describe, test } from 'node:test';

import { FrameCache } from '../src/elf-cache.js';
import { ElfResolvePass, splitFrames, type ElfResolveContext } from '../src/elf-resolve-pass.js';
import type { NativeResolveResult } from '../src/native.js';
import { ProcessView } from '../src/process-view.js';
import { snapshotMappings } from '../src/process-snapshots.js';
import { elfUserFrames, jitUserFrames, unknownUserFrames, type FrameCounts, type UserFrames } from '../src/user-frames.js';
import { mapsLine, snapshotsOver } from './helpers.js';

describe('ElfResolvePass', () => {
  test('misses are queued and resolved together; the same addresses in a later batch come from the frame cache', () => {
    const { snapshots, errors, cache, files } = snapshotsOver('/proc', 1000);
    const counts: FrameCounts = { cacheHits: 0, cacheMisses: 0, unknownFrames: 0, resolvedFrames: 0 };
    const ctx: ElfResolveContext = { cache, frameCache: new FrameCache(), files, errors, counts };
    const exe = realpathSync(process.execPath);
    const batch = (addresses: number[]): { out: UserFrames[]; before: (UserFrames | undefined)[] } => {
      const view = ProcessView.forBatch(snapshots, process.pid, undefined);
      assert.ok(view);
      const out = new Array<UserFrames>(addresses.length);
      const pass = new ElfResolvePass(ctx, view, out, addresses);
      for (let i = 0; i < addresses.length; i++) {
        const m = view.locate(addresses[i] ?? 0);
        assert.ok(m);
        pass.add(i, addresses[i] ?? 0, addresses[i] ?? 0, m);
      }
      const before = [...out];
      pass.resolveQueued();
      cache.releaseHolds();
      return { out, before };
    };

    const view = ProcessView.forBatch(snapshots, process.pid, undefined);
    // The largest executable mapping of node: its text, inside one PT_LOAD but for the page tail.
    const text = view?.snapshot.mappings
      .filter((m) => m.raw.path === exe && m.raw.perms.includes('x'))
      .reduce((a, b) => (b.raw.end - b.raw.start > a.raw.end - a.raw.start ? b : a));
    assert.ok(text, 'node maps its executable');
    const size = text.raw.end - text.raw.start;
    const addresses = Array.from({ length: 50 }, (_, i) => text.raw.start + Math.floor((size * (i + 0.5)) / 50));

    const cold = batch(addresses);
    assert.ok(
      cold.before.every((u) => u === undefined),
      'nothing is answered before the queued addresses are resolved',
    );
    assert.equal(counts.cacheMisses, 50);
    assert.equal(counts.resolvedFrames + counts.unknownFrames, 50);
    assert.ok(counts.resolvedFrames > 40, `node's .symtab names most of its text (${counts.resolvedFrames}/50)`);
    assert.ok(cold.out.every((u) => u.mapping === text.info));

    const warm = batch(addresses);
    assert.equal(counts.cacheHits, 50, 'unknown ones too: the cache remembers "nothing there"');
    assert.deepEqual(warm.before, warm.out, 'cache hits are answered as they are added');
    assert.deepEqual(warm.out, cold.out);

    cache.clear();
    const reopened = batch(addresses.slice(0, 5));
    assert.deepEqual(reopened.out, cold.out.slice(0, 5), 'evicted state is reopened while the process lives');
    assert.equal(errors.total, 0);
    cache.clear();
  });
});

describe('frames of an address', () => {
  const [exe, anon] = snapshotMappings(
    [mapsLine(0x401000, 0x402000, 'r-xp', 0x1000, 11, '/usr/bin/app'), mapsLine(0x7f0000000000, 0x7f0000010000, 'rwxp', 0, 0, '')].join(
      '\n',
    ),
    [],
    () => undefined,
  );

  test('unknown: the base name and file offset in a named mapping, the address elsewhere; counted', () => {
    const counts: FrameCounts = { cacheHits: 0, cacheMisses: 0, unknownFrames: 0, resolvedFrames: 0 };
    assert.deepEqual(unknownUserFrames(0x401234, exe, counts), {
      mapping: exe?.info,
      frames: [{ name: '[unknown] app+0x1234', inlined: false }],
    });
    assert.deepEqual(unknownUserFrames(0x7f0000000010, anon, counts), {
      mapping: anon?.info,
      frames: [{ name: '[unknown] 0x7f0000000010', inlined: false }],
    });
    assert.deepEqual(unknownUserFrames(0x10, undefined, counts), {
      mapping: undefined,
      frames: [{ name: '[unknown] 0x10', inlined: false }],
    });
    assert.equal(counts.unknownFrames, 3);
  });

  test('ELF frames are copied out of the cache (the frames themselves shared); none is unknown', () => {
    const counts: FrameCounts = { cacheHits: 0, cacheMisses: 0, unknownFrames: 0, resolvedFrames: 0 };
    const cached = [Object.freeze({ name: 'inner', inlined: true }), Object.freeze({ name: 'outer', inlined: false })];
    const got = elfUserFrames(cached, 0x401234, exe, counts);
    assert.notEqual(got.frames, cached);
    assert.equal(got.frames[0], cached[0]);
    assert.equal(got.mapping, exe?.info);
    assert.equal(elfUserFrames([], 0x401234, exe, counts).frames[0]?.name, '[unknown] app+0x1234');
    assert.deepEqual(counts, { cacheHits: 0, cacheMisses: 0, unknownFrames: 1, resolvedFrames: 1 });
  });

  test('JIT frames: the perf map name, or unknown', () => {
    const counts: FrameCounts = { cacheHits: 0, cacheMisses: 0, unknownFrames: 0, resolvedFrames: 0 };
    assert.deepEqual(jitUserFrames('LazyCompile:*f a.js:1', 0x7f0000000010, anon, counts), {
      mapping: anon?.info,
      frames: [{ name: 'LazyCompile:*f a.js:1', inlined: false }],
    });
    assert.equal(jitUserFrames(undefined, 0x7f0000000010, anon, counts).frames[0]?.name, '[unknown] 0x7f0000000010');
    assert.deepEqual(counts, { cacheHits: 0, cacheMisses: 0, unknownFrames: 1, resolvedFrames: 1 });
  });

  test('splitFrames: the native struct of arrays becomes frozen frames per address, optional fields only when known', () => {
    const res: NativeResolveResult = {
      counts: Uint32Array.from([2, 0, 1]),
      strings: ['inlined_fn', 'a.c', 'outer_fn', 'sym_only'],
      names: Int32Array.from([0, 2, 3]),
      files: Int32Array.from([1, 1, -1]),
      lines: Int32Array.from([12, 40, 0]),
      startLines: Int32Array.from([10, 30, 0]),
      inlined: Uint8Array.from([1, 0, 0]),
      heldBytes: 0,
    };
    const got = splitFrames(res);
    assert.deepEqual(got, [
      [
        { name: 'inlined_fn', inlined: true, file: 'a.c', line: 12, startLine: 10 },
        { name: 'outer_fn', inlined: false, file: 'a.c', line: 40, startLine: 30 },
      ],
      [],
      [{ name: 'sym_only', inlined: false }],
    ]);
    assert.ok(got.flat().every((f) => Object.isFrozen(f)));
  });
});
