// The scheduler probe (bpf/sched.bpf.c) through the native SignalSession, against the real kernel:
// CPU burners in cgroups with and without a quota, checked against the kernel's own cpu.stat, and a
// request's off-CPU time inside its span.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { createInterface } from 'node:readline';
import { test, type TestContext } from 'node:test';
import { decodeSocketEvents, native, type NativeSpanSession, type SocketEvent } from '@kiln/agent';
import { CpuCgroup } from './lib/cpu-cgroup.js';

// @kiln/agent does not export the type: the session as the addon constructs it.
type NativeSignalSession = InstanceType<ReturnType<typeof native>['SignalSession']>;

const WAIT_RUNQUEUE = 0;
const WAIT_THROTTLED = 1;

interface CgroupWaits {
  cgroupId: bigint;
  kind: number;
  totalNs: number;
  count: number;
}

/** Records of `struct cgroup_wait_key` + `struct cgroup_wait` (bpf/sched.h). */
function decodeCgroupWaits(session: NativeSignalSession): CgroupWaits[] {
  const buf = session.drainCgroupWaits();
  const size = session.recordSizes.cgroupWait;
  assert.equal(buf.byteLength % size, 0, 'whole records');
  const view = new DataView(buf);
  const out: CgroupWaits[] = [];
  for (let o = 0; o < buf.byteLength; o += size) {
    out.push({
      cgroupId: view.getBigUint64(o, true),
      kind: view.getUint32(o + 8, true),
      totalNs: Number(view.getBigUint64(o + 16, true)),
      count: Number(view.getBigUint64(o + 24, true)),
    });
  }
  return out;
}

interface Episode {
  durationNs: number;
  cgroupId: bigint;
  kind: number;
}

/** Records of `struct sched_episode` (bpf/sched.h). */
function decodeEpisodes(session: NativeSignalSession): Episode[] {
  const buf = session.pollEpisodes();
  const size = session.recordSizes.episode;
  assert.equal(buf.byteLength % size, 0, 'whole records');
  const view = new DataView(buf);
  const out: Episode[] = [];
  for (let o = 0; o < buf.byteLength; o += size) {
    out.push({
      durationNs: Number(view.getBigUint64(o + 8, true)),
      cgroupId: view.getBigUint64(o + 16, true),
      kind: view.getUint8(o + 40),
    });
  }
  return out;
}

