// End to end: the real agent reports its health to a real server, and GET /api/v1/agents lists its
// node with figures that agree with what it is doing.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { AgentStatus, AgentsResponse } from '@kiln/api/http';
import { repoRoot, runKiln, startServer } from './lib/kiln.js';
import { eventually, getJson } from './lib/server-api.js';
import { buildWorkloads, startWorkload, stopAll } from './lib/workloads.js';

const agentVersion = (JSON.parse(readFileSync(join(repoRoot, 'agent/package.json'), 'utf8')) as { version: string }).version;

test("the agent's node is listed by GET /api/v1/agents with its version, last seen and plausible health figures", async (t) => {
  assert.equal(process.getuid?.(), 0, 'the agent loads BPF programs and must run as root');
  buildWorkloads();
  const server = await startServer();
  t.after(() => server.stop());
  const workload = await startWorkload('cpu_ratio', ['120']);
  t.after(() => stopAll([workload]));

  const node = `agents-e2e-${process.pid}`;
  const before = Date.now();
  const agent = runKiln([
    'agent',
    '--server',
    server.url,
    '--node',
    node,
    '--pid',
    String(workload.pid),
    '--frequency',
    '99',
    '--interval',
    '1s',
    '--metrics-port',
    '0',
  ]);
  t.after(() => agent.stop());

  const listed = async (): Promise<AgentStatus | undefined> => {
    const r = await getJson<AgentsResponse>(server.url, '/api/v1/agents', { from: 'now-10m', until: 'now+1m' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return r.body.agents.find((a) => a.node === node);
  };
  // Samples take an interval or two to appear: wait for a report that has some.
  const first = await eventually(
    async () => {
      const a = await listed();
      return a !== undefined && a.samples > 0 ? a : undefined;
    },
    60_000,
    `node ${node} with samples in /api/v1/agents\n${agent.output().slice(-3000)}`,
  );
  console.log(`first report with samples: ${JSON.stringify(first)}`);
  assert.equal(first.version, agentVersion);
  assert.equal(first.intervalMs, 1000);
  assert.ok(first.startedAt >= before - 1000 && first.startedAt <= first.lastSeen, `startedAt ${first.startedAt}`);
  assert.ok(first.lastSeen >= before && first.lastSeen <= Date.now(), `lastSeen ${first.lastSeen} since the test started`);
  assert.ok(first.samplesLost >= 0 && first.samplesLost <= first.samples, `samplesLost ${first.samplesLost}`);
  assert.ok(first.processesTracked >= 1, 'the workload is tracked');
  assert.equal(first.profilesDropped, 0, 'the server is up: nothing dropped');

  // Reports keep coming each interval: a later one has seen more samples and a later time.
  const later = await eventually(
    async () => {
      const a = await listed();
      return a !== undefined && a.lastSeen > first.lastSeen && a.samples > first.samples ? a : undefined;
    },
    60_000,
    `a later report of ${node}`,
  );
  assert.equal(later.startedAt, first.startedAt, 'the same agent run');
  assert.equal(agent.proc.exitCode, null, agent.output().slice(-3000));
});
