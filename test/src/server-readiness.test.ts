// /readyz follows storage: the real CLI server on real embedded chDB whose files disappear under
// it (what a lost or unmounted data volume looks like to the process). No mocks: the failure is
// the one chDB reports when it cannot read its own parts.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { test } from 'node:test';
import { startServer } from './lib/kiln.js';

const TIMEOUT = 120_000;

test('/readyz answers 503 with a reason while storage cannot be read; /healthz stays 200', { timeout: TIMEOUT }, async (t) => {
  const server = await startServer();
  t.after(() => server.stop());
  const ready = await fetch(`${server.url}/readyz`);
  assert.equal(ready.status, 200);
  assert.deepEqual(await ready.json(), { status: 'ready' });

  // Storage goes away: every file of the embedded store is removed while the server runs.
  rmSync(server.dataDir, { recursive: true, force: true });

  const unready = await fetch(`${server.url}/readyz`);
  const body = (await unready.json()) as { status: string; reason: string };
  assert.equal(unready.status, 503, JSON.stringify(body));
  assert.equal(body.status, 'unready');
  assert.match(body.reason, /^storage did not answer: .*(No such file|Cannot open)/s);

  const health = await fetch(`${server.url}/healthz`);
  assert.equal(health.status, 200);
  assert.deepEqual(await health.json(), { status: 'ok' });

  // The server still shuts down cleanly.
  assert.equal(await server.stop(), 0, server.output());
});
