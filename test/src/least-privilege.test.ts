// Least privilege, proven: a real `kiln agent` runs as root with exactly the capabilities the chart
// grants it (helm/kiln/values.yaml, agent.capabilities) and nothing else, bounding set included, and
// still does its whole job beside a real `kiln server`: it profiles and symbolizes another user's
// process whose binary only that user can read and which was deleted after it started, captures the
// spans of an HTTP request, and measures CPU throttling and run-queue delay. The same set cannot
// mount a filesystem, which CAP_SYS_ADMIN would allow.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, copyFileSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { FlamegraphResponse, SignalsResponse, TracesResponse } from '@kiln/api/http';
import {
  capabilityMask,
  capabilityNames,
  chartAgentCapabilities,
  processCapabilities,
  requireSetpriv,
  setprivArgv,
} from './lib/capabilities.js';
import { CpuCgroup } from './lib/cpu-cgroup.js';
import { freePort, kilnBin, repoRoot, startServer, tempDir, type KilnServer } from './lib/kiln.js';
import { flameNodes, getJson } from './lib/server-api.js';
import { buildWorkloads, startWorkload, workloadPath, workloadsDir, type Workload } from './lib/workloads.js';

const TIMEOUT = 300_000;
const NOBODY = 65534;
const capabilities = chartAgentCapabilities(readFileSync(join(repoRoot, 'helm/kiln/values.yaml'), 'utf8'));
let server: KilnServer;
let agent: { pid: number; output(): string; stop(): Promise<void> };
const workloads: Workload[] = [];
const cgroups: CpuCgroup[] = [];

/** `kiln agent` under setpriv with only `capabilities`; setpriv execs node, so the child's pid is the agent's. */
function startAgent(args: string[]): typeof agent {
  const argv = [...setprivArgv(capabilities), process.execPath, kilnBin, 'agent', ...args];
  const proc = spawn(argv[0]!, argv.slice(1), { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((res) => proc.on('exit', () => res()));
  return {
    pid: proc.pid!,
    output: () => out,
    stop: async () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      await exited;
    },
  };
}

before(async () => {
  if (process.getuid?.() !== 0) throw new Error('the least-privilege test drops capabilities from root: run it as root');
  requireSetpriv();
  buildWorkloads();
  server = await startServer();
  const metricsPort = await freePort();
  agent = startAgent(['--server', server.url, '--interval', '2s', '--metrics-port', String(metricsPort), '--log-format', 'json']);
  await eventually(
    async () => {
      const res = await fetch(`http://127.0.0.1:${metricsPort}/metrics`).catch(() => undefined);
      return res?.ok === true ? true : undefined;
    },
    60_000,
    'the agent serves /metrics',
  );
});

after(async () => {
  await Promise.all(workloads.map((w) => w.stop()));
  for (const cg of cgroups) cg.remove();
  await agent?.stop();
  await server?.stop();
});

/** Polls `probe` every 500 ms until it returns a value; fails with the agent's output after `timeoutMs`. */
async function eventually<T>(probe: () => Promise<T | undefined>, timeoutMs: number, what: string): Promise<T> {
  for (const deadline = Date.now() + timeoutMs; ; await new Promise((r) => setTimeout(r, 500))) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms; agent output:\n${agent.output()}`);
  }
}

test('the agent runs with exactly the chart capabilities: effective, permitted and bounding sets, no ambient ones', () => {
  assert.ok(!capabilities.includes('SYS_ADMIN'), `the chart does not grant SYS_ADMIN: ${capabilities.join(', ')}`);
  const want = capabilityMask(capabilities);
  const sets = processCapabilities(agent.pid);
  const show = (m: bigint): string => capabilityNames(m).join(',');
  assert.equal(show(sets.effective), show(want), 'CapEff');
  assert.equal(show(sets.permitted), show(want), 'CapPrm');
  assert.equal(show(sets.bounding), show(want), 'CapBnd: nothing else can be regained');
  assert.equal(sets.ambient, 0n, 'CapAmb');
});

test('the same set is enforced: it cannot mount a tmpfs, which root with CAP_SYS_ADMIN can here', (t) => {
  const dir = tempDir('kiln-lp-mount-');
  const denied = spawnSync(setprivArgv(capabilities)[0]!, [...setprivArgv(capabilities).slice(1), 'mount', '-t', 'tmpfs', 'none', dir], {
    encoding: 'utf8',
  });
  assert.notEqual(denied.status, 0, `mount with the chart's capabilities failed: ${denied.stderr}`);
  t.diagnostic(`mount with the chart's capabilities: ${denied.stderr.trim()}`);
  const allowed = spawnSync('mount', ['-t', 'tmpfs', 'none', dir], { encoding: 'utf8' });
  assert.equal(allowed.status, 0, `the same mount as full root works, so the failure is the missing capability: ${allowed.stderr}`);
  spawnSync('umount', [dir]);
});

