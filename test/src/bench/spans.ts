// Benchmark (not a pass/fail test): what span capture costs a Node HTTP service, and what it costs
// the agent, against the same agent with `--no-spans` in the same run.
//
//   sudo node test/dist/bench/spans.js [--rates 1000,2000,5000,max] [--seconds 10] [--pairs 2]
//        [--route /hello] [--max-connections 16] [--spans-pid-only] [--json]
//
// A real `kiln server` (embedded storage), the Node service test/workloads/http_server.js and `wrk`
// (one thread) on one host. Rounds alternate the agent (`kiln agent --server URL`) with span capture
// off (`--no-spans`) and on, `--pairs` of each, off first; every round runs one `--seconds` window
// per rate, so each rate's off and on windows interleave in time against drift. The agent restarts
// between rounds (its start-up is left out of the windows).
//
// A rate is held by wrk's Lua `delay()`: each connection waits 10 ms after each answer, with one
// connection per 100 req/s, so the rate reached is a little under the one asked for (latency adds
// to the 10 ms); `max` is `--max-connections` connections with no delay. wrk 4 has no `-R`.
//
// Per rate, off against on: requests/s and p99 latency as wrk saw them (p99 averaged over windows;
// wrk's histograms do not pool), the service's CPU time per request (utime+stime from /proc: the
// syscall tracepoints run in its syscalls, so this is where capture's in-process cost lands), the
// agent's CPU (utime+stime of all its threads over the window) and, on, the agent's CPU per 1,000
// spans/s over what the same agent costs with --no-spans. Span loss: requests wrk completed in the
// on windows against the service's spans stored in those windows (GET /api/v1/traces/heatmap counts
// every matching span exactly; /api/v1/traces lists at most 10,000).
//
// By default the agent captures every process, as it does when deployed, so wrk's own requests
// become client spans too (reported as "spans made/s", from the agent's /metrics);
// `--spans-pid-only` limits capture to the service.
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import type { TraceHeatmapResponse } from '@kiln/api/http';
import { freePort, runKiln, startServer, tempDir, waitForOk, type KilnProcess, type KilnServer } from '../lib/kiln.js';
import { startWorkload, workloadsDir, type Workload } from '../lib/workloads.js';

interface Options {
  /** Requests per second; 0 stands for `max`. */
  rates: number[];
  seconds: number;
  pairs: number;
  route: string;
  maxConnections: number;
  spansPidOnly: boolean;
  json: boolean;
}

function parseArgs(argv: string[]): Options {
  const o: Options = {
    rates: [1000, 2000, 5000, 0],
    seconds: 10,
    pairs: 2,
    route: '/hello',
    maxConnections: 16,
    spansPidOnly: false,
    json: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const next = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    const positive = (v: string): number => {
      const n = Number(v);
      if (!Number.isInteger(n) || n <= 0) throw new Error(`${a} takes positive integers, got "${v}"`);
      return n;
    };
    if (a === '--rates')
      o.rates = next()
        .split(',')
        .map((r) => (r === 'max' ? 0 : positive(r)));
    else if (a === '--seconds') o.seconds = positive(next());
    else if (a === '--pairs') o.pairs = positive(next());
    else if (a === '--route') o.route = next();
    else if (a === '--max-connections') o.maxConnections = positive(next());
    else if (a === '--spans-pid-only') o.spansPidOnly = true;
    else if (a === '--json') o.json = true;
    else if (a === '--help') {
      process.stdout.write(
        'usage: node test/dist/bench/spans.js [--rates 1000,2000,5000,max] [--seconds 10] [--pairs 2] [--route /hello] [--max-connections 16] [--spans-pid-only] [--json]\n' +
          '  rounds of the agent with --no-spans and with span capture, alternating, --pairs of each; one --seconds window per rate per round\n',
      );
      process.exit(0);
    } else throw new Error(`unknown flag ${a}`);
  }
  if (!o.route.startsWith('/')) throw new Error(`--route must be a path, got "${o.route}"`);
  return o;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const log = (s: string) => process.stderr.write(`[bench] ${s}\n`);

const clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());

/** utime+stime of a process and all its threads (live and ended), seconds. */
function processCpu(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which may hold spaces: state is field 3, utime 14, stime 15.
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / clockTicks;
}

/** One connection per 100 req/s, each waiting this long after every answer. */
const DELAY_MS = 10;
const PER_CONNECTION = 1000 / DELAY_MS;

interface WrkResult {
  requests: number;
  durationUs: number;
  p50Us: number;
  p99Us: number;
  errors: number;
}

