// Kernel signals end to end: a real `kiln agent` (scheduler and retransmit probes on, as by default)
// beside a real `kiln server`; CPU burners in cgroups with and without a quota, and a Node service
// throttled while it serves a request. What Kiln measured in BPF is checked against the kernel's own
// counters (cgroup cpu.stat), through the public API.
import assert from 'node:assert/strict';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { SignalEpisodesResponse, SignalsResponse, TraceResponse, TracesResponse } from '@kiln/api/http';
import { CpuCgroup } from './lib/cpu-cgroup.js';
import { NetnsLink } from './lib/netns.js';
import { artifactPath, launchBrowser, watchPage } from './lib/browser.js';
import { freePort, runKiln, startServer, waitForOk, type KilnProcess, type KilnServer } from './lib/kiln.js';
import { startWorkload, workloadsDir, type Workload } from './lib/workloads.js';

const TIMEOUT = 300_000;
let server: KilnServer;
let agent: KilnProcess;
const workloads: Workload[] = [];
const cgroups: CpuCgroup[] = [];
/** The throttled /slow span, for the browser test. */
let throttledSpan: { traceId: string; spanId: string } | undefined;

before(async () => {
  if (process.getuid?.() !== 0) throw new Error('signal tests load BPF programs and create cgroups: run them as root');
  server = await startServer();
  const metricsPort = await freePort();
  agent = runKiln(['agent', '--server', server.url, '--interval', '2s', '--metrics-port', String(metricsPort)]);
  await waitForOk(`http://127.0.0.1:${metricsPort}/metrics`, agent);
});

after(async () => {
  await Promise.all(workloads.map((w) => w.stop()));
  for (const cg of cgroups) cg.remove();
  await agent?.stop();
  await server?.stop();
});

function cgroup(opts: { quotaUs?: number } = {}): CpuCgroup {
  const cg = new CpuCgroup(opts);
  cgroups.push(cg);
  return cg;
}

async function getJson<T>(path: string): Promise<T> {
  const res = await fetch(`${server.url}${path}`);
  const body = (await res.json()) as T;
  assert.equal(res.status, 200, `${path}: ${JSON.stringify(body)}`);
  return body;
}

function signals(kind: string, extra: Record<string, string> = {}): Promise<SignalsResponse> {
  const q = new URLSearchParams({ kind, from: 'now-15m', until: 'now+1m', top: '100', ...extra });
  return getJson<SignalsResponse>(`/api/v1/signals?${q.toString()}`);
}

/** The top-list value of one cgroup, once it stopped growing (the agent sends every 2 s). */
async function settledCgroupValue(kind: string, cg: CpuCgroup): Promise<number> {
  let last = -1;
  for (const deadline = Date.now() + 60_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 3000))) {
    const res = await signals(kind);
    const value = res.top.filter((e) => e.cgroup === cg.path).reduce((a, e) => a + e.value, 0);
    if (value > 0 && value === last) return value;
    last = value;
  }
  return last;
}

/** A busy loop in `cg`, as its own process; stopped by `w.stop()`. */
async function burner(cg: CpuCgroup): Promise<Workload> {
  const w = await startWorkload('burner', [], { command: cg.wrap(['sh', '-c', 'echo $$; while :; do :; done']) });
  workloads.push(w);
  return w;
}

test(
  'throttling: a burner under a 10 ms / 100 ms quota; the throttled time measured in BPF matches cpu.stat within 10%',
  { timeout: TIMEOUT },
  async (t) => {
    const cg = cgroup({ quotaUs: 10_000 });
    const before = cg.cpuStat();
    const w = await burner(cg);
    await new Promise((r) => setTimeout(r, 10_000));
    await w.stop();
    const kernelNs = cg.cpuStat().throttledNs - before.throttledNs;
    assert.ok(kernelNs > 5e9, `the kernel throttled the burner for most of 10 s: ${kernelNs} ns`);
    const measured = await settledCgroupValue('throttle', cg);
    const ratio = measured / kernelNs;
    t.diagnostic(
      `throttled: kiln ${(measured / 1e6).toFixed(1)} ms, cpu.stat ${(kernelNs / 1e6).toFixed(1)} ms, ratio ${ratio.toFixed(3)}`,
    );
    assert.ok(Math.abs(ratio - 1) <= 0.1, `kiln/cpu.stat throttled time ratio ${ratio.toFixed(3)} is within 10%`);

    const res = await signals('throttle');
    assert.ok(res.total >= measured, 'the total covers the cgroup');
    assert.ok((res.kernel?.throttledNs ?? 0) > 0, `the cpu.stat cross-check is reported: ${JSON.stringify(res.kernel)}`);
    const q = new URLSearchParams({ kind: 'throttle', from: 'now-15m', until: 'now+1m', limit: '10000' });
    const episodes = await getJson<SignalEpisodesResponse>(`/api/v1/signals/episodes?${q.toString()}`);
    const own = episodes.episodes.filter((e) => e.cgroup === cg.path);
    assert.ok(own.length >= 50, `about one throttle episode per 100 ms period: ${own.length}`);
    assert.ok(
      own.every((e) => e.pid === w.pid && e.durationNs >= 5e6),
      `episodes of the burner (pid ${w.pid}), each over the 5 ms threshold`,
    );
  },
);

