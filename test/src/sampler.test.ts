// The kernel counts every sample it takes; everything counted must reach the profile, even
// with drains every second while CPUs are busy (the alternating map generations at work).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { release } from 'node:os';
import { test } from 'node:test';
import { CpuSampler, PprofBuilder, Profiler, type ProcessEvent } from '@kiln/agent';
import { pino } from 'pino';
import { runKiln, tempDir } from './lib/kiln.js';
import { readPprof, valueIndex } from './lib/pprof.js';
import { buildWorkloads, startWorkload, stopAll } from './lib/workloads.js';

interface Written {
  samples: number;
  stats: { samples: number; countsFull: number; cpusAttached: number };
}

test('no sample is lost across drains: profile total = kernel sample count - counted losses', async () => {
  assert.equal(process.getuid?.(), 0, 'this test loads BPF programs and must run as root');
  buildWorkloads();
  const workloads = [await startWorkload('cpu_ratio', ['30']), await startWorkload('cpu_ratio', ['30'])];
  try {
    const out = `${tempDir()}/all.pb.gz`;
    // Whole host, 499 Hz, a drain every second for 6 s: drains happen while both CPUs are busy.
    const agent = runKiln(['agent', '--output', out, '--duration', '6s', '--interval', '1s', '--frequency', '499', '--metrics-port', '0']);
    assert.equal(await agent.exited, 0, agent.output());
    const line = agent
      .output()
      .split('\n')
      .find((l) => l.includes('"profile written"'));
    assert.ok(line, `the agent logs what it wrote:\n${agent.output()}`);
    const written = JSON.parse(line) as Written;
    const profile = await readPprof(out);
    const count = valueIndex(profile, 'samples');
    const total = profile.samples.reduce((sum, s) => sum + (s.values[count] ?? 0), 0);
    console.log(
      `kernel counted ${written.stats.samples} samples on ${written.stats.cpusAttached} CPUs; profile holds ${total}; lost to a full map ${written.stats.countsFull}`,
    );
    assert.ok(written.stats.samples > 2 * 499 * 4, 'two busy workloads at 499 Hz for 6 s give thousands of samples');
    assert.equal(total, written.stats.samples - written.stats.countsFull);
    assert.equal(total, written.samples);
  } finally {
    await stopAll(workloads);
  }
});

test('the sampler and the doctor load their BPF programs while the process takes a signal every 100 µs (node --cpu-prof)', async () => {
  assert.equal(process.getuid?.(), 0, 'this test loads BPF programs and must run as root');
  // The verifier gives up with EAGAIN whenever a signal is pending: unless signals are held off
  // during the load, every attempt fails under a profiler's SIGPROF.
  const dir = tempDir();
  const profiled = ['--cpu-prof', '--cpu-prof-interval', '100', '--cpu-prof-dir', dir];
  const agent = runKiln(['agent', '--output', `${dir}/out.pb.gz`, '--duration', '1s'], {}, profiled);
  assert.equal(await agent.exited, 0, agent.output());
  const doctor = runKiln(['doctor'], {}, profiled);
  assert.equal(await doctor.exited, 0, doctor.output());
  assert.match(doctor.output(), /CPU profiling: available/);
  assert.doesNotMatch(doctor.output(), /uprobes\s+NO|tp_btf\s+NO|perf events \(cpu-clock\)\s+NO/);
});

