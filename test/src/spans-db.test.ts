// Database spans from the kernel: PostgreSQL, Redis and MariaDB from apt, queried by the usual
// Node clients (pg, ioredis, mysql2), with a real `kiln agent` capturing and a real `kiln server`
// storing. Client spans name the normalised statement or the command; the PostgreSQL backend's
// own server span of a slow query opens the flame graph of the backend executing it.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Redis } from 'ioredis';
import mysql from 'mysql2/promise';
import pg from 'pg';
import type { FlamegraphResponse, Span, SpanSummary, TraceResponse, TracesResponse } from '@kiln/api/http';
import { startMariaDb, startPostgres, startRedis, type Database } from './lib/databases.js';
import { freePort, runKiln, startServer, waitForOk, type KilnProcess, type KilnServer } from './lib/kiln.js';

const TIMEOUT = 300_000;
let server: KilnServer;
let agent: KilnProcess;
const databases: Database[] = [];

before(async () => {
  if (process.getuid?.() !== 0) throw new Error('span tests load BPF programs: run them as root');
  server = await startServer();
  const metricsPort = await freePort();
  agent = runKiln(['agent', '--server', server.url, '--interval', '2s', '--frequency', '199', '--metrics-port', String(metricsPort)]);
  await waitForOk(`http://127.0.0.1:${metricsPort}/metrics`, agent);
});

after(async () => {
  await Promise.all(databases.map((d) => d.stop()));
  await agent?.stop();
  await server?.stop();
});

async function getJson<T>(path: string): Promise<{ status: number; body: T }> {
  const res = await fetch(`${server.url}${path}`);
  return { status: res.status, body: (await res.json()) as T };
}

/** Waits until spans named `name` (exactly) of `kind` are stored; returns them. */
async function spansNamed(name: string, kind: 'client' | 'server', count = 1): Promise<SpanSummary[]> {
  const q = new URLSearchParams({ query: '{}', from: 'now-15m', until: 'now+1m', limit: '1000', name });
  let last: SpanSummary[] = [];
  for (const deadline = Date.now() + 90_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 500))) {
    const res = await getJson<TracesResponse>(`/api/v1/traces?${q.toString()}`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    last = res.body.spans.filter((s) => s.kind === kind && s.source === 'ebpf');
    if (last.length >= count) return last;
  }
  const all = await getJson<TracesResponse>(
    `/api/v1/traces?${new URLSearchParams({ query: '{}', from: 'now-15m', until: 'now+1m', limit: '300' }).toString()}`,
  );
  assert.fail(
    `no ${kind} span named ${JSON.stringify(name)}; stored: ${JSON.stringify(all.body.spans.map((s) => `${s.kind} ${s.name}`))}\nagent:\n${agent.output().slice(-3000)}`,
  );
}

async function details(s: SpanSummary): Promise<Span> {
  const trace = await getJson<TraceResponse>(`/api/v1/traces/${s.traceId}`);
  const span = trace.body.spans.find((x) => x.spanId === s.spanId);
  assert.ok(span, `span ${s.spanId} in its trace`);
  return span;
}

