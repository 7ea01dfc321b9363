// Process identity comes from the kernel: a program whose processes exit before the agent reads
// /proc is still one service named after it (never `pid-N`), and kernel threads are one service,
// `kernel`, with the thread's name in `comm`. Runs the real agent (root, real BPF).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { runKiln, tempDir, type KilnProcess } from './lib/kiln.js';
import { readPprof, valueIndex, type PSample } from './lib/pprof.js';
import { buildWorkloads, workloadPath } from './lib/workloads.js';

const PROCESSES = 500;
/** Each one burns this long and exits: gone well before the agent reads /proc (~250 ms after its first sample). */
const BURN_SECONDS = '0.02';
const FREQUENCY = 999;

interface Written {
  samples: number;
  stats: { samples: number; countsFull: number; eventsLost: number };
}

test(`${PROCESSES} short-lived processes of one program are one service named after it; kernel threads are the service kernel`, async () => {
  assert.equal(process.getuid?.(), 0, 'this test loads BPF programs and must run as root');
  buildWorkloads();
  const out = `${tempDir()}/identity.pb.gz`;
  // --include-idle: the idle task (pid 0) is a kernel thread sampled whenever a CPU has nothing to do.
  const agent = runKiln([
    'agent',
    '--output',
    out,
    '--interval',
    '1s',
    '--frequency',
    String(FREQUENCY),
    '--include-idle',
    '--metrics-port',
    '0',
  ]);
  try {
    await untilLogged(agent, 'agent started');
    const lifetimes = await runOneAfterAnother(PROCESSES, workloadPath('short_lived'), [BURN_SECONDS]);
    const sorted = lifetimes.map((l) => l.ms).sort((a, b) => a - b);
    console.log(
      `${PROCESSES} processes: lifetime median ${sorted[sorted.length >> 1]!.toFixed(0)} ms, max ${sorted.at(-1)!.toFixed(0)} ms (spawn to exit, as the test saw it)`,
    );
    assert.equal(await agent.stop(60_000), 0, agent.output());
    const written = loggedJson<Written>(agent, 'profile written');

    const profile = await readPprof(out);
    const count = valueIndex(profile, 'samples');
    const samplesOf = (filter: (s: PSample) => boolean) => profile.samples.filter(filter).reduce((n, s) => n + (s.values[count] ?? 0), 0);
    const services = new Map<string, number>();
    for (const s of profile.samples)
      services.set(s.labels.service ?? '', (services.get(s.labels.service ?? '') ?? 0) + (s.values[count] ?? 0));
    console.log(`services (samples): ${[...services].map(([name, n]) => `${name} (${n})`).join(', ')}`);

    // Every sample is counted: the kernel's count less what did not fit its map.
    assert.equal(
      samplesOf(() => true),
      written.stats.samples - written.stats.countsFull,
    );
    assert.equal(
      samplesOf(() => true),
      written.samples,
    );

    assert.deepEqual(
      [...services.keys()].filter((name) => /^pid-\d+$/.test(name)),
      [],
      'no service is named after a process',
    );
    // A process is unknown only when its event was lost (a full ring buffer).
    if (written.stats.eventsLost === 0) assert.equal(services.get('unknown') ?? 0, 0, 'every process was named');

    // The spawned processes, by pid: after their exec they are short_lived, whatever the agent could read of them.
    const spawned = new Set(lifetimes.map((l) => String(l.pid)));
    const ours = profile.samples.filter((s) => spawned.has(s.labels.pid ?? ''));
    const sampledPids = new Set(ours.map((s) => s.labels.pid));
    const executed = ours.filter((s) => s.labels.comm === 'short_lived');
    // Named by the kernel's event alone: /proc gave no executable (an empty label is left out) because the process was gone.
    const goneBeforeRead = new Set(executed.filter((s) => s.labels.exe === undefined).map((s) => s.labels.pid));
    const ourServices = new Set(ours.map((s) => s.labels.service));
    console.log(
      `${sampledPids.size} of ${PROCESSES} processes sampled, ${goneBeforeRead.size} named by the kernel after they exited; their services: ${[...ourServices].join(', ')}`,
    );
    assert.ok(sampledPids.size >= PROCESSES / 2, `most of the ${PROCESSES} busy processes were sampled (${sampledPids.size})`);
    assert.ok(goneBeforeRead.size > 0, 'some processes exited before the agent could read /proc');
    assert.deepEqual(new Set(executed.map((s) => s.labels.service)), new Set(['short_lived']), 'one service, named after the program');
    // Before its exec a spawned process is a copy of this test's process, named as it is.
    const parent = readFileSync('/proc/self/comm', 'utf8').trim();
    for (const s of ours) {
      if (s.labels.comm !== 'short_lived')
        assert.equal(s.labels.comm, parent, `a spawned process before its exec: ${JSON.stringify(s.labels)}`);
    }
    assert.ok(ourServices.size <= 2, `services of ${sampledPids.size} processes: ${[...ourServices].join(', ')}`);

    // Kernel threads, told apart by the kernel's own flag in /proc (those still running) and the idle task (pid 0).
    const kernelPids = new Set(profile.samples.map((s) => s.labels.pid ?? '').filter((pid) => pid === '0' || isKernelThread(pid)));
    const threads = profile.samples.filter((s) => kernelPids.has(s.labels.pid ?? ''));
    console.log(
      `kernel threads sampled: ${kernelPids.size} (${samplesOf((s) => kernelPids.has(s.labels.pid ?? ''))} samples), e.g. ${[...new Set(threads.map((s) => s.labels.comm))].slice(0, 8).join(', ')}`,
    );
    assert.ok(threads.length > 0, 'kernel threads or the idle task were sampled');
    for (const s of threads) {
      assert.equal(s.labels.service, 'kernel', `a kernel thread: ${JSON.stringify(s.labels)}`);
      assert.notEqual(s.labels.comm ?? '', '', 'the thread keeps its name');
      if (s.labels.pid === '0') assert.match(s.labels.comm ?? '', /^swapper\/\d+$/);
    }
    const kernelService = profile.samples.filter((s) => s.labels.service === 'kernel');
    assert.ok(
      kernelService.every((s) => kernelPids.has(s.labels.pid ?? '') || readStat(s.labels.pid ?? '') === undefined),
      'only kernel threads (or threads gone since) are under kernel',
    );
  } finally {
    await agent.stop();
  }
});

