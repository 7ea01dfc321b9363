import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { stripVTControlCharacters } from 'node:util';
import { test } from 'node:test';
import { freePort, kilnBin, repoRoot, runKiln, startServer, tempDir, waitForOk, type KilnProcess } from './lib/kiln.js';
import { eventually, ingest } from './lib/server-api.js';

for (const command of ['up', 'server', 'doctor']) {
  test(`kiln ${command} --help lists its options with their environment variables`, async () => {
    const kiln = runKiln([command, '--help']);
    assert.equal(await kiln.exited, 0);
    assert.match(kiln.output(), new RegExp(`Usage: kiln ${command}`));
    for (const m of kiln.output().matchAll(/^ {2}--([a-z-]+)/gm)) {
      if (m[1] !== 'help') assert.match(kiln.output(), new RegExp(`KILN_${m[1]!.replace(/-/g, '_').toUpperCase()}`));
    }
  });
}

test('kiln --help lists the commands', async () => {
  const kiln = runKiln(['--help']);
  assert.equal(await kiln.exited, 0);
  for (const c of ['up', 'server', 'doctor']) assert.match(kiln.output(), new RegExp(`^  ${c} `, 'm'));
});

test('unknown commands and bad flags exit 2 with a clear message', async () => {
  const unknown = runKiln(['frobnicate']);
  assert.equal(await unknown.exited, 2);
  assert.match(unknown.output(), /unknown command "frobnicate"/);

  const badFlag = runKiln(['server', '--no-such-flag']);
  assert.equal(await badFlag.exited, 2);
  assert.match(badFlag.output(), /no-such-flag/);

  const badPort = runKiln(['server', '--port', 'eighty']);
  assert.equal(await badPort.exited, 2);
  assert.match(badPort.output(), /--port must be an integer/);

  const badServer = runKiln(['agent', '--server', 'localhost:4040', '--duration', '1s']);
  assert.notEqual(await badServer.exited, 0);
  assert.match(badServer.output(), /--server must be an http:\/\/ or https:\/\/ URL, got "localhost:4040"/);

  const badEnv = runKiln(['server'], { KILN_RETENTION: 'forever' });
  assert.equal(await badEnv.exited, 2);
  assert.match(badEnv.output(), /--retention: invalid duration "forever"/);
});

const shellQuote = (arg: string) => `'${arg.replace(/'/g, `'\\''`)}'`;

/**
 * Runs `kiln <args>` with a pseudo-terminal as its stdout and stderr (util-linux `script`), as a
 * person starting it in a terminal does. Its first line is the pid of kiln itself, so that the
 * test signals kiln and not `script`, which would end the session with SIGHUP.
 */
function runKilnOnTerminal(args: string[], env: NodeJS.ProcessEnv = {}): KilnProcess {
  const command = `echo kiln-pid=$$; exec ${[process.execPath, kilnBin, ...args].map(shellQuote).join(' ')}`;
  const proc = spawn('script', ['-qfec', command, '/dev/null'], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = once(proc, 'exit').then(([code, signal]: unknown[]) => (code ?? signal ?? -1) as number | string);
  const stop = async (graceMs = 10_000) => {
    const pid = /kiln-pid=(\d+)/.exec(out)?.[1];
    if (pid !== undefined && proc.exitCode === null) process.kill(Number(pid), 'SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
    const code = await exited;
    clearTimeout(timer);
    return code;
  };
  return { proc, output: () => out, stdout: () => out, exited, stop };
}

/** The lines a terminal shows, without colours and carriage returns. */
const terminalLines = (text: string) =>
  stripVTControlCharacters(text)
    .split(/\r?\n/)
    .filter((l) => l.trim() !== '');

test('kiln server on a terminal prints readable lines, and an ingest summary instead of a line per upload', async (t) => {
  const port = await freePort();
  const kiln = runKilnOnTerminal(['server', '--port', String(port), '--data', tempDir()]);
  t.after(() => kiln.stop());
  const url = `http://127.0.0.1:${port}`;
  await waitForOk(`${url}/readyz`, kiln);
  for (let i = 0; i < 2; i++) assert.equal((await ingest(url, { name: 'checkout', format: 'folded' }, 'main;work 3\n')).status, 200);
  assert.equal((await ingest(url, { name: 'checkout', format: 'folded' }, '')).status, 400);
  assert.equal(await kiln.stop(), 0, kiln.output());

  const lines = terminalLines(kiln.output()).filter((l) => !l.startsWith('kiln-pid='));
  const shown = lines.join('\n');
  for (const line of lines) assert.doesNotMatch(line, /^\s*\{/, `no JSON on a terminal:\n${shown}`);
  assert.match(shown, new RegExp(`^\\d\\d:\\d\\d:\\d\\d\\.\\d{3} INFO +kiln server ready url=http://localhost:${port}$`, 'm'));
  assert.match(
    shown,
    /^\S+ INFO +request completed .*method=POST url="\/ingest\?[^"]*" statusCode=400/m,
    'a refused upload is still shown',
  );
  assert.doesNotMatch(shown, /statusCode=200/, 'uploads that went well are debug lines');
  // Logged when the server closes (the last part of a minute), so a graceful shutdown shows it.
  assert.match(shown, /^\S+ INFO +ingest summary profiles=2 samples=2 clients=1 rejected=1 errors=0 seconds=\d+$/m, shown);
  assert.match(shown, /^\S+ INFO +shutting down signal=SIGTERM$/m);
});