/** The waits of one cgroup and kind drained so far, summed. */
class WaitTotals {
  readonly #totals = new Map<string, { totalNs: number; count: number }>();
  add(waits: CgroupWaits[]): void {
    for (const w of waits) {
      const key = `${w.cgroupId}:${w.kind}`;
      const t = this.#totals.get(key) ?? { totalNs: 0, count: 0 };
      t.totalNs += w.totalNs;
      t.count += w.count;
      this.#totals.set(key, t);
    }
  }
  of(cgroupId: bigint, kind: number): { totalNs: number; count: number } {
    return this.#totals.get(`${cgroupId}:${kind}`) ?? { totalNs: 0, count: 0 };
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function requireRoot(): void {
  assert.equal(process.getuid?.(), 0, 'this test loads BPF programs and creates cgroups: it must run as root');
}

/** Runs `script` (sh) in `cgroup` until the returned function stops it. */
function startIn(cgroup: CpuCgroup, script: string): { proc: ChildProcess; stop: () => Promise<void> } {
  const [cmd, ...args] = cgroup.wrap(['sh', '-c', script]);
  // Its own process group, so that stop() ends the loops it started too.
  const proc = spawn(cmd!, args, { stdio: 'ignore', detached: true });
  return {
    proc,
    stop: async () => {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const exited = once(proc, 'exit');
      process.kill(-proc.pid!, 'SIGKILL');
      await exited;
    },
  };
}

/** Waits until the cgroup holds `count` processes (the wrapper has moved itself in and started them). */
async function waitForProcs(cgroup: CpuCgroup, count: number): Promise<void> {
  const end = Date.now() + 20_000;
  while (readFileSync(`${cgroup.dir}/cgroup.procs`, 'utf8').split('\n').filter(Boolean).length < count) {
    if (Date.now() > end) throw new Error(`${cgroup.path} never held ${count} processes`);
    await sleep(50);
  }
}

const busyLoop = 'while :; do :; done';

test('throttled time measured in BPF matches the increase of cpu.stat throttled_time', async (t: TestContext) => {
  requireRoot();
  const cgroup = new CpuCgroup({ quotaUs: 10_000, periodUs: 100_000 });
  let session: NativeSignalSession | undefined;
  let burner: ReturnType<typeof startIn> | undefined;
  try {
    session = new (native().SignalSession)({});
    t.diagnostic(`hooks: ${JSON.stringify(session.hooks())}`);
    burner = startIn(cgroup, busyLoop);
    await waitForProcs(cgroup, 1);
    // Settle into the throttle cycle before the window opens.
    const warm = Date.now() + 20_000;
    while (cgroup.cpuStat().throttledPeriods < 3) {
      if (Date.now() > warm) throw new Error('the burner was never throttled');
      await sleep(100);
    }
    decodeCgroupWaits(session);
    const before = cgroup.cpuStat();
    await sleep(10_000);
    const waits = decodeCgroupWaits(session);
    const after = cgroup.cpuStat();
    const totals = new WaitTotals();
    totals.add(waits);
    const measured = totals.of(cgroup.id, WAIT_THROTTLED).totalNs;
    const kernel = after.throttledNs - before.throttledNs;
    const ratio = measured / kernel;
    t.diagnostic(
      `throttled: BPF ${(measured / 1e6).toFixed(1)} ms in ${totals.of(cgroup.id, WAIT_THROTTLED).count} waits, ` +
        `cpu.stat ${(kernel / 1e6).toFixed(1)} ms over ${after.throttledPeriods - before.throttledPeriods} throttled periods: ratio ${ratio.toFixed(3)}`,
    );
    assert.ok(kernel > 5e9, `the kernel throttled the burner for most of the 10 s: ${kernel} ns`);
    assert.ok(ratio > 0.9 && ratio < 1.1, `BPF throttled time within ±10% of cpu.stat's: ratio ${ratio.toFixed(3)}`);
    const stats = session.stats();
    assert.equal(stats.cgroupsFull, 0);
  } finally {
    await burner?.stop();
    session?.close();
    cgroup.remove();
  }
});

test('a burner without a quota is never throttled', async () => {
  requireRoot();
  const cgroup = new CpuCgroup();
  let session: NativeSignalSession | undefined;
  let burner: ReturnType<typeof startIn> | undefined;
  try {
    session = new (native().SignalSession)({});
    burner = startIn(cgroup, busyLoop);
    await waitForProcs(cgroup, 1);
    const totals = new WaitTotals();
    const episodes: Episode[] = [];
    for (let i = 0; i < 30; i++) {
      await sleep(100);
      episodes.push(...decodeEpisodes(session));
      totals.add(decodeCgroupWaits(session));
    }
    const throttled = episodes.filter((e) => e.cgroupId === cgroup.id && e.kind === WAIT_THROTTLED);
    assert.deepEqual(throttled, [], 'no throttle episode for a cgroup without a quota');
    assert.equal(totals.of(cgroup.id, WAIT_THROTTLED).count, 0, 'no throttled wait at all');
    assert.equal(cgroup.cpuStat().throttledPeriods, 0, 'the kernel agrees');
  } finally {
    await burner?.stop();
    session?.close();
    cgroup.remove();
  }
});

test('more busy tasks than CPUs in one cgroup: run-queue delay, no throttling', async (t: TestContext) => {
  requireRoot();
  const cgroup = new CpuCgroup();
  let session: NativeSignalSession | undefined;
  let burner: ReturnType<typeof startIn> | undefined;
  try {
    session = new (native().SignalSession)({});
    // Four loops on a 2-CPU machine: each waits for the others in turn.
    burner = startIn(cgroup, `for i in 1 2 3 4; do sh -c '${busyLoop}' & done; wait`);
    await waitForProcs(cgroup, 5);
    decodeCgroupWaits(session);
    await sleep(3_000);
    const totals = new WaitTotals();
    totals.add(decodeCgroupWaits(session));
    const runqueue = totals.of(cgroup.id, WAIT_RUNQUEUE);
    t.diagnostic(`run-queue: ${(runqueue.totalNs / 1e6).toFixed(1)} ms in ${runqueue.count} waits over 3 s`);
    assert.ok(runqueue.count > 0, 'run-queue waits are reported for the cgroup');
    // Of 4 tasks sharing at most 2 CPUs for 3 s, at least 6 task-seconds are spent waiting.
    assert.ok(runqueue.totalNs > 1e9, `the waits add up to seconds: ${runqueue.totalNs} ns`);
    assert.equal(totals.of(cgroup.id, WAIT_THROTTLED).count, 0, 'no throttled wait');
  } finally {
    await burner?.stop();
    session?.close();
    cgroup.remove();
  }
});

/** Answers every request after sleeping 100 ms, then burning ~50 ms of CPU. */
const slowServer = `
const http = require('node:http');
const burn = (ms) => { const end = Date.now() + ms; let x = 0; while (Date.now() < end) x += Math.sqrt(x + 1); return x; };
const server = http.createServer((req, res) => { setTimeout(() => { burn(50); res.end('done'); }, 100); });
server.listen({ host: '127.0.0.1', port: 0 }, () => process.stdout.write(JSON.stringify({ port: server.address().port }) + '\\n'));
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
`;

function get(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/slow', agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve());
    });
    req.on('error', reject);
    req.end();
  });
}