test('CPU hotplug: a CPU taken offline and brought back is counted and sampled again', async () => {
  assert.equal(process.getuid?.(), 0, 'this test takes a CPU offline and loads BPF programs: it must run as root');
  const online = '/sys/devices/system/cpu/cpu1/online';
  assert.ok(existsSync(online), `${online} is missing: this test needs a second CPU that can go offline`);
  buildWorkloads();
  const workloads = [await startWorkload('cpu_ratio', ['30']), await startWorkload('cpu_ratio', ['30'])];
  let backOnlineMs = 0;
  try {
    const agent = runKiln([
      'agent',
      '--output',
      `${tempDir()}/hotplug.pb.gz`,
      '--duration',
      '12s',
      '--interval',
      '1s',
      '--frequency',
      '99',
      '--log-level',
      'debug',
    ]);
    await new Promise((r) => setTimeout(r, 3000));
    writeFileSync(online, '0');
    await new Promise((r) => setTimeout(r, 1500));
    writeFileSync(online, '1');
    backOnlineMs = Date.now();
    assert.equal(await agent.exited, 0, agent.output());
    const lines = agent
      .output()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { msg: string; time: number; samples?: number; stats?: { cpusAttached: number; cpusLost: number } });
    const stopped = lines.find((l) => l.msg === 'agent stopped');
    assert.ok(stopped?.stats, agent.output());
    // Two busy workloads: a full one-second interval holds ~2 × 99 samples with both CPUs sampled, ~99 with one.
    const after = lines
      .filter((l) => l.msg === 'interval collected' && l.time > backOnlineMs + 2500 && (l.samples ?? 0) > 0)
      .map((l) => l.samples!);
    console.log(`samples per interval once the CPU had been back for 2.5 s: ${after.join(', ')}; stats ${JSON.stringify(stopped.stats)}`);
    assert.ok(stopped.stats.cpusLost >= 1, 'the lost sampler is counted');
    assert.equal(stopped.stats.cpusAttached, 2, 'both CPUs are sampled again');
    assert.ok(after.length >= 3, 'intervals after the CPU came back');
    assert.ok(
      after.slice(0, -1).every((n) => n > 150),
      `both CPUs are sampled again: ${after.join(', ')}`,
    );
  } finally {
    writeFileSync(online, '1');
    await stopAll(workloads);
  }
});

test('full maps: samples and stacks that do not fit their maps are counted, nothing else is lost, the sampler keeps running', () => {
  assert.equal(process.getuid?.(), 0, 'this test loads BPF programs and must run as root');
  // JavaScript at 200 recursion depths: ~200 distinct user stacks of this process.
  const burn = (depth: number): number => (depth === 0 ? busy(1) : burn(depth - 1) + 1);
  for (const [what, countsEntries, stacksEntries] of [
    ['counts', 64, 4096],
    ['stacks', 4096, 64],
  ] as const) {
    const sampler = new CpuSampler({ frequency: 999, pids: [process.pid], includeIdle: false, countsEntries, stacksEntries });
    try {
      const until = Date.now() + 2500;
      for (let d = 0; Date.now() < until; d = (d + 1) % 200) burn(d);
      const first = sampler.drain();
      burn(50);
      sampler.stop();
      const rest = [sampler.drain(), sampler.drain()];
      const stats = sampler.stats();
      const drained = [first, ...rest].reduce((sum, d) => sum + d.samples.count.reduce((a, b) => a + b, 0), 0);
      console.log(
        `${what} map of 64: kernel counted ${stats.samples} samples, ${stats.countsFull} did not fit the counts map, ${stats.stacksFull} stacks did not fit the stacks map; drained ${drained} in ${first.samples.length} + ${rest.map((d) => d.samples.length).join(' + ')} rows`,
      );
      assert.ok((what === 'counts' ? stats.countsFull : stats.stacksFull) > 0, `the ${what} map filled up and what did not fit is counted`);
      assert.ok(first.samples.length <= countsEntries && first.stacks.size <= stacksEntries);
      assert.equal(drained, stats.samples - stats.countsFull, 'every sample that fit is drained');
      // Since 6.1 the verifier lets perf_event programs use maps that allocate as they fill.
      const [major = 0, minor = 0] = release().split('.').map(Number);
      assert.equal(stats.mapsPreallocated, major < 6 || (major === 6 && minor < 1), `maps allocated on demand on kernel ${release()}`);
    } finally {
      sampler.close();
    }
  }
});

