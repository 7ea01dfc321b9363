// Kernel frames from a kallsyms file: names, unknown addresses, and the failures counted.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import { ErrorAccounting } from '../src/error-accounting.js';
import { Kallsyms } from '../src/kallsyms.js';
import { kernelFrames } from '../src/kernel-frames.js';
import type { FrameCounts } from '../src/user-frames.js';

const dir = mkdtempSync(join(tmpdir(), 'kiln-kallsyms-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const counts = (): FrameCounts => ({ cacheHits: 0, cacheMisses: 0, unknownFrames: 0, resolvedFrames: 0 });

test('names and "name [module]" per address; uncovered addresses are unknown', () => {
  const path = join(dir, 'kallsyms');
  writeFileSync(
    path,
    'ffffffff81000000 T _stext\nffffffff81000100 T do_thing\nffffffff81000200 T _etext\nffffffffc0000000 t mod_fn\t[kiln_mod]\nffffffffc0000100 t mod_end\t[kiln_mod]\n',
  );
  const errors = new ErrorAccounting(undefined);
  const c = counts();
  const got = kernelFrames(new Kallsyms(path), [0xffffffff81000104n, 0xffffffffc0000010n, 0x10n], errors, c);
  assert.deepEqual(got, [
    { name: 'do_thing', inlined: false },
    { name: 'mod_fn [kiln_mod]', inlined: false },
    { name: '[unknown] 0x10', inlined: false },
  ]);
  assert.ok(got.every((f) => Object.isFrozen(f)));
  assert.deepEqual(c, { cacheHits: 0, cacheMisses: 0, unknownFrames: 1, resolvedFrames: 2 });
  assert.equal(errors.total, 0);
});

test('an unreadable kallsyms is counted once per batch, every frame unknown', () => {
  const errors = new ErrorAccounting(undefined);
  const c = counts();
  const got = kernelFrames(new Kallsyms(join(dir, 'missing')), [0xffffffff81000104n, 0xffffffff81000108n], errors, c);
  assert.deepEqual(
    got.map((f) => f.name),
    ['[unknown] 0xffffffff81000104', '[unknown] 0xffffffff81000108'],
  );
  assert.deepEqual(errors.byKind, { kallsyms: 1 });
  assert.equal(c.unknownFrames, 2);
});

test('hidden addresses (kptr_restrict) are counted when the file is loaded', () => {
  const path = join(dir, 'restricted');
  writeFileSync(path, '0000000000000000 T _stext\n0000000000000000 T do_thing\n');
  const errors = new ErrorAccounting(undefined);
  const kallsyms = new Kallsyms(path);
  kernelFrames(kallsyms, [0xffffffff81000104n, 0xffffffff81000108n], errors, counts());
  kernelFrames(kallsyms, [0xffffffff81000104n], errors, counts());
  assert.deepEqual(errors.byKind, { 'kallsyms-restricted': 1 });
});