test(
  "profiles another user's process from a binary only that user can read, deleted after it started, with its functions symbolized",
  { timeout: TIMEOUT },
  async () => {
    const dir = tempDir('kiln-lp-nobody-');
    const exe = join(dir, 'cpu_ratio_nobody');
    copyFileSync(workloadPath('cpu_ratio'), exe);
    chownSync(dir, NOBODY, NOBODY);
    chownSync(exe, NOBODY, NOBODY);
    chmodSync(dir, 0o700);
    chmodSync(exe, 0o700);
    const started = Math.floor(Date.now() / 1000) - 1;
    const w = await startWorkload('cpu_ratio', [], {
      command: ['setpriv', `--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', exe, '120', '1'],
    });
    workloads.push(w);
    // Only /proc/<pid>/map_files still names the binary now.
    rmSync(exe);
    const names = await eventually(
      async () => {
        const fb = await getJson<FlamegraphResponse>(server.url, '/api/v1/flamegraph', {
          query: `{pid="${w.pid}"}`,
          from: started,
          until: 'now',
        });
        if (fb.status !== 200) return undefined;
        const found = new Set(flameNodes(fb.body).map((n) => n.name));
        return found.has('burn_hot') && found.has('burn_cold') ? found : undefined;
      },
      60_000,
      `burn_hot and burn_cold of pid ${w.pid} in /api/v1/flamegraph`,
    );
    assert.ok(names.has('main'), 'the stacks reach main');
    assert.doesNotMatch(agent.output(), /kallsyms-restricted/, 'kernel symbols are readable (CAP_SYSLOG)');
  },
);

test('captures the span of an HTTP request to a Node service', { timeout: TIMEOUT }, async () => {
  const w = await startWorkload('http_server', ['0'], {
    command: [process.execPath, join(workloadsDir, 'http_server.js'), '0'],
    env: { OTEL_SERVICE_NAME: 'least-privilege-http' },
  });
  workloads.push(w);
  const port = await eventually(async () => Number(/listening (\d+)/.exec(w.output())?.[1] ?? 0) || undefined, 10_000, 'http_server port');
  const res = await fetch(`http://127.0.0.1:${port}/slow`);
  assert.equal(res.status, 200);
  await res.text();
  const q = new URLSearchParams({ query: '{service="least-privilege-http"}', name: 'GET /slow', from: 'now-15m', until: 'now+1m' });
  const span = await eventually(
    async () => {
      const list = await getJson<TracesResponse>(server.url, `/api/v1/traces?${q.toString()}`);
      return list.status === 200 ? list.body.spans.find((s) => s.kind === 'server') : undefined;
    },
    60_000,
    'the GET /slow server span in /api/v1/traces',
  );
  assert.ok(span.durationNs >= 150e6, `the span covers the 200 ms burn: ${span.durationNs} ns`);
});

test('measures the throttling of a quota-limited burner and run-queue delay', { timeout: TIMEOUT }, async () => {
  const cg = new CpuCgroup({ quotaUs: 10_000 });
  cgroups.push(cg);
  const w = await startWorkload('burner', [], { command: cg.wrap(['sh', '-c', 'echo $$; while :; do :; done']) });
  workloads.push(w);
  const signals = async (kind: string): Promise<SignalsResponse | undefined> => {
    const res = await getJson<SignalsResponse>(server.url, '/api/v1/signals', { kind, from: 'now-15m', until: 'now+1m', top: 100 });
    return res.status === 200 ? res.body : undefined;
  };
  const throttled = await eventually(
    async () => {
      const value = (await signals('throttle'))?.top.filter((e) => e.cgroup === cg.path).reduce((a, e) => a + e.value, 0) ?? 0;
      return value > 0 ? value : undefined;
    },
    60_000,
    `throttled time of ${cg.path} in /api/v1/signals`,
  );
  assert.ok(throttled > 0);
  const runQueue = await eventually(
    async () => {
      const total = (await signals('runqueue'))?.total ?? 0;
      return total > 0 ? total : undefined;
    },
    60_000,
    'run-queue delay in /api/v1/signals',
  );
  assert.ok(runQueue > 0);
});