/** Runs `count` processes of `program`, one at a time; their pids and lifetimes. */
async function runOneAfterAnother(count: number, program: string, args: string[]): Promise<Array<{ pid: number; ms: number }>> {
  const out: Array<{ pid: number; ms: number }> = [];
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    const child = spawn(program, args, { stdio: 'ignore' });
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', resolve);
    });
    assert.equal(code, 0);
    out.push({ pid: child.pid!, ms: performance.now() - started });
  }
  return out;
}

/** Waits until the process logged a JSON line with this msg (or fails when it exits first). */
async function untilLogged(kiln: KilnProcess, msg: string, timeoutMs = 60_000): Promise<void> {
  let ended = false;
  void kiln.exited.then(() => (ended = true));
  const deadline = Date.now() + timeoutMs;
  while (!kiln.output().includes(`"msg":"${msg}"`)) {
    if (ended) throw new Error(`kiln exited before logging "${msg}":\n${kiln.output()}`);
    if (Date.now() > deadline) throw new Error(`no "${msg}" within ${timeoutMs} ms:\n${kiln.output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function loggedJson<T>(kiln: KilnProcess, msg: string): T {
  const line = kiln
    .output()
    .split('\n')
    .find((l) => l.includes(`"msg":"${msg}"`));
  assert.ok(line, `the agent logs "${msg}":\n${kiln.output()}`);
  return JSON.parse(line) as T;
}

function readStat(pid: string): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
}

/** PF_KTHREAD in the flags of /proc/<pid>/stat (the 9th field, counted past the comm's closing parenthesis). */
function isKernelThread(pid: string): boolean {
  const stat = readStat(pid);
  if (stat === undefined) return false;
  const flags = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[6]);
  return (flags & 0x00200000) !== 0;
}
