// `kiln server` end to end: the real CLI, real embedded chDB, real ports and directories.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { freePort, repoRoot, runKiln, startServer, tempDir, type KilnServer } from './lib/kiln.js';

const TIMEOUT = 120_000;
const serverVersion = (JSON.parse(readFileSync(join(repoRoot, 'server/package.json'), 'utf8')) as { version: string }).version;

interface Status {
  version: string;
  storage: { mode: string; path?: string; url?: string; schemaVersion: number };
}

async function getJson<T>(url: string, init?: RequestInit): Promise<{ status: number; type: string; body: T }> {
  const res = await fetch(url, init);
  return { status: res.status, type: res.headers.get('content-type') ?? '', body: (await res.json()) as T };
}

async function stopCleanly(server: KilnServer): Promise<void> {
  const code = await server.stop();
  assert.equal(code, 0, `kiln server did not exit cleanly on SIGTERM:\n${server.output()}`);
}

/** Reads the migrations log straight from the data directory, with chDB in a separate process (one store per process). */
async function migrationRows(dataDir: string): Promise<{ version: number; rows: number }[]> {
  const script = `
    import { createClient } from '@clickhouse/client';
    import { createChdbConnection } from 'chdb/connection';
    const client = createClient({ connection: createChdbConnection({ path: process.env.DATA_DIR }) });
    const result = await client.query({
      query: 'SELECT version, toUInt32(count()) AS rows FROM kiln_schema_migrations GROUP BY version ORDER BY version',
      format: 'JSONEachRow',
    });
    process.stdout.write(JSON.stringify(await result.json()));
    await client.close();
  `;
  // Run from server/ so its dependencies resolve.
  const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], {
    cwd: join(repoRoot, 'server'),
    env: { ...process.env, DATA_DIR: dataDir },
  });
  return JSON.parse(stdout) as { version: number; rows: number }[];
}