/** The wrk script: the pacing, and a JSON line of the results (wrk's text output rounds them). */
function wrkScript(delayMs: number): string {
  return (
    (delayMs > 0 ? `function delay() return ${delayMs} end\n` : '') +
    'function done(s, latency, requests)\n' +
    '  local e = s.errors\n' +
    '  io.write(string.format(\'@@wrk {"requests":%d,"durationUs":%d,"p50Us":%d,"p99Us":%d,"errors":%d}\\n\',\n' +
    '    s.requests, s.duration, latency:percentile(50), latency:percentile(99), e.connect + e.read + e.write + e.status + e.timeout))\n' +
    'end\n'
  );
}

function runWrk(url: string, connections: number, seconds: number, script: string): Promise<WrkResult> {
  return new Promise((resolve, reject) => {
    const p = spawn('wrk', ['-t1', `-c${connections}`, `-d${seconds}s`, '--timeout', '5s', '-s', script, url], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (out += d.toString()));
    p.on('error', reject);
    p.on('exit', (code) => {
      const line = /@@wrk (.*)/.exec(out);
      if (code !== 0 || !line) reject(new Error(`wrk exited ${code}:\n${out}`));
      else resolve(JSON.parse(line[1]!) as WrkResult);
    });
  });
}

/** Sum of a counter's samples (every label set) in Prometheus text. */
function counterSum(text: string, name: string): number {
  let n = 0;
  for (const m of text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+]+)$`, 'gm'))) n += Number(m[1]);
  return n;
}

interface Window {
  rate: number;
  spans: boolean;
  fromMs: number;
  untilMs: number;
  wrk: WrkResult;
  serverCpu: number;
  agentCpu: number;
  /** Spans the agent made (every protocol and process) and socket events it lost, from its /metrics. */
  spansMade: number;
  eventsLost: number;
}

interface Agent {
  kiln: KilnProcess;
  metricsUrl: string;
}

async function startAgent(server: KilnServer, spans: boolean, servicePid: number, o: Options): Promise<Agent> {
  const metricsPort = await freePort();
  const args = ['agent', '--server', server.url, '--metrics-port', String(metricsPort)];
  if (!spans) args.push('--no-spans');
  else if (o.spansPidOnly) args.push('--spans-pid', String(servicePid));
  const kiln = runKiln(args);
  const metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
  await waitForOk(metricsUrl, kiln);
  // Past its start-up (BPF load, kernel symbols) before a window begins.
  await sleep(3000);
  return { kiln, metricsUrl };
}

async function metrics(agent: Agent): Promise<{ made: number; lost: number }> {
  const text = await (await fetch(agent.metricsUrl)).text();
  return { made: counterSum(text, 'kiln_agent_spans_total'), lost: counterSum(text, 'kiln_agent_socket_events_lost_total') };
}

async function storedSpans(server: KilnServer, service: string, name: string, fromMs: number, untilMs: number): Promise<number> {
  const q = new URLSearchParams({
    query: `{service="${service}"}`,
    name,
    from: String(Math.floor(fromMs)),
    until: String(Math.ceil(untilMs)),
    timeBuckets: '1',
  });
  const res = await fetch(`${server.url}/api/v1/traces/heatmap?${q.toString()}`);
  if (!res.ok) throw new Error(`heatmap answered ${res.status}: ${await res.text()}`);
  const body = (await res.json()) as TraceHeatmapResponse;
  return body.counts.flat().reduce((a, b) => a + b, 0);
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  if (process.getuid?.() !== 0) throw new Error('run as root: the agent loads BPF programs');
  // A host that points NODE_EXTRA_CA_CERTS at the whole system bundle makes every Node process parse
  // it at start; a deployed agent, server or service does not.
  delete process.env.NODE_EXTRA_CA_CERTS;
  const dir = tempDir('kiln-bench-spans-');
  const service = `bench-spans-${randomBytes(3).toString('hex')}`;
  const server = await startServer();
  let workload: Workload | undefined;
  let agent: Agent | undefined;
  const cleanup = async () => {
    await agent?.kiln.stop();
    await workload?.stop();
    // --perf-basic-prof's map of the service's JIT code (the agent reads it to name frames).
    if (workload) rmSync(`/tmp/perf-${workload.pid}.map`, { force: true });
    await server.stop();
  };
  process.on('SIGINT', () => void cleanup().finally(() => process.exit(130)));
  try {
    workload = await startWorkload('http_server', [], {
      command: [process.execPath, '--perf-basic-prof', '--interpreted-frames-native-stack', join(workloadsDir, 'http_server.js'), '0'],
      env: { OTEL_SERVICE_NAME: service },
    });
    let port = 0;
    for (const deadline = Date.now() + 10_000; port === 0 && Date.now() < deadline; await sleep(50)) {
      port = Number(/listening (\d+)/.exec(workload.output())?.[1] ?? 0);
    }
    if (port === 0) throw new Error(`http_server did not say its port: ${workload.output()}`);
    const url = `http://127.0.0.1:${port}${o.route}`;
    const scripts = new Map<number, string>();
    for (const rate of o.rates) {
      const file = join(dir, `rate-${rate}.lua`);
      writeFileSync(file, wrkScript(rate === 0 ? 0 : DELAY_MS));
      scripts.set(rate, file);
    }
    const connections = (rate: number) => (rate === 0 ? o.maxConnections : Math.max(1, Math.round(rate / PER_CONNECTION)));
    log(`service ${service} (pid ${workload.pid}) on ${url}; kiln server ${server.url}; ${cpus().length} CPUs`);
    // Warm the service up (JIT, connection paths) before the first window.
    await runWrk(url, o.maxConnections, 3, scripts.get(o.rates.at(-1)!)!);

    const windows: Window[] = [];
    const agentExits: string[] = [];
    for (let round = 0; round < 2 * o.pairs; round++) {
      const spans = round % 2 === 1;
      agent = await startAgent(server, spans, workload.pid, o);
      for (const rate of o.rates) {
        const before = { server: processCpu(workload.pid), agent: processCpu(agent.kiln.proc.pid!), m: await metrics(agent) };
        const fromMs = Date.now();
        const wrk = await runWrk(url, connections(rate), o.seconds, scripts.get(rate)!);
        const untilMs = Date.now();
        const after = { server: processCpu(workload.pid), agent: processCpu(agent.kiln.proc.pid!), m: await metrics(agent) };
        const w: Window = {
          rate,
          spans,
          fromMs,
          untilMs,
          wrk,
          serverCpu: after.server - before.server,
          agentCpu: after.agent - before.agent,
          spansMade: after.m.made - before.m.made,
          eventsLost: after.m.lost - before.m.lost,
        };
        windows.push(w);
        log(
          `round ${round + 1}/${2 * o.pairs} spans ${spans ? 'on ' : 'off'} ${rate === 0 ? 'max' : rate}: ` +
            `${(wrk.requests / (wrk.durationUs / 1e6)).toFixed(0)} req/s, p99 ${(wrk.p99Us / 1000).toFixed(2)} ms, ` +
            `service CPU ${w.serverCpu.toFixed(2)} s, agent CPU ${w.agentCpu.toFixed(2)} s, spans made ${w.spansMade}, events lost ${w.eventsLost}, wrk errors ${wrk.errors}`,
        );
        // Apart from the next window, so that each one's stored spans are counted by start time alone.
        await sleep(2000);
      }
      // Its spans are pushed before it exits; an unclean exit is reported, and the loss count tells
      // whether anything went missing with it.
      const code = await agent.kiln.stop();
      if (code !== 0) {
        agentExits.push(`round ${round + 1}: ${code}`);
        log(`kiln agent exited ${code}:\n${agent.kiln.output().slice(-1500)}`);
      }
      agent = undefined;
    }

    // Every agent flushed its spans when it stopped; wait for the server to have stored them all.
    const name = `GET ${o.route}`;
    const onWindows = windows.filter((w) => w.spans);
    const total = () => Promise.all(onWindows.map((w) => storedSpans(server, service, name, w.fromMs - 500, w.untilMs + 500)));
    let stored = await total();
    for (const deadline = Date.now() + 60_000; Date.now() < deadline;) {
      await sleep(3000);
      const again = await total();
      const same = again.every((n, i) => n === stored[i]);
      stored = again;
      if (same) break;
    }
    const storedOf = new Map(onWindows.map((w, i) => [w, stored[i]!]));
    const offStored = await storedSpans(server, service, name, windows[0]!.fromMs - 500, windows.at(-1)!.untilMs + 500);
    report(o, windows, storedOf, offStored - stored.reduce((a, b) => a + b, 0), agentExits);
  } finally {
    await cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
}

