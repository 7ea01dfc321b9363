// Ingest body decoding: gunzip with an output ceiling, whatever the gzip trailer claims.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { gunzipLimited } from '../src/ingest/body.js';
import { IngestError } from '../src/ingest/limits.js';

const text = Buffer.from('main;work;burn 1\n'.repeat(20_000));

test('gunzipLimited: single and multi-member gzip, small and large outputs', () => {
  assert.deepEqual(gunzipLimited(gzipSync(text), 1 << 20, 'x'), text);
  assert.deepEqual(gunzipLimited(gzipSync(Buffer.alloc(0)), 1 << 20, 'x'), Buffer.alloc(0));
  const noise = randomBytes(200_000); // incompressible: output about the size of the input
  assert.deepEqual(gunzipLimited(gzipSync(noise), 1 << 20, 'x'), noise);
  // Two members: the trailer states the second one's size only; the output is both.
  const two = Buffer.concat([gzipSync(text), gzipSync(Buffer.from('tail 2\n'))]);
  assert.deepEqual(gunzipLimited(two, 1 << 20, 'x'), Buffer.concat([text, Buffer.from('tail 2\n')]));
  // Zero padding after the last member is ignored (as zlib does); other trailing bytes are not gzip.
  assert.deepEqual(gunzipLimited(Buffer.concat([gzipSync(text), Buffer.alloc(7)]), 1 << 20, 'x'), text);
  // 1000x compressed: far over the first buffer's size, which doubles until the output fits.
  const big = Buffer.from('0123456789abcdef'.repeat(400_000));
  assert.deepEqual(gunzipLimited(gzipSync(big), 64 << 20, 'x'), big);
  // The result is a view that the next call overwrites: callers copy what they keep.
  const first = gunzipLimited(gzipSync(Buffer.from('first')), 1 << 20, 'x');
  const kept = Buffer.from(first);
  gunzipLimited(gzipSync(Buffer.from('other')), 1 << 20, 'x');
  assert.equal(kept.toString(), 'first');
  assert.equal(first.toString(), 'other');
});

test('gunzipLimited: a trailer that lies, truncation and the ceiling are 4xx errors', () => {
  const status = (f: () => unknown): number => {
    try {
      f();
    } catch (err) {
      assert.ok(err instanceof IngestError, String(err));
      return err.statusCode;
    }
    return 200;
  };
  const gz = gzipSync(text);
  for (const size of [0, 1, 0xffffffff]) {
    const lying = Buffer.from(gz);
    lying.writeUInt32LE(size, lying.length - 4);
    assert.equal(
      status(() => gunzipLimited(lying, 64 << 20, 'x')),
      400,
      `trailer size ${size}`,
    );
  }
  assert.equal(
    status(() => gunzipLimited(gz.subarray(0, gz.length - 9), 1 << 20, 'x')),
    400,
  );
  assert.equal(
    status(() => gunzipLimited(gz, text.length - 1, 'x')),
    413,
  );
  assert.equal(
    status(() => gunzipLimited(gz, text.length, 'x')),
    200,
  );
  assert.equal(
    status(() => gunzipLimited(Buffer.concat([gz, Buffer.from('garbage')]), 1 << 20, 'x')),
    400,
  );
  const big = gzipSync(Buffer.alloc(6_400_000, 'a'));
  assert.equal(
    status(() => gunzipLimited(big, 6_399_999, 'x')),
    413,
  );
  assert.equal(
    status(() => gunzipLimited(big, 6_400_000, 'x')),
    200,
  );
});