test('kiln up on a terminal prints readable lines for the server and the agent, through to a graceful stop', async (t) => {
  assert.equal(process.getuid?.(), 0, 'kiln up starts the BPF agent and must run as root');
  const port = await freePort();
  const kiln = runKilnOnTerminal(['up', '--port', String(port), '--data', tempDir(), '--metrics-port', String(await freePort())]);
  t.after(() => kiln.stop());
  await waitForOk(`http://127.0.0.1:${port}/readyz`, kiln);
  await eventually(async () => (/Kiln is up/.test(kiln.output()) ? true : undefined), 60_000, 'the banner');
  assert.equal(await kiln.stop(), 0, kiln.output());

  const lines = terminalLines(kiln.output()).filter((l) => !l.startsWith('kiln-pid='));
  const shown = lines.join('\n');
  for (const line of lines) assert.doesNotMatch(line, /^\s*\{/, `no JSON on a terminal:\n${shown}`);
  assert.match(shown, /^\d\d:\d\d:\d\d\.\d{3} INFO +agent: agent started frequency=19 /m, shown);
  assert.match(shown, new RegExp(`^Kiln is up: open http://localhost:${port}$`, 'm'));
  assert.match(shown, /^\S+ INFO +agent: agent stopped /m, "the agent's last line is printed before exit");
});

test('kiln server logs one JSON object a line when stdout is not a terminal, or on a terminal with KILN_LOG_FORMAT=json', async (t) => {
  const piped = await startServer();
  t.after(() => piped.stop());
  assert.equal((await ingest(piped.url, { name: 'checkout', format: 'folded' }, 'main;work 3\n')).status, 200);
  assert.equal(await piped.stop(), 0, piped.output());
  const records = piped
    .stdout()
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as { msg?: string; profiles?: number; clients?: number });
  assert.ok(records.some((r) => r.msg === 'kiln server ready'));
  assert.deepEqual(
    records.filter((r) => r.msg === 'ingest summary').map((r) => [r.profiles, r.clients]),
    [[1, 1]],
  );

  const port = await freePort();
  const onTerminal = runKilnOnTerminal(['server', '--port', String(port), '--data', tempDir()], { KILN_LOG_FORMAT: 'json' });
  t.after(() => onTerminal.stop());
  await waitForOk(`http://127.0.0.1:${port}/readyz`, onTerminal);
  assert.equal(await onTerminal.stop(), 0, onTerminal.output());
  const lines = terminalLines(onTerminal.output()).filter((l) => !l.startsWith('kiln-pid='));
  assert.ok(lines.length > 0);
  for (const line of lines) assert.doesNotThrow(() => JSON.parse(line), `a JSON line: ${line}`);
});

test('a --log-format or --log-level outside their choices is a usage error', async () => {
  const format = runKiln(['server', '--log-format', 'xml']);
  assert.equal(await format.exited, 2);
  assert.match(format.output(), /--log-format must be one of pretty, json, got "xml"/);
  const level = runKiln(['agent', '--output', '/dev/null'], { KILN_LOG_LEVEL: 'verbose' });
  assert.equal(await level.exited, 2);
  assert.match(level.output(), /--log-level must be one of trace, debug, info, warn, error, fatal, silent, got "verbose"/);
});
