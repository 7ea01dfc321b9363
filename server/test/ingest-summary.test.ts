// The periodic ingest summary: what /ingest stored and refused since the last line.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { IngestSummary } from '../src/http/ingest-summary.js';
import { ingestFolded, testApp } from './app.js';

const app: FastifyInstance = await testApp();
const fromS = Math.floor(Date.now() / 1000) - 60;

test('the summary counts stored profiles, their sample rows and clients, refused uploads, then starts again', async () => {
  app.ingestSummary.take();
  assert.equal((await ingestFolded(app, 'checkout', 'main;a 3\nmain;b 1\n', fromS)).status, 200);
  assert.equal((await ingestFolded(app, 'billing', 'main;c 2\n', fromS)).status, 200);
  assert.equal((await ingestFolded(app, 'checkout', '', fromS)).status, 400);
  assert.deepEqual(
    { ...app.ingestSummary.take(), seconds: 0 },
    { profiles: 2, samples: 3, clients: 1, rejected: 1, errors: 0, seconds: 0 },
  );
  assert.equal(app.ingestSummary.take(), undefined, 'nothing happened since: no line');
});

test('storage failures are errors, the client’s mistakes and rate limits are rejections', () => {
  const summary = new IngestSummary();
  for (const reason of ['storage', 'bad_pprof', 'rate_limited', 'too_large']) summary.refused(reason);
  const counts = summary.take(Date.now() + 60_000);
  assert.deepEqual(counts, { profiles: 0, samples: 0, clients: 0, rejected: 3, errors: 1, seconds: 60 });
});