test('run-queue delay: four busy processes on two CPUs, no quota: delay reported, no throttling', { timeout: TIMEOUT }, async () => {
  const cg = cgroup();
  const ws = await Promise.all([0, 1, 2, 3].map(() => burner(cg)));
  await new Promise((r) => setTimeout(r, 5000));
  await Promise.all(ws.map((w) => w.stop()));
  const delay = await settledCgroupValue('runqueue', cg);
  assert.ok(delay > 1e9, `four burners on two CPUs waited seconds for a CPU: ${delay} ns`);
  const throttle = await signals('throttle');
  assert.equal(throttle.top.filter((e) => e.cgroup === cg.path && e.value > 0).length, 0, 'no throttling in a cgroup without a quota');
});

/** Waits until `cg` went 500 ms without being throttled (what runs in it went quiet). */
async function untilNotThrottled(cg: CpuCgroup): Promise<void> {
  let last = cg.cpuStat().throttledNs;
  for (const deadline = Date.now() + 30_000; Date.now() < deadline;) {
    await new Promise((r) => setTimeout(r, 500));
    const now = cg.cpuStat().throttledNs;
    if (now === last) return;
    last = now;
  }
  throw new Error(`${cg.path} is still throttled after 30 s`);
}

/** One GET, timed from before the request is written to after the response is read; cpu.stat read around it. */
function throttledGet(port: number, path: string, cg: CpuCgroup): Promise<{ status: number; kernelThrottledNs: number }> {
  const httpAgent = new Agent({ keepAlive: false });
  return new Promise((resolve, reject) => {
    const before = cg.cpuStat().throttledNs;
    const req = request({ host: '127.0.0.1', port, path, agent: httpAgent }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, kernelThrottledNs: cg.cpuStat().throttledNs - before }));
    });
    req.on('error', reject);
    req.end();
  });
}

test(
  'per span: a /slow request served while its process is throttled has its throttled time in its breakdown',
  { timeout: TIMEOUT },
  async (t) => {
    const cg = cgroup({ quotaUs: 20_000 });
    const node = [process.execPath, join(workloadsDir, 'http_server.js'), '0'];
    const w = await startWorkload('http_server', ['0'], { command: cg.wrap(node), env: { OTEL_SERVICE_NAME: 'e2e-throttled' } });
    workloads.push(w);
    let port = 0;
    for (const deadline = Date.now() + 10_000; port === 0 && Date.now() < deadline; await new Promise((r) => setTimeout(r, 50))) {
      port = Number(/listening (\d+)/.exec(w.output())?.[1] ?? 0);
    }
    assert.ok(port > 0, `http_server said its port: ${w.output()}`);
    // Node's start-up uses more than the quota: the kernel's count must cover the request alone.
    await untilNotThrottled(cg);
    const sent = await throttledGet(port, '/slow', cg);
    assert.equal(sent.status, 200);
    // /slow burns for 200 ms of wall time: under a 20% quota, about 40 ms of it on the CPU.
    assert.ok(sent.kernelThrottledNs > 80e6, `the kernel throttled the request's process: ${sent.kernelThrottledNs} ns`);

    const q = new URLSearchParams({ query: '{service="e2e-throttled"}', name: 'GET /slow', from: 'now-15m', until: 'now+1m' });
    let span: TraceResponse['spans'][number] | undefined;
    for (
      const deadline = Date.now() + 60_000;
      span?.breakdown === undefined && Date.now() < deadline;
      await new Promise((r) => setTimeout(r, 500))
    ) {
      const list = await getJson<TracesResponse>(`/api/v1/traces?${q.toString()}`);
      const s = list.spans.find((x) => x.kind === 'server');
      if (s !== undefined) span = (await getJson<TraceResponse>(`/api/v1/traces/${s.traceId}`)).spans.find((x) => x.spanId === s.spanId);
    }
    assert.ok(span?.breakdown !== undefined, `the /slow span arrived with a breakdown: ${JSON.stringify(span)}`);
    throttledSpan = { traceId: span.traceId, spanId: span.spanId };
    const b = span.breakdown;
    const ratio = b.throttledNs / sent.kernelThrottledNs;
    t.diagnostic(
      `span ${span.spanId}: ${JSON.stringify(b)}, duration ${span.durationNs} ns; kernel throttled ${sent.kernelThrottledNs} ns; ratio ${ratio.toFixed(3)}`,
    );
    assert.ok(
      Math.abs(ratio - 1) <= 0.2,
      `throttled time in the breakdown / cpu.stat during the request = ${ratio.toFixed(3)}, within 20%`,
    );
    const parts = b.onCpuNs + b.runQueueNs + b.throttledNs + b.offCpuNs;
    assert.ok(
      Math.abs(parts - span.durationNs) <= 0.05 * span.durationNs,
      `the parts (${parts} ns) add up to the duration (${span.durationNs} ns)`,
    );
    assert.ok(b.onCpuNs > 20e6, `the burn ran on the CPU between throttled periods: ${b.onCpuNs} ns`);
  },
);