test(
  'PostgreSQL through pg: client spans with normalised statements (simple and extended query), an error span, and the backend span of a slow scan opens the backend flame graph',
  { timeout: TIMEOUT },
  async () => {
    const db = await startPostgres();
    databases.push(db);
    const client = new pg.Client({ host: '127.0.0.1', port: db.port, user: 'kiln', database: 'postgres' });
    await client.connect();
    await client.query('CREATE TABLE items (id int PRIMARY KEY, name text)');
    await client.query("INSERT INTO items VALUES (42, 'answer'), (7, 'seven')");
    const simple = await client.query<{ name: string }>('SELECT name FROM items WHERE id = 42');
    assert.equal(simple.rows[0]?.name, 'answer');
    const extended = await client.query<{ name: string }>('SELECT name FROM items WHERE id = $1', [7]);
    assert.equal(extended.rows[0]?.name, 'seven');
    await assert.rejects(client.query("SELECT * FROM no_such_table WHERE name = 'x'"), /does not exist/);
    await client.query('CREATE TABLE big AS SELECT g AS x FROM generate_series(1, 3000000) g');
    const t0 = performance.now();
    await client.query('SELECT count(*) FROM big WHERE x % 7 = 3');
    const slowMs = performance.now() - t0;
    await client.end();

    const [simpleSpan] = await spansNamed('SELECT name FROM items WHERE id = ?', 'client');
    const [extendedSpan] = await spansNamed('SELECT name FROM items WHERE id = $1', 'client');
    assert.ok(simpleSpan && extendedSpan);
    const ext = await details(extendedSpan);
    assert.equal(ext.attributes['db.system.name'], 'postgresql');
    assert.equal(ext.attributes['db.operation.name'], 'SELECT');
    const [failed] = await spansNamed('SELECT * FROM no_such_table WHERE name = ?', 'client');
    assert.equal(failed?.status, 'error');
    assert.match(failed.statusMessage, /does not exist/);

    // The backend (a child of the postmaster, forked per connection) serves the scan as its server span.
    const [scan] = await spansNamed('SELECT count(*) FROM big WHERE x % ? = ?', 'server');
    assert.ok(scan);
    assert.ok(
      Math.abs(scan.durationNs / 1e6 - slowMs) < Math.max(20, slowMs * 0.2),
      `backend span ${scan.durationNs / 1e6} ms vs the client's ${slowMs} ms`,
    );
    let names: string[] = [];
    for (const deadline = Date.now() + 60_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 500))) {
      names = (await getJson<FlamegraphResponse>(`/api/v1/spans/${scan.spanId}/flamegraph`)).body.flamebearer.names;
      if (names.some((n) => /^Exec/.test(n))) break;
    }
    assert.ok(
      names.some((n) => /^Exec/.test(n)),
      `the scan's flame graph shows the executor at work: ${names.join(', ')}`,
    );
    assert.ok(names.includes('PostgresMain'), `inside the backend's main loop: ${names.join(', ')}`);
  },
);

test(
  'Redis through ioredis: client spans name the command and never its values; an error reply is an error span',
  { timeout: TIMEOUT },
  async () => {
    const db = await startRedis();
    databases.push(db);
    const redis = new Redis({ host: '127.0.0.1', port: db.port, lazyConnect: true });
    await redis.connect();
    await redis.set('kiln:secret-key', 'secret-value');
    assert.equal(await redis.get('kiln:secret-key'), 'secret-value');
    await redis.hset('kiln:h', 'f', 'v');
    await redis.hgetall('kiln:h');
    await assert.rejects(redis.call('NOSUCHCOMMAND', 'x'), /unknown command/);
    redis.disconnect();

    for (const name of ['SET', 'GET', 'HSET', 'HGETALL']) {
      const [span] = await spansNamed(name, 'client');
      const d = await details(span!);
      assert.equal(d.attributes['db.system.name'], 'redis');
      assert.ok(!JSON.stringify(d).includes('secret'), `no key or value is stored: ${JSON.stringify(d.attributes)}`);
    }
    const [bad] = await spansNamed('NOSUCHCOMMAND', 'client');
    assert.equal(bad?.status, 'error');
    assert.match(bad.statusMessage, /unknown command/);
  },
);

test(
  'MariaDB through mysql2: COM_QUERY and prepared statements (COM_STMT_PREPARE/EXECUTE) become client spans; an error is an error span',
  { timeout: TIMEOUT },
  async () => {
    const db = await startMariaDb();
    databases.push(db);
    const conn = await mysql.createConnection({ host: '127.0.0.1', port: db.port, user: 'root' });
    await conn.query('SELECT 1 + 41 AS answer');
    const [rows] = await conn.execute('SELECT ? + 1 AS next', [5]);
    assert.deepEqual(rows, [{ next: 6 }]);
    await assert.rejects(conn.query("SELECT * FROM mysql.no_such_table WHERE a = 'b'"), /doesn't exist/);
    await conn.end();

    const [query] = await spansNamed('SELECT ? + ? AS answer', 'client');
    assert.equal((await details(query!)).attributes['db.system.name'], 'mysql');
    await spansNamed('SELECT ? + ? AS next', 'client');
    const [bad] = await spansNamed('SELECT * FROM mysql.no_such_table WHERE a = ?', 'client');
    assert.equal(bad?.status, 'error');
    assert.match(bad.statusMessage, /doesn't exist/);
  },
);
