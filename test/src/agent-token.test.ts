// The ingest token through the chart's wiring: the chart (token mode) renders a Secret, mounts it
// into the server and the agent and names the file in KILN_AUTH_TOKEN_FILE. Here the same env and
// file layout feed a real `kiln server` and real agents: without the token, with a wrong one, and
// with the right one, the agent's uploads get 401, 401 and 2xx.
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { renderChart, type Manifest } from './lib/helm.js';
import { runKiln, startServer, tempDir, type KilnServer } from './lib/kiln.js';

const TOKEN = 'chart-token-7f3a';
const TIMEOUT = 120_000;

interface Container {
  name: string;
  env?: { name: string; value?: string }[];
}

/** KILN_AUTH_TOKEN_FILE as the chart sets it for the container `name` of `kind`. */
function tokenFileEnv(manifests: Manifest[], kind: string): string {
  const workload = manifests.find((m) => m.kind === kind) as { spec: { template: { spec: { containers: Container[] } } } } | undefined;
  assert.ok(workload, `the chart renders a ${kind}`);
  const value = workload.spec.template.spec.containers.flatMap((c) => c.env ?? []).find((e) => e.name === 'KILN_AUTH_TOKEN_FILE')?.value;
  assert.ok(value?.startsWith('/') === true, `${kind} is given the token file: ${value}`);
  return value;
}

let root: string;
let server: KilnServer;
let agentFile: string;

before(async () => {
  if (process.getuid?.() !== 0) throw new Error('the agent loads BPF programs: run this test as root');
  const manifests = renderChart({ auth: { token: TOKEN } });
  const serverFile = tokenFileEnv(manifests, 'StatefulSet');
  agentFile = tokenFileEnv(manifests, 'DaemonSet');
  // The Secret's mount, laid out under a temporary root, as the kubelet would project it.
  root = tempDir('kiln-token-');
  for (const f of new Set([serverFile, agentFile])) {
    mkdirSync(join(root, f, '..'), { recursive: true });
    writeFileSync(join(root, f), `${TOKEN}\n`);
  }
  server = await startServer({ env: { KILN_AUTH_TOKEN_FILE: join(root, serverFile) } });
});

after(async () => {
  await server?.stop();
  rmSync(root, { recursive: true, force: true });
});

interface Stopped {
  pushed: { sent: number; rejected: number };
}

/** An agent run of a few seconds with this env; its last line says what the server took and refused. */
async function agentRun(env: NodeJS.ProcessEnv): Promise<{ stopped: Stopped; output: string }> {
  const agent = runKiln(
    [
      'agent',
      '--server',
      server.url,
      '--interval',
      '1s',
      '--duration',
      '4s',
      '--frequency',
      '99',
      '--metrics-port',
      '0',
      '--no-spans',
      '--no-signals',
    ],
    env,
  );
  assert.equal(await agent.exited, 0, agent.output().slice(-3000));
  const line = agent
    .output()
    .split('\n')
    .find((l) => l.includes('agent stopped'));
  assert.ok(line !== undefined, agent.output().slice(-3000));
  return { stopped: JSON.parse(line) as Stopped, output: agent.output() };
}

test('agent uploads without the token, with a wrong one and with the right one: 401, 401, 2xx', { timeout: TIMEOUT }, async () => {
  const none = await agentRun({});
  assert.equal(none.stopped.pushed.sent, 0, 'nothing taken without a token');
  assert.ok(none.stopped.pushed.rejected > 0 && none.output.includes('401'), `refused with 401: ${none.output.slice(-2000)}`);

  const wrongFile = join(root, 'wrong-token');
  writeFileSync(wrongFile, 'not-the-token\n');
  const wrong = await agentRun({ KILN_AUTH_TOKEN_FILE: wrongFile });
  assert.equal(wrong.stopped.pushed.sent, 0, 'nothing taken with a wrong token');
  assert.ok(wrong.stopped.pushed.rejected > 0 && wrong.output.includes('401'), `refused with 401: ${wrong.output.slice(-2000)}`);

  const right = await agentRun({ KILN_AUTH_TOKEN_FILE: join(root, agentFile) });
  assert.ok(right.stopped.pushed.sent > 0, `profiles taken with the chart's token file: ${JSON.stringify(right.stopped.pushed)}`);
  assert.equal(right.stopped.pushed.rejected, 0);
  const res = await fetch(`${server.url}/api/v1/series?query=${encodeURIComponent('{}')}&from=now-5m&until=now`, {
    headers: { authorization: `Bearer ${TOKEN}` },
  });
  assert.equal(res.status, 200, 'the query API answers with the token');
  const unauthorized = await fetch(`${server.url}/api/v1/series?query=${encodeURIComponent('{}')}&from=now-5m&until=now`);
  assert.equal(unauthorized.status, 401, 'and refuses without it');
});

test('a token file that cannot be read or holds no token stops the agent at start with a clear message', { timeout: TIMEOUT }, async () => {
  const empty = join(root, 'empty-token');
  writeFileSync(empty, '# nothing here\n\n');
  for (const [file, message] of [
    [join(root, 'missing'), /--auth-token-file .*missing: ENOENT/],
    [empty, /holds no token/],
  ] as const) {
    const agent = runKiln(['agent', '--server', server.url, '--duration', '2s', '--metrics-port', '0'], { KILN_AUTH_TOKEN_FILE: file });
    assert.equal(await agent.exited, 1, agent.output().slice(-2000));
    assert.match(agent.output(), message);
  }
});