test(
  'retransmits: a bulk transfer over a link that drops 10%: segments per connection match TcpRetransSegs within 10%, owned by the sender',
  { timeout: TIMEOUT },
  async (t) => {
    const link = new NetnsLink({ dropProbability: 0.1 });
    t.after(() => link.close());
    const cg = cgroup();
    const before = link.retransSegs(link.sender);
    const transfer = await link.bulkTransfer({ bytes: 32 << 20, wrap: (command) => cg.wrap(command) });
    await transfer.done;
    const kernelSegments = link.retransSegs(link.sender) - before;
    assert.ok(kernelSegments > 50, `the 10% drop made the sender retransmit (TcpRetransSegs +${kernelSegments})`);

    const { tuple } = transfer;
    const ours = (res: SignalsResponse) =>
      res.top.filter(
        (e) =>
          e.connection?.localAddress === tuple.localAddr &&
          e.connection.localPort === tuple.localPort &&
          e.connection.remoteAddress === tuple.remoteAddr &&
          e.connection.remotePort === tuple.remotePort,
      );
    let entries: SignalsResponse['top'] = [];
    let last = -1;
    for (const deadline = Date.now() + 60_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 3000))) {
      entries = ours(await signals('retransmit'));
      const segments = entries.reduce((a, e) => a + e.value, 0);
      if (segments > 0 && segments === last) break;
      last = segments;
    }
    const segments = entries.reduce((a, e) => a + e.value, 0);
    const ratio = segments / kernelSegments;
    t.diagnostic(`retransmitted segments: kiln ${segments}, TcpRetransSegs +${kernelSegments}, ratio ${ratio.toFixed(3)}`);
    assert.ok(Math.abs(ratio - 1) <= 0.1, `kiln/TcpRetransSegs = ${ratio.toFixed(3)}, within 10%`);
    for (const e of entries) {
      assert.equal(e.connection?.pid, transfer.pid, 'owned by the sending process');
      assert.equal(e.cgroup, cg.path, "in the sender's cgroup");
    }
  },
);

test('in the browser: what the agent measured, on the explore page and in the throttled span', { timeout: TIMEOUT }, async () => {
  assert.ok(throttledSpan !== undefined, 'the per-span test ran first and found its span');
  const browser = await launchBrowser();
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1100 } });
    const { problems } = watchPage(page);
    await page.goto(`${server.url}/explore?query=${encodeURIComponent('{}')}&from=now-15m&until=now`);
    for (const kind of ['throttle', 'runqueue', 'retransmit']) {
      const total = page.locator(`[data-testid=signal-${kind}] [data-testid=signal-total]`);
      await total.waitFor({ timeout: 30_000 });
      const value = Number(await page.locator(`[data-testid=signal-${kind}]`).getAttribute('data-total'));
      assert.ok(value > 0, `the ${kind} timeline shows what the agent sent: ${value}`);
    }
    await page.screenshot({ path: artifactPath('signals-agent-explore.png'), fullPage: true });

    await page.goto(`${server.url}/traces/trace?id=${throttledSpan.traceId}&span=${throttledSpan.spanId}`);
    const throttled = page.locator('[data-testid=span-breakdown] [data-testid=breakdown-segment][data-part=throttled]');
    await throttled.waitFor({ timeout: 30_000 });
    assert.ok(Number(await throttled.getAttribute('data-ns')) > 80e6, 'the bar shows the throttled time');
    await page.screenshot({ path: artifactPath('signals-agent-span.png'), fullPage: true });
    assert.deepEqual(problems, [], 'the pages reported errors');
  } finally {
    await browser.close();
  }
});

test(
  '--no-signals: the agent loads neither probe; with them, it stops on SIGTERM saying what they counted',
  { timeout: TIMEOUT },
  async () => {
    const off = runKiln([
      'agent',
      '--server',
      server.url,
      '--no-signals',
      '--duration',
      '3s',
      '--metrics-port',
      '0',
      '--log-format',
      'json',
    ]);
    assert.equal(await off.exited, 0, off.output().slice(-3000));
    assert.ok(off.output().includes('agent started'), off.output().slice(-3000));
    assert.ok(!off.output().includes('kernel signal capture started'), 'no signal capture with --no-signals');
    const offLine = off
      .output()
      .split('\n')
      .find((l) => l.includes('agent stopped'));
    assert.ok(offLine !== undefined, off.output().slice(-3000));
    assert.equal((JSON.parse(offLine) as { signals?: unknown }).signals, undefined, `no signal counts in: ${offLine}`);

    assert.ok(agent.output().includes('kernel signal capture started'), 'the default agent captures signals');
    const code = await agent.stop(30_000);
    assert.equal(code, 0, agent.output().slice(-3000));
    const line = agent
      .output()
      .split('\n')
      .find((l) => l.includes('agent stopped'));
    assert.ok(line !== undefined, agent.output().slice(-3000));
    const stopped = JSON.parse(line) as { signals?: { kernel: { switches: number } } };
    assert.ok((stopped.signals?.kernel.switches ?? 0) > 0, `the last line counts what the probes saw: ${line}`);
  },
);
