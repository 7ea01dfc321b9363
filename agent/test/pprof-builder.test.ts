// The agent's profile builder: what it gzips is the profile pprof-format would write, and reads back the same.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { Profile } from 'pprof-format';
import { PprofBuilder } from '../src/pprof-builder.js';

test('PprofBuilder.encode gzips the bytes pprof-format would write, and they decode to the same profile', async () => {
  const b = new PprofBuilder({ frequency: 99 });
  const mapping = { start: 0x400000, end: 0x500000, offset: 0, path: '/usr/bin/app', buildId: 'abcd' };
  const leaf = b.location({
    address: 0x401234,
    mapping,
    frames: [
      { name: 'inlined', file: 'a.c', line: 3, inlined: true },
      { name: 'hot', file: 'a.c', line: 10, startLine: 8, inlined: false },
    ],
  });
  const kernel = b.location({ address: 0xffffffff81001234n, frames: [{ name: '__x64_sys_read', inlined: false }] });
  b.addSample(
    [kernel, leaf],
    [
      ['service', 'app'],
      ['pid', '42'],
    ],
    3,
  );
  b.addSample(
    [leaf],
    [
      ['service', 'app'],
      ['pid', '42'],
    ],
    2,
  );
  b.addSample(
    [leaf],
    [
      ['service', 'app'],
      ['pid', '42'],
    ],
    1,
  );
  const raw = gunzipSync(await b.encode(1_000, 11_000));
  assert.deepEqual(raw, Buffer.from(b.profile(1_000, 11_000).encode()));
  const decoded = Profile.decode(raw);
  assert.equal(decoded.sample.length, 2);
  assert.deepEqual(
    decoded.sample.map((s) => Number(s.value[1])),
    [3, 3],
  );
  assert.equal(BigInt(decoded.location[1]!.address), 0xffffffff81001234n);
});