test('process events reach watchEvents() after its delay, at most once per delay, and nothing runs while none arrive', async () => {
  assert.equal(process.getuid?.(), 0, 'this test loads BPF programs and must run as root');
  // Sleeps (never sampled: no event), burns CPU (first sample: new), execs (exec), exits (exit).
  const child = spawn(
    '/bin/sh',
    [
      '-c',
      'sleep 1; i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done; exec /bin/sh -c "i=0; while [ \\$i -lt 100000 ]; do i=\\$((i+1)); done"',
    ],
    { stdio: 'ignore' },
  );
  const startedAt = performance.now();
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const sampler = new CpuSampler({ frequency: 999, pids: [child.pid!], includeIdle: false });
  const delayMs = 300;
  const calls: Array<{ at: number; events: ProcessEvent[] }> = [];
  let closedInCallback = false;
  try {
    sampler.watchEvents(() => {
      const events = sampler.events();
      calls.push({ at: performance.now() - startedAt, events });
      if (events.some((e) => e.kind === 'exit')) {
        sampler.close(); // from inside the callback: nothing may run on a closed session afterwards
        closedInCallback = true;
      }
    }, delayMs);
    await exited;
    const deadline = Date.now() + 3000;
    while (!closedInCallback && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 2 * delayMs));
    const events = calls.flatMap((c) => c.events.map((e) => `${e.kind}:${e.pid}:${e.generation}`));
    console.log(`callbacks at ${calls.map((c) => `${c.at.toFixed(0)} ms`).join(', ')}: ${events.join(' ')}`);
    assert.deepEqual(events, [`new:${child.pid}:0`, `exec:${child.pid}:1`, `exit:${child.pid}:1`]);
    // Nothing arrives while the child sleeps its first second, so nothing runs; then the first sample,
    // at 1 s or later, is delivered no sooner than the delay.
    assert.ok(calls[0]!.at >= 1000 + delayMs - 5, `first callback at ${calls[0]!.at} ms`);
    for (let i = 1; i < calls.length; i++) assert.ok(calls[i]!.at - calls[i - 1]!.at >= delayMs - 5, 'at most one callback per delay');
    assert.ok(closedInCallback);
  } finally {
    child.kill('SIGKILL');
    sampler.close();
  }
});

test('a process sampled while it exits is not made new again after its exit event (nothing would ever forget it)', async () => {
  assert.equal(process.getuid?.(), 0, 'this test loads BPF programs and must run as root');
  const sampler = new CpuSampler({ frequency: 999, pids: [], includeIdle: false });
  const exited = new Set<number>();
  const newAfterExit: number[] = [];
  const take = (): void => {
    for (const e of sampler.events()) {
      if (e.kind === 'exit') exited.add(e.pid);
      else if (e.kind === 'new' && exited.has(e.pid)) newAfterExit.push(e.pid);
    }
  };
  try {
    sampler.watchEvents(take, 50);
    // Short busy processes: at 999 Hz many are sampled after sched_process_exit has forgotten
    // them, while they finish exiting.
    for (let i = 0; i < 100; i++) {
      await new Promise((resolve) =>
        spawn('/bin/sh', ['-c', 'i=0; while [ $i -lt 3000 ]; do i=$((i+1)); done'], { stdio: 'ignore' }).once('exit', resolve),
      );
    }
    await new Promise((r) => setTimeout(r, 300));
    take();
    console.log(`${exited.size} sampled processes exited; ${newAfterExit.length} came back as new`);
    assert.ok(exited.size >= 50, `most of the 100 busy processes were sampled (${exited.size})`);
    assert.deepEqual(newAfterExit, []);
  } finally {
    sampler.close();
  }
});

test('lost process events (a full ring buffer): processes that exited are not held forever', async () => {
  assert.equal(process.getuid?.(), 0, 'this test loads BPF programs and must run as root');
  // 4 KiB hold ~170 events: hundreds of short busy processes within the 250 ms before the agent
  // reads them overflow it, and with the rest some exit events are lost.
  const profiler = new Profiler({ frequency: 999, pids: [], includeIdle: false, eventsBytes: 4096, logger: pino({ level: 'silent' }) });
  try {
    const burst = spawn('/bin/sh', ['-c', 'for n in $(seq 400); do (i=0; while [ $i -lt 2000 ]; do i=$((i+1)); done) & done; wait'], {
      stdio: 'ignore',
    });
    await new Promise((resolve) => burst.once('exit', resolve));
    await new Promise((r) => setTimeout(r, 500));
    const builder = new PprofBuilder({ frequency: 999 });
    profiler.collect(builder);
    const held = profiler.trackedPids();
    const dead = held.filter((pid) => !existsSync(`/proc/${pid}`));
    const stats = profiler.stats();
    console.log(
      `${stats.eventsLost} process events lost; ${held.length} processes held after the drain, ${dead.length} of them gone (400 short ones exited)`,
    );
    assert.ok(stats.eventsLost > 0, 'the burst overflowed the ring buffer');
    // One may exit between the agent's check of /proc and this one.
    assert.ok(dead.length <= 1, `processes held after they exited: ${dead.join(', ')}`);
  } finally {
    profiler.close();
  }
});

/** About `ms` milliseconds of CPU. */
function busy(ms: number): number {
  const end = performance.now() + ms;
  let x = 0;
  while (performance.now() < end) x++;
  return x;
}