interface Step {
  rate: string;
  connections: number;
  off: Pooled;
  on: Pooled;
  throughputLossPct: number;
  p99IncreasePct: number;
  /** Agent CPU (fraction of one core) over the --no-spans agent's, per 1,000 of the service's spans/s. */
  agentCorePer1kSpans: number;
  /** The same per 1,000 spans/s the agent made (wrk's client spans too, unless --spans-pid-only). */
  agentCorePer1kSpansMade: number;
  clientRequests: number;
  storedSpans: number;
  lostSpans: number;
}

interface Pooled {
  windows: number;
  requestsPerSec: number;
  p99Ms: number;
  p50Ms: number;
  serviceCpuUsPerRequest: number;
  agentCorePct: number;
  spansMadePerSec: number;
  eventsLost: number;
  wrkErrors: number;
}

function pool(ws: Window[]): Pooled {
  const seconds = ws.reduce((a, w) => a + w.wrk.durationUs / 1e6, 0);
  const requests = ws.reduce((a, w) => a + w.wrk.requests, 0);
  const mean = (f: (w: Window) => number) => ws.reduce((a, w) => a + f(w), 0) / ws.length;
  return {
    windows: ws.length,
    requestsPerSec: requests / seconds,
    p99Ms: mean((w) => w.wrk.p99Us / 1000),
    p50Ms: mean((w) => w.wrk.p50Us / 1000),
    serviceCpuUsPerRequest: (ws.reduce((a, w) => a + w.serverCpu, 0) / requests) * 1e6,
    agentCorePct: (ws.reduce((a, w) => a + w.agentCpu, 0) / seconds) * 100,
    spansMadePerSec: ws.reduce((a, w) => a + w.spansMade, 0) / seconds,
    eventsLost: ws.reduce((a, w) => a + w.eventsLost, 0),
    wrkErrors: ws.reduce((a, w) => a + w.wrk.errors, 0),
  };
}

