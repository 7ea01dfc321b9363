// The agent's pprof serializer writes exactly the bytes pprof-format's own encode() writes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { PprofBuilder } from '@kiln/agent/dist/pprof-builder.js';
import { encodeProfile } from '@kiln/api/pprof';
import { Function as PprofFunction, Label, Line, Location, Mapping, Profile, Sample, StringTable, ValueType } from 'pprof-format';

/** A small deterministic generator (xorshift), so a failure can be replayed from its seed. */
function rng(seed: number): () => number {
  let x = seed || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

function randomProfile(seed: number): Profile {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  // Zero (omitted), one-byte, multi-byte, 2^53 - 1, and bigints up to 2^64 - 1 (kernel addresses).
  const numeric = (): number | bigint =>
    pick([() => 0, () => Math.floor(r() * 128), () => Math.floor(r() * 2 ** 31), () => Number.MAX_SAFE_INTEGER, () => 0xffffffff81000000n + BigInt(Math.floor(r() * 1e6)), () => 2n ** 64n - 1n, () => 0n])();
  const signed = (): number | bigint => (r() < 0.2 ? -Math.floor(r() * 1e6) - 1 : numeric());
  // Every nested message has a non-zero first field: pprof-format measures an empty
  // one as 0 bytes, writes 2, and silently drops the profile's last bytes (the agent never writes one).
  const id = (): number | bigint => numeric() || 1;
  const strings = new StringTable();
  const str = () => strings.dedup(pick(['', 'main', 'caf\u00e9', 'x'.repeat(200), `s${Math.floor(r() * 50)}`]));
  const many = <T>(n: number, f: () => T): T[] => Array.from({ length: Math.floor(r() * n) }, f);
  return new Profile({
    sampleType: many(3, () => new ValueType({ type: id(), unit: str() })),
    sample: many(30, () => new Sample({ locationId: many(20, numeric), value: [id(), ...many(3, signed)], label: many(4, () => new Label({ key: id(), str: str(), num: signed(), numUnit: str() })) })),
    mapping: many(5, () => new Mapping({ id: id(), memoryStart: numeric(), memoryLimit: numeric(), fileOffset: numeric(), filename: str(), buildId: str(), hasFunctions: r() < 0.5, hasFilenames: r() < 0.5, hasLineNumbers: r() < 0.5, hasInlineFrames: r() < 0.5 })),
    location: many(30, () => new Location({ id: id(), mappingId: numeric(), address: numeric(), line: many(4, () => new Line({ functionId: id(), line: signed(), column: numeric() })), isFolded: r() < 0.2 })),
    function: many(20, () => new PprofFunction({ id: id(), name: str(), systemName: str(), filename: str(), startLine: signed() })),
    stringTable: strings,
    dropFrames: str(),
    keepFrames: str(),
    timeNanos: pick([0, 1_700_000_000_000_000_000n]),
    durationNanos: signed(),
    periodType: r() < 0.8 ? new ValueType({ type: id(), unit: str() }) : undefined,
    period: signed(),
    comment: many(3, str),
    defaultSampleType: str(),
    docUrl: str(),
  });
}

test('encodeProfile writes the same bytes as pprof-format for 500 random profiles (bigints, negatives, zeros, empty fields)', () => {
  for (let seed = 1; seed <= 500; seed++) {
    const p = randomProfile(seed);
    assert.deepEqual(Buffer.from(encodeProfile(p)), Buffer.from(p.encode()), `seed ${seed}`);
  }
});

test('PprofBuilder.encode gzips the bytes pprof-format would write, and they decode to the same profile', async () => {
  const b = new PprofBuilder({ frequency: 99 });
  const mapping = { start: 0x400000, end: 0x500000, offset: 0, path: '/usr/bin/app', buildId: 'abcd' };
  const leaf = b.location({ address: 0x401234, mapping, frames: [{ name: 'inlined', file: 'a.c', line: 3, inlined: true }, { name: 'hot', file: 'a.c', line: 10, startLine: 8, inlined: false }] });
  const kernel = b.location({ address: 0xffffffff81001234n, frames: [{ name: '__x64_sys_read', inlined: false }] });
  b.addSample([kernel, leaf], [['service', 'app'], ['pid', '42']], 3);
  b.addSample([leaf], [['service', 'app'], ['pid', '42']], 2);
  b.addSample([leaf], [['service', 'app'], ['pid', '42']], 1);
  const raw = gunzipSync(await b.encode(1_000, 11_000));
  assert.deepEqual(raw, Buffer.from(b.profile(1_000, 11_000).encode()));
  const decoded = Profile.decode(raw);
  assert.equal(decoded.sample.length, 2);
  assert.deepEqual(decoded.sample.map((s) => Number(s.value[1])), [3, 3]);
  assert.equal(BigInt(decoded.location[1]!.address), 0xffffffff81001234n);
});
