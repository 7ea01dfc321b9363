// `kiln up`: the all-in-one serves the probes and the UI, and runs the agent on this host.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { freePort, runKiln, tempDir, waitForOk } from './lib/kiln.js';

test('kiln up serves /healthz, /readyz and the UI, starts the agent and prints the UI URL', async (t) => {
  assert.equal(process.getuid?.(), 0, 'kiln up starts the BPF agent and must run as root');
  const port = await freePort();
  const metricsPort = await freePort();
  const kiln = runKiln(['up', '--port', String(port), '--data', tempDir(), '--metrics-port', String(metricsPort)]);
  t.after(() => kiln.stop());
  const url = `http://127.0.0.1:${port}`;
  await waitForOk(`${url}/readyz`, kiln);
  assert.equal((await fetch(`${url}/healthz`)).status, 200);
  const page = await fetch(`${url}/`);
  assert.equal(page.status, 200);
  assert.match(await page.text(), /<html/i);
  await waitForOk(`http://127.0.0.1:${metricsPort}/metrics`, kiln);
  const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  assert.match(metrics, /kiln_agent_process_resident_memory_bytes/);
  assert.match(kiln.output(), new RegExp(`Kiln is up: open http://localhost:${port}`));
  assert.equal(await kiln.stop(), 0, 'a graceful shutdown exits 0');
  // Through a pipe (not a terminal) every log line is one JSON object, for log collectors.
  const logLines = kiln
    .stdout()
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('Kiln is up'));
  assert.ok(logLines.length > 0);
  for (const line of logLines) assert.doesNotThrow(() => JSON.parse(line), `a JSON line: ${line}`);
});
