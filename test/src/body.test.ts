// Ingest body decoding: gunzip with an output ceiling, whatever the gzip trailer claims.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { gunzipLimited } from '@kiln/server/dist/ingest/body.js';
import { IngestError } from '@kiln/server/dist/ingest/limits.js';

const text = Buffer.from('main;work;burn 1\n'.repeat(20_000));

test('gunzipLimited: single and multi-member gzip, small and large outputs', () => {
  assert.deepEqual(gunzipLimited(gzipSync(text), 1 << 20, 'x'), text);
  assert.deepEqual(gunzipLimited(gzipSync(Buffer.alloc(0)), 1 << 20, 'x'), Buffer.alloc(0));
  const noise = randomBytes(200_000); // incompressible: output about the size of the input
  assert.deepEqual(gunzipLimited(gzipSync(noise), 1 << 20, 'x'), noise);
  // Two members: the trailer states the second one's size only; the output is both.
  const two = Buffer.concat([gzipSync(text), gzipSync(Buffer.from('tail 2\n'))]);
  assert.deepEqual(gunzipLimited(two, 1 << 20, 'x'), Buffer.concat([text, Buffer.from('tail 2\n')]));
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
    assert.equal(status(() => gunzipLimited(lying, 64 << 20, 'x')), 400, `trailer size ${size}`);
  }
  assert.equal(status(() => gunzipLimited(gz.subarray(0, gz.length - 9), 1 << 20, 'x')), 400);
  assert.equal(status(() => gunzipLimited(gz, text.length - 1, 'x')), 413);
  assert.equal(status(() => gunzipLimited(gz, text.length, 'x')), 200);
});
