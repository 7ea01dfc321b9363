// Benchmark (not a pass/fail test): what the scheduler and retransmit probes cost the workloads
// they watch, each measured alone (a SignalSession loading only that probe), with and without it in
// the same run.
//
//   sudo node test/dist/bench/signals.js [--pairs 5] [--round-trips 1000000] [--megabytes 256] [--json]
//
// (a) Scheduler probe: test/workloads/pingpong, two processes passing a byte over pipes, both pinned
// to one CPU so that every round trip is two context switches (sched_switch and sched_wakeup on
// each): round trips per second.
// (b) Retransmit probe: a bulk TCP transfer (64 KiB writes) between two network namespaces over a
// veth pair, no loss: MB/s as the sender times it from connect to close.
// Windows alternate off and on, `--pairs` of each, off first; the slowdown is of the medians, and
// the spread (max/min − 1 of each side's windows) says how much one window differs from the next.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { native } from '@kiln/agent';
import { NetnsLink } from '../lib/netns.js';
import { buildWorkloads, workloadPath } from '../lib/workloads.js';

interface Options {
  pairs: number;
  roundTrips: number;
  megabytes: number;
  json: boolean;
}

function parseArgs(argv: string[]): Options {
  const o: Options = { pairs: 5, roundTrips: 1_000_000, megabytes: 256, json: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = (): number => {
      const v = Number(argv[++i]);
      if (!Number.isInteger(v) || v <= 0) throw new Error(`${a} needs a positive integer`);
      return v;
    };
    if (a === '--pairs') o.pairs = value();
    else if (a === '--round-trips') o.roundTrips = value();
    else if (a === '--megabytes') o.megabytes = value();
    else if (a === '--json') o.json = true;
    else throw new Error(`unknown argument ${a}`);
  }
  return o;
}

