// The pprof codec: the encoder writes exactly the bytes pprof-format's own encode() writes, and
// what it writes decodes to the profile it was given.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeRawPprof, encodeProfile, locationAddress, SampleReader, stringOf } from '../src/pprof/index.js';
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
    pick([
      () => 0,
      () => Math.floor(r() * 128),
      () => Math.floor(r() * 2 ** 31),
      () => Number.MAX_SAFE_INTEGER,
      () => 0xffffffff81000000n + BigInt(Math.floor(r() * 1e6)),
      () => 2n ** 64n - 1n,
      () => 0n,
    ])();
  const signed = (): number | bigint => (r() < 0.2 ? -Math.floor(r() * 1e6) - 1 : numeric());
  // Every nested message has a non-zero first field: pprof-format measures an empty
  // one as 0 bytes, writes 2, and silently drops the profile's last bytes (the agent never writes one).
  const id = (): number | bigint => numeric() || 1;
  const strings = new StringTable();
  const str = () => strings.dedup(pick(['', 'main', 'caf\u00e9', 'x'.repeat(200), `s${Math.floor(r() * 50)}`]));
  const many = <T>(n: number, f: () => T): T[] => Array.from({ length: Math.floor(r() * n) }, f);
  return new Profile({
    sampleType: many(3, () => new ValueType({ type: id(), unit: str() })),
    sample: many(
      30,
      () =>
        new Sample({
          locationId: many(20, numeric),
          value: [id(), ...many(3, signed)],
          label: many(4, () => new Label({ key: id(), str: str(), num: signed(), numUnit: str() })),
        }),
    ),
    mapping: many(
      5,
      () =>
        new Mapping({
          id: id(),
          memoryStart: numeric(),
          memoryLimit: numeric(),
          fileOffset: numeric(),
          filename: str(),
          buildId: str(),
          hasFunctions: r() < 0.5,
          hasFilenames: r() < 0.5,
          hasLineNumbers: r() < 0.5,
          hasInlineFrames: r() < 0.5,
        }),
    ),
    location: many(
      30,
      () =>
        new Location({
          id: id(),
          mappingId: numeric(),
          address: numeric(),
          line: many(4, () => new Line({ functionId: id(), line: signed(), column: numeric() })),
          isFolded: r() < 0.2,
        }),
    ),
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

/** A profile as a producer writes one: ids from 1, indices inside their tables, addresses up to 2^64 - 1. */
function validProfile(seed: number): Profile {
  const r = rng(seed);
  const int = (n: number) => Math.floor(r() * n);
  const strings = new StringTable();
  const str = () => strings.dedup(['main', 'caf\u00e9', 'x'.repeat(300), `s${int(50)}`][int(4)]!);
  const nFn = 1 + int(20);
  const nLoc = 1 + int(30);
  const functions = Array.from(
    { length: nFn },
    (_, i) => new PprofFunction({ id: i + 1, name: str(), systemName: str(), filename: str(), startLine: int(5000) }),
  );
  const locations = Array.from(
    { length: nLoc },
    (_, i) =>
      new Location({
        id: i + 1,
        mappingId: 1,
        address: r() < 0.3 ? 0xffffffff81000000n + BigInt(int(1e6)) : r() < 0.1 ? 2n ** 64n - 1n : int(2 ** 40),
        line: Array.from({ length: 1 + int(3) }, () => new Line({ functionId: 1 + int(nFn), line: int(1000) })),
      }),
  );
  return new Profile({
    sampleType: [
      new ValueType({ type: strings.dedup('cpu'), unit: strings.dedup('nanoseconds') }),
      new ValueType({ type: strings.dedup('samples'), unit: strings.dedup('count') }),
    ],
    sample: Array.from(
      { length: int(40) },
      () =>
        new Sample({
          locationId: Array.from({ length: 1 + int(60) }, () => 1 + int(nLoc)),
          value: [int(2 ** 40), r() < 0.1 ? -int(1e6) : int(100)],
          label: Array.from({ length: int(4) }, () => new Label({ key: str(), str: str() })),
        }),
    ),
    mapping: [new Mapping({ id: 1, memoryStart: 0x400000, memoryLimit: 0x500000, filename: str(), buildId: str() })],
    location: locations,
    function: functions,
    stringTable: strings,
    timeNanos: 1_700_000_000_000_000_000n + BigInt(int(1e9)),
    durationNanos: 10_000_000_000,
  });
}

test('encode → decode: 300 random profiles decode to their functions, locations, samples and strings', () => {
  for (let seed = 1; seed <= 300; seed++) {
    const p = validProfile(seed);
    const d = decodeRawPprof(Buffer.from(encodeProfile(p)));
    const strings = p.stringTable.strings;
    const at = `seed ${seed}`;
    assert.equal(d.stringCount, strings.length, at);
    for (let i = 0; i < strings.length; i++) assert.equal(stringOf(d, i), strings[i], at);
    assert.deepEqual(
      d.sampleType.map((t) => [t.type, t.unit]),
      p.sampleType.map((t) => [Number(t.type), Number(t.unit)]),
      at,
    );
    assert.equal(d.functionCount, p.function.length, at);
    p.function.forEach((f, i) => {
      assert.deepEqual(
        [d.fnId[i], d.fnName[i], d.fnSystemName[i], d.fnFilename[i], d.fnStartLine[i]],
        [f.id, f.name, f.systemName, f.filename, f.startLine].map(Number),
        at,
      );
    });
    assert.equal(d.locationCount, p.location.length, at);
    p.location.forEach((l, i) => {
      assert.equal(d.locId[i], Number(l.id), at);
      assert.equal(locationAddress(d, i), BigInt(l.address), at);
      assert.deepEqual(
        [...d.lineFunction.subarray(d.locLineStart[i], d.locLineStart[i + 1])],
        l.line.map((x) => Number(x.functionId)),
        at,
      );
    });
    assert.equal(d.sampleCount, p.sample.length, at);
    const reader = new SampleReader(d);
    p.sample.forEach((s, i) => {
      reader.read(i);
      assert.deepEqual([...reader.locationIds.subarray(0, reader.locationCount)], s.locationId.map(Number), at);
      assert.deepEqual([...reader.values.subarray(0, reader.valueCount)], s.value.map(Number), at);
      assert.deepEqual(
        Array.from({ length: reader.labelCount }, (_, k) => [reader.labelKey[k], reader.labelStr[k]]),
        s.label.map((l) => [Number(l.key), Number(l.str)]),
        at,
      );
    });
    // A double: within two units in the last place (256 ns at today's epoch); ingest uses milliseconds.
    assert.ok(Math.abs(d.timeNanos - Number(p.timeNanos)) <= 512, at);
    assert.equal(d.durationNanos, Number(p.durationNanos), at);
  }
});

test('decode rejects what is not a pprof profile, with a message', () => {
  assert.throws(() => decodeRawPprof(Buffer.from([0x0a, 0x05, 0x01])), /not a valid pprof profile: a field runs past the end/);
  assert.throws(
    () => decodeRawPprof(Buffer.from(new Profile({ stringTable: new StringTable() }).encode()).subarray(0, 0)),
    /string table must start with ''/,
  );
});