test('server on embedded storage is healthy, ready, measured and reports its status', { timeout: TIMEOUT }, async (t) => {
  const server = await startServer();
  t.after(() => server.stop());

  const ready = await getJson<{ status: string }>(`${server.url}/readyz`);
  assert.equal(ready.status, 200);
  assert.deepEqual(ready.body, { status: 'ready' });

  const health = await getJson<{ status: string }>(`${server.url}/healthz`);
  assert.equal(health.status, 200);
  assert.deepEqual(health.body, { status: 'ok' });

  const status = await getJson<Status>(`${server.url}/api/v1/status`);
  assert.equal(status.status, 200);
  assert.equal(status.body.version, serverVersion);
  assert.equal(status.body.storage.mode, 'embedded');
  assert.equal(status.body.storage.path, server.dataDir);
  assert.equal(status.body.storage.url, undefined);
  assert.ok(status.body.storage.schemaVersion >= 1, `schemaVersion ${status.body.storage.schemaVersion}`);

  const metrics = await fetch(`${server.url}/metrics`);
  assert.equal(metrics.status, 200);
  assert.match(metrics.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  const text = await metrics.text();
  assert.match(text, /^process_cpu_user_seconds_total /m);
  assert.match(text, /^kiln_http_request_duration_seconds_bucket\{.*route="\/readyz".*status_code="200".*\} \d+/m);
  assert.match(text, new RegExp(`^kiln_build_info\\{version="${serverVersion.replace(/\./g, '\\.')}"\\} 1$`, 'm'));
});

test('errors are JSON; unknown /api paths are 404 and UI paths fall back to the app', { timeout: TIMEOUT }, async (t) => {
  const server = await startServer();
  t.after(() => server.stop());

  const missing = await getJson<{ error: string }>(`${server.url}/api/v1/no-such-thing`);
  assert.equal(missing.status, 404);
  assert.match(missing.type, /^application\/json/);
  assert.match(missing.body.error, /\/api\/v1\/no-such-thing/);

  const wrongMethod = await getJson<{ error: string }>(`${server.url}/api/v1/status`, { method: 'DELETE' });
  assert.equal(wrongMethod.status, 404);
  assert.equal(typeof wrongMethod.body.error, 'string');

  // Whether web/build exists depends on whether the UI was built; a deep link must behave like `/` either way.
  const root = await fetch(`${server.url}/`);
  const deepLink = await fetch(`${server.url}/flamegraph/some/view`);
  assert.equal(deepLink.status, root.status);
  if (root.status === 200) {
    assert.match(root.headers.get('content-type') ?? '', /^text\/html/);
    assert.match(deepLink.headers.get('content-type') ?? '', /^text\/html/);
  } else {
    assert.equal(root.status, 503);
    assert.match(((await root.json()) as { error: string }).error, /make build/);
  }
});

test('migrations run once: a restart on the same data directory keeps one row per migration', { timeout: TIMEOUT }, async () => {
  const dataDir = tempDir('kiln-data-');

  const first = await startServer({ dataDir });
  const before = await getJson<Status>(`${first.url}/api/v1/status`);
  await stopCleanly(first);

  const second = await startServer({ dataDir });
  const after = await getJson<Status>(`${second.url}/api/v1/status`);
  assert.equal((await fetch(`${second.url}/readyz`)).status, 200);
  await stopCleanly(second);

  const schemaVersion = before.body.storage.schemaVersion;
  assert.ok(schemaVersion >= 1);
  assert.equal(after.body.storage.schemaVersion, schemaVersion);

  const rows = await migrationRows(dataDir);
  assert.deepEqual(
    rows,
    Array.from({ length: schemaVersion }, (_, i) => ({ version: i + 1, rows: 1 })),
  );
});

test('a port already in use stops the server with a clear message', { timeout: TIMEOUT }, async (t) => {
  const port = await freePort();
  const blocker = createServer();
  blocker.listen(port, '0.0.0.0');
  await once(blocker, 'listening');
  t.after(() => blocker.close());

  const kiln = runKiln(['server', '--port', String(port), '--data', tempDir('kiln-data-')]);
  t.after(() => kiln.stop());
  const code = await kiln.exited;
  assert.notEqual(code, 0, kiln.output());
  assert.match(kiln.output(), new RegExp(`port ${port} is already in use`));
});

test('an unusable data directory stops the server with a clear message', { timeout: TIMEOUT }, async (t) => {
  // Root ignores permission bits, so use places nobody can create a directory in.
  const file = join(tempDir(), 'a-file');
  writeFileSync(file, 'not a directory');
  const cases = [
    { data: join(file, 'data'), reason: /is not a directory/ },
    { data: `/proc/kiln-test-${process.pid}/data`, reason: /ENOENT/ },
  ];
  for (const { data, reason } of cases) {
    const kiln = runKiln(['server', '--port', String(await freePort()), '--data', data]);
    t.after(() => kiln.stop());
    const code = await kiln.exited;
    assert.notEqual(code, 0, kiln.output());
    assert.ok(kiln.output().includes(`data directory ${data} cannot be created`), kiln.output());
    assert.match(kiln.output(), reason);
  }
});

test('with --auth-token-file the API needs the bearer token, probes do not', { timeout: TIMEOUT }, async (t) => {
  const tokenFile = join(tempDir(), 'tokens');
  writeFileSync(tokenFile, '# rotated monthly\nold-token\n\nnew-token\n');
  const server = await startServer({ args: ['--auth-token-file', tokenFile] });
  t.after(() => server.stop());

  const anonymous = await getJson<{ error: string }>(`${server.url}/api/v1/status`);
  assert.equal(anonymous.status, 401);
  assert.match(anonymous.body.error, /token/);

  const wrong = await fetch(`${server.url}/api/v1/status`, { headers: { authorization: 'Bearer nope' } });
  assert.equal(wrong.status, 401);

  for (const token of ['old-token', 'new-token']) {
    const ok = await fetch(`${server.url}/api/v1/status`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(ok.status, 200);
  }
  // A differently spelled URL reaching the same route still needs the token.
  const encoded = await fetch(`${server.url}/%61pi/v1/status`);
  assert.notEqual(encoded.status, 200);

  assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
  assert.equal((await fetch(`${server.url}/metrics`)).status, 200);
});

test('a missing auth token file stops the server with a clear message', { timeout: TIMEOUT }, async (t) => {
  const missing = join(tempDir(), 'no-such-file');
  const kiln = runKiln(['server', '--port', String(await freePort()), '--data', tempDir('kiln-data-'), '--auth-token-file', missing]);
  t.after(() => kiln.stop());
  assert.notEqual(await kiln.exited, 0, kiln.output());
  assert.ok(kiln.output().includes(`auth token file ${missing} cannot be read`), kiln.output());
});
