// Acceptance tests of `kiln agent`: it profiles real processes with real BPF
// and its pprof is checked against workloads whose profile is known
// (test/workloads/) and against binutils' addr2line. Run as root; never skipped.
//
// Two agent runs keep the wall time modest:
//   A. `--pid` over cpu_ratio, cpp_workload, node_workload and syscall_heavy, 10 s at 99 Hz;
//   B. the whole host for 16 s with --metrics-port, while a short-lived process and
//      the bad inputs (replaced / truncated binaries, a process that exits at once,
//      a binary only visible in another mount namespace) come and go.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { basename, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { freePort, repoRoot, runKiln, tempDir, waitForOk, type KilnProcess } from './lib/kiln.js';
import {
  KERNEL_MAPPING,
  UNKNOWN_ADDRESS,
  UNKNOWN_FRAME,
  buildId,
  byPid,
  checkSymbols,
  frames,
  functionNames,
  functionShares,
  goPprofTop,
  readPprof,
  topRow,
  type DecodedProfile,
  type PLocation,
  type PSample,
  type SymbolCheck,
} from './lib/pprof.js';
import { buildWorkloads, startNodeWorkload, startWorkload, stopAll, workloadPath, workloadsDir, type Workload } from './lib/workloads.js';

const FREQUENCY = 99;
/** The agents' profiles and logs stay here after the run, for `go tool pprof` when a test fails. */
const artifactsDir = join(repoRoot, 'test/artifacts');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function assertRoot(): void {
  assert.equal(process.getuid?.(), 0, 'the agent tests load BPF programs and must run as root (they are never skipped)');
}

/** Waits for the agent to exit on its own (--duration), failing loudly if it hangs. */
async function agentExit(kiln: KilnProcess, limitMs: number): Promise<number | string> {
  const timer = setTimeout(() => kiln.proc.kill('SIGKILL'), limitMs);
  const code = await kiln.exited;
  clearTimeout(timer);
  return code;
}

function assertAgentOk(code: number | string, kiln: KilnProcess, out: string): void {
  mkdirSync(artifactsDir, { recursive: true });
  writeFileSync(join(artifactsDir, `${basename(out, '.pb.gz')}.log`), kiln.output());
  assert.equal(code, 0, `kiln agent must exit 0 (BPF must load; run as root):\n${kiln.output()}`);
  assert.ok(existsSync(out), `kiln agent wrote ${out}:\n${kiln.output()}`);
}

/** Sum of every series of a Prometheus metric in a text exposition. */
function metricSum(text: string, name: string): number | undefined {
  let sum: number | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (m && m[1] === name) sum = (sum ?? 0) + Number(m[3]);
  }
  return sum;
}

function samplesOf(profile: DecodedProfile, pid: number): PSample[] {
  return profile.samples.filter(byPid(pid));
}

/**
 * Every location of these samples must carry at least one named line; an unresolved
 * one is "[unknown] <binary>+0x<offset>", or "[unknown] 0x<address>" when not even the
 * mapping is known. Returns the problems found rather than throwing.
 */
function frameNaming(samples: PSample[]): { unknown: number; total: number; problems: string[] } {
  let unknown = 0;
  const problems = new Set<string>();
  const seen = new Set<PLocation>();
  for (const s of samples) {
    if (s.locations.length === 0) problems.add('a sample without any location');
    for (const loc of s.locations) {
      if (seen.has(loc)) continue;
      seen.add(loc);
      const where = `location 0x${loc.address.toString(16)} (mapping ${loc.mapping?.file || 'none'})`;
      if (loc.lines.length === 0 || loc.lines.some((l) => l.name === '')) problems.add(`${where} has no name`);
      const name = loc.lines[0]?.name ?? '';
      if (!name.startsWith('[unknown]')) continue;
      unknown++;
      const mapped = loc.mapping !== undefined && loc.mapping.file !== '';
      if (!UNKNOWN_FRAME.test(name) && !(UNKNOWN_ADDRESS.test(name) && !mapped)) {
        problems.add(`${where} is named "${name}"; unresolved frames are "[unknown] <binary>+0x<offset>"`);
      }
    }
  }
  return { unknown, total: seen.size, problems: [...problems] };
}

function assertAllFramesNamed(samples: PSample[], what: string): void {
  const r = frameNaming(samples);
  assert.deepEqual(r.problems, [], `${what}:\n${r.problems.join('\n')}`);
}

