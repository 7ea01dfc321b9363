// Agents' health reports in process: a report is listed with when it arrived, each node by its
// latest report, and a body that is not a report is a 400 naming what is wrong.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AgentReport, AgentsResponse } from '@kiln/api/http';
import type { FastifyInstance } from 'fastify';
import { getJson, testApp } from './app.js';

const app: FastifyInstance = await testApp();
const startedAt = Date.now() - 60_000;

const report = (fields: Partial<AgentReport> = {}): AgentReport => ({
  node: 'node-a',
  version: '0.1.0',
  startedAt,
  intervalMs: 10_000,
  samples: 1000,
  samplesLost: 3,
  processesTracked: 42,
  profilesDropped: 0,
  ...fields,
});

async function send(body: unknown, headers: Record<string, string> = { 'content-type': 'application/json' }) {
  const res = await app.inject({
    method: 'POST',
    url: '/api/v1/agents/report',
    headers,
    payload: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.statusCode, body: res.body };
}

test('reports in, each node listed once with its latest report and the time it arrived, sorted by node', async () => {
  const before = Date.now();
  const latest = report({ samples: 2000, samplesLost: 5, processesTracked: 40, profilesDropped: 1, version: '0.2.0' });
  for (const body of [report({ node: 'node-b', samples: 10 }), report({ samples: 1000 }), latest]) {
    const r = await send(body);
    assert.equal(r.status, 204, r.body);
    assert.equal(r.body, '');
    // The latest report is the one received last: two in the same millisecond would tie.
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const after = Date.now();

  const r = await getJson<AgentsResponse>(app, '/api/v1/agents', { from: 'now-5m', until: 'now+1m' });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.deepEqual(
    r.body.agents.map((a) => a.node),
    ['node-a', 'node-b'],
  );
  const [a, b] = r.body.agents;
  const { lastSeen, ...figures } = a!;
  assert.deepEqual(figures, latest);
  assert.ok(lastSeen >= before && lastSeen <= after, `lastSeen ${lastSeen} is when the server received it (${before}…${after})`);
  assert.equal(b!.samples, 10);

  const older = await getJson<AgentsResponse>(app, '/api/v1/agents', { from: 'now-2h', until: 'now-1h' });
  assert.equal(older.status, 200);
  assert.deepEqual(older.body.agents, [], 'no report in a range before they were sent');
});

test('a body that is not a report is a 400 naming the field; nothing is stored', async () => {
  for (const [body, message] of [
    [{ ...report({ node: 'bad-1' }), samples: -1 }, /samples must be >= 0/],
    [{ ...report({ node: 'bad-2' }), samplesLost: 'many' }, /samplesLost must be integer/],
    [{ ...report(), node: '' }, /node must NOT have fewer than 1 characters/],
    [(({ node: _node, ...rest }) => rest)(report()), /must have required property 'node'/],
    ['{"node":', /JSON/],
  ] as const) {
    const r = await send(body);
    assert.equal(r.status, 400, `${JSON.stringify(body)}: ${r.body}`);
    assert.match((JSON.parse(r.body) as { error: string }).error, message);
  }
  const wrongType = await send('node=a', { 'content-type': 'application/x-www-form-urlencoded' });
  assert.equal(wrongType.status, 415, wrongType.body);
  const tooLarge = await send(report({ node: 'x'.repeat(200), version: 'y'.repeat(20_000) }));
  assert.equal(tooLarge.status, 413, tooLarge.body);

  const r = await getJson<AgentsResponse>(app, '/api/v1/agents', { from: 'now-5m', until: 'now+1m' });
  assert.ok(!r.body.agents.some((a) => a.node.startsWith('bad-') || a.node === ''), JSON.stringify(r.body.agents));
});

test('agents: bad time range is a 400', async () => {
  const r = await getJson(app, '/api/v1/agents', { from: 'now', until: 'now-1h' });
  assert.equal(r.status, 400);
  assert.match(r.body.error!, /from must be before until/);
});