function report(o: Options, windows: Window[], storedOf: Map<Window, number>, storedOutside: number, agentExits: string[]): void {
  const steps: Step[] = o.rates.map((rate) => {
    const mine = windows.filter((w) => w.rate === rate);
    const onWs = mine.filter((w) => w.spans);
    const off = pool(mine.filter((w) => !w.spans));
    const on = pool(onWs);
    const clientRequests = onWs.reduce((a, w) => a + w.wrk.requests, 0);
    const stored = onWs.reduce((a, w) => a + storedOf.get(w)!, 0);
    return {
      rate: rate === 0 ? 'max' : String(rate),
      connections: rate === 0 ? o.maxConnections : Math.max(1, Math.round(rate / PER_CONNECTION)),
      off,
      on,
      throughputLossPct: (1 - on.requestsPerSec / off.requestsPerSec) * 100,
      p99IncreasePct: (on.p99Ms / off.p99Ms - 1) * 100,
      agentCorePer1kSpans: (on.agentCorePct - off.agentCorePct) / 100 / (on.requestsPerSec / 1000),
      agentCorePer1kSpansMade: (on.agentCorePct - off.agentCorePct) / 100 / (on.spansMadePerSec / 1000),
      clientRequests,
      storedSpans: stored,
      lostSpans: clientRequests - stored,
    };
  });
  if (o.json) {
    process.stdout.write(
      JSON.stringify(
        { options: o, cpus: cpus().length, steps, windows, storedOutsideOnWindows: storedOutside, uncleanAgentExits: agentExits },
        null,
        2,
      ) + '\n',
    );
    return;
  }
  const pct = (x: number) => `${x >= 0 ? '+' : ''}${x.toFixed(1)}%`;
  const f = (x: number, d = 0) => x.toFixed(d);
  process.stdout.write(
    `\nspan capture on vs off (kiln agent --no-spans), ${o.pairs} pair(s) of ${o.seconds} s windows per rate, route ${o.route}, ` +
      `${cpus().length} CPUs, load average ${loadavg()[0]!.toFixed(2)} at the end; capture ${o.spansPidOnly ? 'of the service only' : 'of every process (wrk makes client spans too)'}\n` +
      'targets (issue 18): ≤ 5% throughput loss, ≤ 5% p99 increase; 0 spans lost below 5,000 spans/s\n\n' +
      '| rate asked | conns | req/s off | req/s on | throughput | p99 off ms | p99 on ms | p99 | service CPU µs/req off → on | agent % core off → on | agent core per 1k service spans/s | spans made/s | agent core per 1k spans made/s | requests (wrk) | spans stored | lost | events lost | wrk errors |\n' +
      '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n' +
      steps
        .map(
          (s) =>
            `| ${s.rate} | ${s.connections} | ${f(s.off.requestsPerSec)} | ${f(s.on.requestsPerSec)} | ${pct(-s.throughputLossPct)} | ${f(s.off.p99Ms, 2)} | ${f(s.on.p99Ms, 2)} | ${pct(s.p99IncreasePct)} | ` +
            `${f(s.off.serviceCpuUsPerRequest, 1)} → ${f(s.on.serviceCpuUsPerRequest, 1)} | ${f(s.off.agentCorePct, 1)} → ${f(s.on.agentCorePct, 1)} | ${(s.agentCorePer1kSpans * 100).toFixed(1)}% | ` +
            `${f(s.on.spansMadePerSec)} | ${(s.agentCorePer1kSpansMade * 100).toFixed(1)}% | ${s.clientRequests} | ${s.storedSpans} | ${s.lostSpans} | ${s.on.eventsLost} | ${s.off.wrkErrors + s.on.wrkErrors} |`,
        )
        .join('\n') +
      `\n\nthroughput: on against off (negative: a loss); lost: requests wrk completed in the on windows minus the service's spans stored in them` +
      ` (spans stored outside the on windows: ${storedOutside}, expected 0)\n` +
      (agentExits.length > 0 ? `unclean agent exits (code or signal): ${agentExits.join(', ')}\n` : ''),
  );
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