function reportSymbols(name: string, r: SymbolCheck): string {
  return `${name}: ${r.agreed}/${r.checked - r.unknown} locations agree with addr2line${r.unknown ? `, ${r.unknown} [unknown]` : ''}`;
}

/** The 1-based line range of mix_hot's definition in hot_inline.h: signature line to the closing "}". */
function mixHotLines(): { file: string; first: number; last: number } {
  const file = join(workloadsDir, 'hot_inline.h');
  const lines = readFileSync(file, 'utf8').split('\n');
  const first = lines.findIndex((l) => /\bmix_hot\(/.test(l) && l.trimEnd().endsWith('{')) + 1;
  const last = lines.findIndex((l, i) => i >= first && l === '}') + 1;
  assert.ok(first > 0 && last > first, 'hot_inline.h defines mix_hot with a body closed by a "}" line');
  return { file, first, last };
}

/** utime+stime of a whole process (all its threads), in seconds. */
function processCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / CLOCK_TICKS;
}
const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

describe('kiln agent --pid on ground-truth workloads (10 s at 99 Hz)', { timeout: 300_000 }, () => {
  let out = '';
  let profile: DecodedProfile;
  let cpu: Workload | undefined;
  let cpp: Workload | undefined;
  let node: Workload | undefined;
  let sys: Workload | undefined;
  /** cpu_ratio's CPU use while the agent ran, in cores (CPU seconds per second). */
  let cpuRatioCores = 0;

  before(async () => {
    assertRoot();
    buildWorkloads();
    mkdirSync(artifactsDir, { recursive: true });
    out = join(artifactsDir, 'agent-workloads.pb.gz');
    rmSync(out, { force: true });
    // cpu_ratio's ratio needs the most samples: it gets several threads per CPU, and the
    // other workloads (which need only a few dozen samples each) run at nice 5.
    cpu = await startWorkload('cpu_ratio', ['120', String(Math.min(64, 4 * cpus().length))]);
    cpp = await startWorkload('cpp_workload', ['120'], { nice: 5 });
    node = await startNodeWorkload(120, { nice: 5 });
    sys = await startWorkload('syscall_heavy', ['120'], { nice: 5 });
    const pids = [cpu, cpp, node, sys].flatMap((w) => ['--pid', String(w.pid)]);
    const cpu0 = processCpuSeconds(cpu.pid);
    const t0 = Date.now();
    const kiln = runKiln([
      'agent',
      '--output',
      out,
      '--duration',
      '10s',
      '--frequency',
      String(FREQUENCY),
      '--metrics-port',
      String(await freePort()),
      ...pids,
    ]);
    const code = await agentExit(kiln, 120_000);
    cpuRatioCores = (processCpuSeconds(cpu.pid) - cpu0) / ((Date.now() - t0) / 1000);
    assertAgentOk(code, kiln, out);
    profile = await readPprof(out);
  });

  after(async () => {
    await stopAll([cpu, cpp, node, sys]);
  });

  it('writes a pprof of the agreed shape: sample types, period, labels, mappings', async () => {
    assert.deepEqual(profile.sampleTypes, [
      { type: 'cpu', unit: 'nanoseconds' },
      { type: 'samples', unit: 'count' },
    ]);
    assert.deepEqual(profile.periodType, { type: 'cpu', unit: 'nanoseconds' });
    assert.ok(Math.abs(profile.period - 1e9 / FREQUENCY) <= 1, `period ${profile.period} = 1e9 / ${FREQUENCY}`);
    assert.ok(profile.samples.length > 0, 'the profile has samples');
    const ours = new Set([cpu!, cpp!, node!, sys!].map((w) => String(w.pid)));
    for (const s of profile.samples) {
      for (const key of ['service', 'version', 'node', 'pid', 'comm', 'exe']) {
        assert.ok(s.labels[key], `every sample has a string label ${key}: ${JSON.stringify(s.labels)}`);
      }
      assert.ok(ours.has(s.labels.pid!), `--pid keeps other processes out (found pid ${s.labels.pid})`);
      assert.equal(s.values[0], (s.values[1] ?? 0) * profile.period, 'cpu = samples × period');
    }
    for (const w of [cpu!, cpp!, node!, sys!]) assert.ok(samplesOf(profile, w.pid).length > 0, `pid ${w.pid} has samples`);
    assertAllFramesNamed(profile.samples, 'run A');
    for (const loc of profile.locations.values()) {
      assert.ok(loc.mapping, `location ${loc.id} has a mapping`);
      assert.ok(loc.address !== 0n, `location ${loc.id} has an address`);
    }
    assert.ok(
      [...profile.mappings.values()].some((m) => m.file === KERNEL_MAPPING),
      `kernel frames use the mapping ${KERNEL_MAPPING}`,
    );
    for (const name of ['cpu_ratio', 'cpp_workload', 'syscall_heavy']) {
      const m = [...profile.mappings.values()].find((x) => x.file.endsWith(`/bin/${name}`));
      assert.ok(m, `a mapping for ${name}`);
      assert.equal(m.buildId, await buildId(workloadPath(name)), `mapping of ${name} carries its build-id`);
    }
    assert.ok(
      samplesOf(profile, cpu!.pid).every((s) => s.labels.exe?.endsWith('cpu_ratio')),
      'exe label is the executable',
    );
  });

  it('samples account for the CPU time cpu_ratio really used (50-150%)', (t) => {
    const sampled = samplesOf(profile, cpu!.pid).reduce((acc, s) => acc + (s.values[0] ?? 0), 0) / 1e9;
    // The profile's own duration (the sampling window); the agent's --duration otherwise.
    const window = profile.durationNanos > 0 ? profile.durationNanos / 1e9 : 10;
    const expected = cpuRatioCores * window;
    t.diagnostic(
      `cpu_ratio used ${cpuRatioCores.toFixed(2)} cores; sampled ${sampled.toFixed(2)} CPU-s of ${expected.toFixed(2)} expected over ${window.toFixed(2)} s`,
    );
    // Generous bounds: the expectation is cpu_ratio's average rate over the agent's whole
    // life (start-up and the final symbolization included, when the agent competes for
    // CPU) times the profile's span. A sampler that misses half the ticks, or counts some
    // twice, is outside either way.
    assert.ok(
      sampled >= 0.5 * expected,
      `sampled CPU ${sampled.toFixed(2)} s is under half of the ${expected.toFixed(2)} s cpu_ratio used`,
    );
    assert.ok(sampled <= 1.5 * expected, `sampled CPU ${sampled.toFixed(2)} s is far above the ${expected.toFixed(2)} s cpu_ratio used`);
  });

  it('burn_hot and burn_cold get 75% and 25% (±5 points) in go tool pprof -top', async (t) => {
    const top = await goPprofTop(out, ['-sample_index=cpu']);
    const hot = topRow(top, 'burn_hot');
    const cold = topRow(top, 'burn_cold');
    assert.ok(hot && cold, `go tool pprof -top lists burn_hot and burn_cold:\n${top.raw}`);
    // cum: burn_hot's own work is in the inlined mix_hot, so flat would undercount it.
    const share = hot.cum / (hot.cum + cold.cum);
    t.diagnostic(
      `go tool pprof: burn_hot ${hot.cum / 1e9}s, burn_cold ${cold.cum / 1e9}s → ${(share * 100).toFixed(1)}% / ${((1 - share) * 100).toFixed(1)}%`,
    );
    assert.ok(Math.abs(share - 0.75) <= 0.05, `burn_hot share among the two is ${(share * 100).toFixed(1)}%, expected 75 ± 5:\n${top.raw}`);

    const own = functionShares(profile, { filter: byPid(cpu!.pid) });
    const h = own.byName.get('burn_hot')?.cum ?? 0;
    const c = own.byName.get('burn_cold')?.cum ?? 0;
    const ownShare = h / (h + c);
    t.diagnostic(`decoded: ${(ownShare * 100).toFixed(1)}% of ${Math.round((h + c) / profile.period)} samples`);
    assert.ok(Math.abs(ownShare - 0.75) <= 0.05, `decoded share ${(ownShare * 100).toFixed(1)}%`);
  });

  it('stacks of burn_hot/burn_cold reach worker_main and main / start_thread', () => {
    let burning = 0;
    let reached = 0;
    let viaMain = 0;
    let viaThread = 0;
    for (const s of samplesOf(profile, cpu!.pid)) {
      const names = frames(s).map((f) => f.name);
      if (!names.includes('burn_hot') && !names.includes('burn_cold')) continue;
      burning++;
      if (names.includes('worker_main')) reached++;
      if (names.includes('main')) viaMain++;
      if (names.includes('start_thread')) viaThread++;
    }
    assert.ok(burning > 0, 'samples in burn_hot/burn_cold');
    assert.ok(reached / burning >= 0.98, `${reached}/${burning} burn_* stacks reach worker_main`);
    assert.ok(viaMain > 0, "the main thread's stacks reach main");
    assert.ok(viaThread > 0, "the other threads' stacks reach start_thread");
  });

  it('the always_inline mix_hot is its own inline frame at hot_inline.h:<body line>; functions carry their declaration line', () => {
    const { first, last } = mixHotLines();
    const burnHotDecl =
      readFileSync(join(workloadsDir, 'cpu_ratio.c'), 'utf8')
        .split('\n')
        .findIndex((l) => l.startsWith('NOINLINE void burn_hot(')) + 1;
    assert.ok(burnHotDecl > 0, 'cpu_ratio.c defines burn_hot');
    let inlined = 0;
    for (const loc of profile.locations.values()) {
      loc.lines.forEach((l, i) => {
        if (l.name !== 'mix_hot') return;
        assert.equal(basename(l.file), 'hot_inline.h', `mix_hot's file is hot_inline.h, got ${l.file}`);
        assert.ok(l.line >= first && l.line <= last, `mix_hot's line ${l.line} is inside its body (${first}-${last})`);
        assert.equal(l.fn?.startLine, first, "mix_hot's Function.start_line is the line that declares it");
        const caller = loc.lines[i + 1];
        assert.ok(caller, 'mix_hot is an inline Line with its caller after it in the same location');
        assert.equal(caller.name, 'burn_hot');
        assert.equal(basename(caller.file), 'cpu_ratio.c');
        assert.equal(caller.fn?.startLine, burnHotDecl, "burn_hot's Function.start_line is the line that declares it");
        inlined++;
      });
    }
    assert.ok(inlined > 0, 'some location has mix_hot inlined into burn_hot');
  });

  it('C++ frames are demangled', async () => {
    const names = [...functionNames(profile, byPid(cpp!.pid))];
    assert.ok(
      names.some((n) => n.includes('kiln::workload::Matrix::multiply')),
      `Matrix::multiply demangled in ${names.join(', ')}`,
    );
    assert.ok(
      names.some((n) => n.includes('kiln::workload::accumulate<double>')),
      `accumulate<double> demangled in ${names.join(', ')}`,
    );
    assert.ok(!names.some((n) => /(^|\s)_Z/.test(n)), 'no mangled names are left');
    const top = await goPprofTop(out);
    assert.ok(
      topRow(top, (n) => n.includes('kiln::workload::Matrix::multiply')),
      `go tool pprof shows Matrix::multiply:\n${top.raw}`,
    );
  });

  it('Node frames carry the JavaScript function names from the perf map', () => {
    const names = [...functionNames(profile, byPid(node!.pid))];
    assert.ok(
      names.some((n) => /kilnHotLoop/.test(n)),
      `kilnHotLoop in ${names
        .filter((n) => !n.startsWith('[k'))
        .slice(0, 50)
        .join(', ')}`,
    );
  });

  it('syscall_heavy shows kernel write frames under do_syscalls', () => {
    let found = 0;
    for (const s of samplesOf(profile, sys!.pid)) {
      const fr = frames(s);
      const user = fr.findIndex((f) => f.name === 'do_syscalls');
      const kernel = fr.findIndex((f) => f.kernel && /sys_write|ksys_write|__x64_sys_/.test(f.name));
      if (user > 0 && kernel >= 0 && kernel < user) found++;
    }
    assert.ok(found > 0, 'some sample has a kernel *sys_write* frame leafward of do_syscalls');
  });

  it('every workload address symbolizes as addr2line -f -C -i says (100%)', async (t) => {
    for (const w of [
      { name: 'cpu_ratio', pid: cpu!.pid },
      { name: 'cpp_workload', pid: cpp!.pid },
      { name: 'syscall_heavy', pid: sys!.pid },
    ]) {
      const r = await checkSymbols(profile, workloadPath(w.name), { filter: byPid(w.pid) });
      t.diagnostic(reportSymbols(w.name, r));
      assert.ok(r.checked > 0, `${w.name} has locations in its own binary`);
      assert.equal(r.agreed, r.checked, `${reportSymbols(w.name, r)}; mismatches:\n${r.mismatches.slice(0, 30).join('\n')}`);
    }
  });
});