test("a span's off-CPU time: a request that sleeps 100 ms is blocked ~100 ms", async (t: TestContext) => {
  requireRoot();
  const server = spawn(process.execPath, ['-e', slowServer], { stdio: 'pipe' });
  let spans: NativeSpanSession | undefined;
  let session: NativeSignalSession | undefined;
  try {
    const line = await createInterface({ input: server.stdout })[Symbol.asyncIterator]().next();
    assert.equal(line.done, false, 'the server started');
    const { port } = JSON.parse(line.value) as { port: number };
    spans = new (native().SpanSession)({ pids: [server.pid!] });
    session = new (native().SignalSession)({ spans });
    await get(port);
    const events: SocketEvent[] = decodeSocketEvents(spans.poll(), (reason) => {
      throw new Error(`malformed socket event: ${reason}`);
    });
    const read = events.find((e) => e.role === 'server' && e.kind === 'read' && e.requestStart && e.localPort === port);
    assert.ok(read, 'the request was captured as a span');
    const times = session.takeSpanTimes(new BigUint64Array([read.spanId]));
    const [runqueue = 0, throttled = 0, blocked = 0, switches = 0] = times;
    t.diagnostic(
      `span ${read.spanId.toString(16)}: blocked ${(blocked / 1e6).toFixed(1)} ms, run-queue ${(runqueue / 1e6).toFixed(1)} ms, ` +
        `throttled ${(throttled / 1e6).toFixed(1)} ms, ${switches} switch-ins`,
    );
    assert.ok(switches >= 1, 'the serving thread was switched in at least once inside the span');
    assert.ok(blocked > 70e6 && blocked < 130e6, `blocked ≈ 100 ms (±30%): ${blocked / 1e6} ms`);
    assert.equal(throttled, 0, 'no quota: never throttled');
    const again = session.takeSpanTimes(new BigUint64Array([read.spanId]));
    assert.deepEqual([...again], [0, 0, 0, 0], 'taking the times removes them from the kernel');
  } finally {
    session?.close();
    spans?.close();
    server.stdin.end();
  }
});
