// End to end: the agent on this host pushing into a real server, through the real CLI.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { freePort, runKiln, startServer, tempDir, waitForOk, type KilnProcess } from './lib/kiln.js';
import { eventually, flameFunctionTotals, getJson, type FlamebearerJson } from './lib/server-api.js';
import { buildWorkloads, startWorkload, stopAll } from './lib/workloads.js';

async function flame(url: string, query: string, fromS: number): Promise<FlamebearerJson> {
  const res = await getJson<FlamebearerJson>(url, '/api/v1/flamegraph', { query, from: fromS, until: 'now' });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body;
}

function loggedLine(kiln: KilnProcess, msg: string): Record<string, unknown> {
  const line = kiln
    .output()
    .split('\n')
    .find((l) => l.includes(`"msg":"${msg}"`));
  assert.ok(line, `the process logged "${msg}":\n${kiln.output().slice(-4000)}`);
  return JSON.parse(line) as Record<string, unknown>;
}

test('kiln up: a workload started after it is in the flame graph with its function names within 30 s', async (t) => {
  assert.equal(process.getuid?.(), 0, 'kiln up runs the BPF agent and must run as root');
  buildWorkloads();
  const port = await freePort();
  const up = runKiln(['up', '--port', String(port), '--data', tempDir(), '--metrics-port', String(await freePort())]);
  t.after(() => up.stop());
  const url = `http://127.0.0.1:${port}`;
  await waitForOk(`${url}/readyz`, up);
  const started = Math.floor(Date.now() / 1000) - 1;
  const workload = await startWorkload('cpu_ratio', ['60']);
  t.after(() => stopAll([workload]));
  const t0 = Date.now();
  const totals = await eventually(
    async () => {
      const fb = await flame(url, `{service="cpu_ratio",pid="${workload.pid}"}`, started);
      const names = flameFunctionTotals(fb);
      return names.has('burn_hot') && names.has('burn_cold') ? names : undefined;
    },
    30_000,
    'burn_hot and burn_cold in /api/v1/flamegraph',
  );
  console.log(
    `workload visible after ${((Date.now() - t0) / 1000).toFixed(1)} s; burn_hot cum ${totals.get('burn_hot')?.cum}, burn_cold cum ${totals.get('burn_cold')?.cum}`,
  );
});

test('server outage: the agent keeps what it sampled while the server is down for 60 s and delivers it after', async (t) => {
  assert.equal(process.getuid?.(), 0, 'the agent loads BPF programs and must run as root');
  buildWorkloads();
  const data = tempDir();
  let server = await startServer({ dataDir: data });
  const port = server.port;
  t.after(() => server.stop());
  const metricsPort = await freePort();
  const workload = await startWorkload('cpu_ratio', ['120']);
  t.after(() => stopAll([workload]));
  const started = Math.floor(Date.now() / 1000) - 1;
  const agent = runKiln([
    'agent',
    '--server',
    server.url,
    '--pid',
    String(workload.pid),
    '--frequency',
    '99',
    '--interval',
    '2s',
    '--metrics-port',
    String(metricsPort),
  ]);
  t.after(() => agent.stop());
  await waitForOk(`http://127.0.0.1:${metricsPort}/metrics`, agent);
  await eventually(
    async () => ((await flame(server.url, 'samples{}', started)).flamebearer.numTicks > 0 ? true : undefined),
    20_000,
    'first interval stored',
  );

  const metric = async (name: string): Promise<number> => {
    const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    return Number(new RegExp(`^${name.replace(/[{}]/g, '\\$&')} (\\d+)`, 'm').exec(text)?.[1]);
  };
  const rss = () => metric('kiln_agent_process_resident_memory_bytes');
  assert.ok((await metric('kiln_agent_profiles_written_total{sink="server"}')) >= 1, 'the first push is counted');
  const rssBefore = await rss();
  assert.equal(await server.stop(), 0);
  await new Promise((r) => setTimeout(r, 30_000));
  const rssMid = await rss();
  await new Promise((r) => setTimeout(r, 30_000));
  const rssDuring = await rss();
  server = await startServer({ dataDir: data, port });
  await new Promise((r) => setTimeout(r, 3_000));
  assert.equal(await agent.stop(30_000), 0, agent.output().slice(-3000));

  const stopped = loggedLine(agent, 'agent stopped') as {
    stats: { samples: number; countsFull: number };
    pushed: { dropped: number; rejected: number; queued: number };
  };
  const counted = stopped.stats.samples - stopped.stats.countsFull;
  const stored = (await flame(server.url, `samples{pid="${workload.pid}"}`, started)).flamebearer.numTicks;
  console.log(
    `kernel counted ${counted} samples; server holds ${stored}; agent RSS ${(rssBefore / 2 ** 20).toFixed(0)} MB before, ${(rssMid / 2 ** 20).toFixed(0)} MB after 30 s and ${(rssDuring / 2 ** 20).toFixed(0)} MB after 60 s of outage; pushed ${JSON.stringify(stopped.pushed)}`,
  );
  assert.equal(stopped.pushed.dropped, 0);
  assert.equal(stopped.pushed.rejected, 0);
  assert.equal(stopped.pushed.queued, 0);
  assert.equal(stored, counted, 'every sample the kernel counted reached the server');
  // Bounded: it does not keep growing with the outage (the first drains' caches and heap growth
  // land before or early in it), and stays far below the push queue's 64 MiB bound on top of the agent.
  assert.ok(rssDuring < rssMid + 24 * 2 ** 20, 'RSS does not keep growing while profiles queue up');
  assert.ok(rssDuring < 200 * 2 ** 20, 'RSS stays under 200 MB during the outage');
});