describe('kiln agent on the whole host: short-lived processes and bad input (16 s)', { timeout: 300_000 }, () => {
  let dir = '';
  let nsDir = '';
  let out = '';
  let profile: DecodedProfile;
  let kiln: KilnProcess | undefined;
  const metrics: { first?: string; last?: string } = {};
  const w: Record<string, Workload | undefined> = {};
  let scraping = false;

  before(async () => {
    assertRoot();
    buildWorkloads();
    dir = tempDir('kiln-agent-host-');
    mkdirSync(artifactsDir, { recursive: true });
    out = join(artifactsDir, 'agent-host.pb.gz');
    rmSync(out, { force: true });
    const port = await freePort();
    kiln = runKiln(['agent', '--output', out, '--duration', '16s', '--frequency', String(FREQUENCY), '--metrics-port', String(port)]);
    const url = `http://127.0.0.1:${port}/metrics`;
    await waitForOk(url, kiln);
    scraping = true;
    const scraper = (async () => {
      while (scraping) {
        try {
          const res = await fetch(url);
          if (res.ok) {
            const text = await res.text();
            metrics.first ??= text;
            metrics.last = text;
          }
        } catch {
          // the agent is exiting
        }
        await sleep(500);
      }
    })();
    await sleep(2000);

    // A process that exits 1 s after its start, long before the first drain.
    w.short = await startWorkload('short_lived', ['1']);

    // Bad input 1: the running binary is replaced on disk by a 100-byte truncation of
    // itself. (`truncate` in place is refused with ETXTBSY while a file is executing,
    // so the path is renamed over, which is what a deploy does.)
    const replaced = join(dir, 'cpu_ratio_replaced');
    copyFileSync(workloadPath('cpu_ratio'), replaced);
    w.replaced = await startWorkload('cpu_ratio_replaced', ['60', '1'], { command: [replaced, '60', '1'] });

    // Bad input 2: truncated in place. Started through the dynamic loader, the
    // binary is only mmapped, not executed, so truncation is allowed; the process
    // then dies of SIGBUS right after its first samples.
    const truncated = join(dir, 'cpu_ratio_truncated');
    copyFileSync(workloadPath('cpu_ratio'), truncated);
    const interp = /program interpreter: ([^\]]+)\]/.exec(execFileSync('readelf', ['-lW', truncated], { encoding: 'utf8' }))?.[1];
    assert.ok(interp, 'cpu_ratio names its program interpreter');
    w.truncated = await startWorkload('cpu_ratio_truncated', [], { command: [interp, truncated, '60', '1'] });

    // Bad input 3: a process that exits right after its first samples.
    w.quick = await startWorkload('short_lived', ['0.2']);

    // Bad input 4: a binary visible only inside another mount namespace (a tmpfs
    // mounted over an empty host directory). The agent must go through /proc/<pid>/root.
    nsDir = join('/tmp', `kiln-ns-${process.pid}`);
    mkdirSync(nsDir, { recursive: true });
    w.mntns = await startWorkload('cpu_ratio (mount namespace)', [], {
      command: [
        'unshare',
        '-m',
        '--propagation',
        'private',
        'sh',
        '-c',
        `mount -t tmpfs kiln-ns "${nsDir}" && cp "${workloadPath('cpu_ratio')}" "${nsDir}/cpu_ratio" && exec "${nsDir}/cpu_ratio" 60 1`,
      ],
    });

    await sleep(500);
    writeFileSync(`${replaced}.new`, readFileSync(replaced).subarray(0, 100));
    renameSync(`${replaced}.new`, replaced);
    execFileSync('truncate', ['-s', '100', truncated]);

    const code = await agentExit(kiln, 120_000);
    scraping = false;
    await scraper;
    assertAgentOk(code, kiln, out);
    profile = await readPprof(out);
  });

  after(async () => {
    scraping = false;
    await kiln?.stop();
    await stopAll(Object.values(w));
    if (nsDir) rmSync(nsDir, { recursive: true, force: true });
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('go tool pprof reads the whole-host profile', async () => {
    const top = await goPprofTop(out);
    assert.ok(top.rows.length > 0, top.raw);
  });

  it('a process that exited after 1 s, before the first drain, is there with resolved names', async (t) => {
    const samples = samplesOf(profile, w.short!.pid);
    assert.ok(samples.length > 0, `short_lived (pid ${w.short!.pid}) has samples`);
    const names = functionNames(profile, byPid(w.short!.pid));
    assert.ok(names.has('short_lived_burn'), `short_lived_burn is resolved, not [unknown]: ${[...names].join(', ')}`);
    const r = await checkSymbols(profile, workloadPath('short_lived'), { filter: byPid(w.short!.pid) });
    t.diagnostic(reportSymbols('short_lived', r));
    assert.equal(r.agreed, r.checked, r.mismatches.join('\n'));
  });

  it('bad input: frames of replaced, truncated, vanished and other-namespace binaries are resolved correctly or [unknown], never missing', async (t) => {
    const cases: { key: string; file: (f: string) => boolean; truth: string; mustHaveSamples: boolean }[] = [
      { key: 'replaced', file: (f) => f.includes('cpu_ratio_replaced'), truth: workloadPath('cpu_ratio'), mustHaveSamples: true },
      { key: 'truncated', file: (f) => f.includes('cpu_ratio_truncated'), truth: workloadPath('cpu_ratio'), mustHaveSamples: false },
      { key: 'quick', file: (f) => f.endsWith('/bin/short_lived'), truth: workloadPath('short_lived'), mustHaveSamples: false },
      { key: 'mntns', file: (f) => f.endsWith(`${basename(nsDir)}/cpu_ratio`), truth: workloadPath('cpu_ratio'), mustHaveSamples: true },
    ];
    // Gather everything first so that one run reports every problem at once.
    const problems: string[] = [];
    let unknownInBinaries = 0;
    for (const c of cases) {
      const pid = w[c.key]!.pid;
      const samples = samplesOf(profile, pid);
      if (c.mustHaveSamples && samples.length === 0) problems.push(`${c.key} (pid ${pid}) ran the whole time but has no samples`);
      const named = frameNaming(samples);
      problems.push(...named.problems.map((p) => `${c.key}: ${p}`));
      const r = await checkSymbols(profile, c.truth, { filter: byPid(pid), mapping: c.file, allowUnknown: true });
      t.diagnostic(
        `${c.key} (pid ${pid}): ${samples.length} samples, ${named.unknown}/${named.total} [unknown] locations; ${reportSymbols('own binary', r)}`,
      );
      if (r.agreed + r.unknown !== r.checked) problems.push(`${c.key}: resolved names must be right:\n  ${r.mismatches.join('\n  ')}`);
      unknownInBinaries += r.unknown;
    }
    if (!metrics.last) {
      problems.push('the agent served no /metrics during the run');
    } else {
      const before = metricSum(metrics.first!, 'kiln_agent_symbolize_errors_total') ?? 0;
      const last = metricSum(metrics.last, 'kiln_agent_symbolize_errors_total');
      t.diagnostic(`kiln_agent_symbolize_errors_total: ${before} → ${last}`);
      if (last === undefined && !/kiln_agent_symbolize_errors_total/.test(metrics.last))
        problems.push('/metrics does not expose kiln_agent_symbolize_errors_total');
      if (unknownInBinaries > 0 && !((last ?? 0) > before)) {
        problems.push(`frames were marked [unknown] but kiln_agent_symbolize_errors_total did not grow (${before} → ${last})`);
      }
      // A labelled counter with no series yet shows only its # HELP / # TYPE lines.
      for (const name of [
        'kiln_agent_samples_total',
        'kiln_agent_samples_lost_total',
        'kiln_agent_unknown_frames_ratio',
        'kiln_agent_processes_tracked',
      ]) {
        if (!new RegExp(`^(# (HELP|TYPE) )?${name}\\b`, 'm').test(metrics.last)) problems.push(`/metrics does not expose ${name}`);
      }
      if (!((metricSum(metrics.last, 'kiln_agent_samples_total') ?? 0) > 0))
        problems.push('kiln_agent_samples_total did not count samples');
      if (!((metricSum(metrics.last, 'kiln_agent_processes_tracked') ?? 0) > 0))
        problems.push('kiln_agent_processes_tracked holds no process');
    }
    assert.deepEqual(problems, [], problems.join('\n'));
  });
});