interface Comparison {
  unit: string;
  off: number[];
  on: number[];
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const spread = (xs: number[]): number => Math.max(...xs) / Math.min(...xs) - 1;

/** Runs `measure` in `pairs` off/on pairs, the session loaded only around the on windows. */
async function alternate(
  pairs: number,
  unit: string,
  probes: { sched: boolean; retransmits: boolean },
  measure: () => Promise<number>,
): Promise<Comparison> {
  const c: Comparison = { unit, off: [], on: [] };
  for (let p = 0; p < pairs; p++) {
    c.off.push(await measure());
    const session = new (native().SignalSession)(probes);
    try {
      c.on.push(await measure());
    } finally {
      session.close();
    }
  }
  return c;
}

function pingPong(roundTrips: number): Promise<number> {
  const env = { ...process.env };
  delete env.NODE_EXTRA_CA_CERTS;
  // One CPU for both processes: each hand-over is a real switch, not a wakeup on the other CPU.
  const out = execFileSync('taskset', ['-c', '1', workloadPath('pingpong'), String(roundTrips)], { encoding: 'utf8', env });
  const [, result] = out.trim().split('\n');
  const [rounds, seconds] = (result ?? '').split(' ').map(Number);
  if (rounds === undefined || seconds === undefined || !(seconds > 0)) throw new Error(`pingpong printed ${out}`);
  return Promise.resolve(rounds / seconds);
}

async function bulk(link: NetnsLink, megabytes: number): Promise<number> {
  const transfer = await link.bulkTransfer({ bytes: megabytes << 20 });
  const { bytes, seconds } = await transfer.done;
  return bytes / 2 ** 20 / seconds;
}

interface Result {
  name: string;
  unit: string;
  off: number;
  on: number;
  slowdownPct: number;
  /** What the session added to one unit of work (a round trip, a MB), from the medians. */
  addedNsPerUnit: number;
  targetPct: number;
  spreadOffPct: number;
  spreadOnPct: number;
  windowsOff: number[];
  windowsOn: number[];
}

function report(name: string, target: number, c: Comparison): Result {
  const off = median(c.off);
  const on = median(c.on);
  const slowdown = (off / on - 1) * 100;
  return {
    name,
    unit: c.unit,
    off: Math.round(off),
    on: Math.round(on),
    slowdownPct: Number(slowdown.toFixed(2)),
    addedNsPerUnit: Math.round((1 / on - 1 / off) * 1e9),
    targetPct: target,
    spreadOffPct: Number((spread(c.off) * 100).toFixed(2)),
    spreadOnPct: Number((spread(c.on) * 100).toFixed(2)),
    windowsOff: c.off.map(Math.round),
    windowsOn: c.on.map(Math.round),
  };
}

/** CPU time of all CPUs (user, nice, system, irq, softirq) so far, in ns, from /proc/stat (USER_HZ = 100). */
function busyNs(): number {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  return (f[0]! + f[1]! + f[2]! + f[5]! + f[6]!) * 1e7;
}

interface ProbeCpu {
  nsPerMB: number;
  /** Of the CPU time all CPUs spent while the transfer ran. */
  sharePct: number;
}

/**
 * The retransmit probe's own CPU time on a transfer (kernel.bpf_stats_enabled: run_time_ns of its
 * programs), which a throughput window cannot resolve on a shared VM, as a share of all CPU time
 * the transfer took.
 */
async function retransmitProbeCpu(link: NetnsLink, megabytes: number): Promise<ProbeCpu> {
  const programs = (): Map<number, number> =>
    new Map(
      (JSON.parse(execFileSync('bpftool', ['prog', 'show', '-j'], { encoding: 'utf8' })) as { id: number; run_time_ns?: number }[]).map(
        (p) => [p.id, p.run_time_ns ?? 0],
      ),
    );
  execFileSync('sysctl', ['-q', '-w', 'kernel.bpf_stats_enabled=1']);
  const before = programs();
  const session = new (native().SignalSession)({ sched: false });
  try {
    const ours = new Set([...programs().keys()].filter((id) => !before.has(id)));
    const start = programs();
    const busy0 = busyNs();
    await bulk(link, megabytes);
    const busy = busyNs() - busy0;
    let probe = 0;
    for (const [id, ns] of programs()) if (ours.has(id)) probe += ns - (start.get(id) ?? 0);
    return { nsPerMB: Math.round(probe / megabytes), sharePct: Number(((100 * probe) / busy).toFixed(2)) };
  } finally {
    session.close();
    execFileSync('sysctl', ['-q', '-w', 'kernel.bpf_stats_enabled=0']);
  }
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  buildWorkloads();
  const results: Result[] = [];
  results.push(
    report(
      'scheduler probe: pipe ping-pong',
      3,
      await alternate(o.pairs, 'round trips/s', { sched: true, retransmits: false }, () => pingPong(o.roundTrips)),
    ),
  );
  const link = new NetnsLink();
  const probeCpu: ProbeCpu[] = [];
  try {
    for (let i = 0; i < 3; i++) probeCpu.push(await retransmitProbeCpu(link, o.megabytes));
    results.push(
      report(
        'retransmit probe: bulk TCP over veth',
        1,
        await alternate(o.pairs, 'MB/s', { sched: false, retransmits: true }, () => bulk(link, o.megabytes)),
      ),
    );
  } finally {
    link.close();
  }
  if (o.json) {
    console.log(JSON.stringify({ loadavg: loadavg(), results, retransmitProbeCpu: probeCpu }, null, 2));
    return;
  }
  for (const r of results) {
    console.log(
      `${r.name}: ${r.off} → ${r.on} ${r.unit} (medians of ${o.pairs}), slowdown ${r.slowdownPct}% (${r.addedNsPerUnit >= 0 ? '+' : ''}${r.addedNsPerUnit} ns per ${r.unit.split('/')[0]!.replace(/s$/, '')}; target ≤ ${r.targetPct}%), ` +
        `spread off ${r.spreadOffPct}% on ${r.spreadOnPct}%`,
    );
    console.log(`  windows off ${JSON.stringify(r.windowsOff)} on ${JSON.stringify(r.windowsOn)}`);
  }
  console.log(
    `retransmit probe's own CPU on ${o.megabytes} MB transfers (bpf_stats): ${probeCpu.map((p) => `${p.nsPerMB} ns/MB = ${p.sharePct}%`).join(', ')} of all CPU time the transfer took (target ≤ 1%)`,
  );
  console.log(
    `load average at the end: ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
  );
}

await main();
