import type { startAgent } from '@kiln/agent';
import type { Command } from '../command.js';
import { logFlags } from '../command.js';
import { UsageError, type FlagSpecs, type FlagValues } from '../flags.js';
import { untilSignal } from '../shutdown.js';

export const agentFlags: FlagSpecs = {
  server: { type: 'string', value: 'URL', help: "push each interval's profiles to this Kiln server" },
  output: { type: 'string', value: 'FILE.pb.gz', help: 'write one merged gzipped pprof of the whole run to FILE (no server needed)' },
  frequency: { type: 'integer', value: 'HZ', default: 19, min: 1, max: 999, help: 'CPU samples per second per CPU' },
  interval: { type: 'duration', value: 'DURATION', default: '10s', help: 'how often counts are drained from the kernel and profiles sent' },
  duration: { type: 'duration', value: 'DURATION', help: 'stop after this long (default: run until SIGINT/SIGTERM)' },
  pid: { type: 'list', value: 'PID', help: 'sample only this process and its threads (repeatable; env: comma-separated)' },
  'include-idle': { type: 'boolean', help: 'also count samples of the idle task (pid 0)' },
  'no-spans': {
    type: 'boolean',
    help: 'do not turn HTTP, PostgreSQL, Redis and MySQL traffic into spans (span capture runs only with --server)',
  },
  'spans-pid': {
    type: 'list',
    value: 'PID',
    help: 'capture spans only of this process (repeatable; default: the --pid processes, or every process)',
  },
  'spans-cgroup': {
    type: 'list',
    value: 'PATH',
    help: 'capture spans only of processes in this cgroup v2 directory (repeatable; absolute, or relative to the v2 mount)',
  },
  'span-payload': {
    type: 'size',
    value: 'BYTES',
    default: '256',
    help: 'bytes of each socket read and write copied for the protocol parsers (at most 1KiB)',
  },
  'no-signals': {
    type: 'boolean',
    help: 'do not capture kernel signals: CPU throttling, run-queue delay, TCP retransmits, span latency breakdowns (captured only with --server)',
  },
  'throttle-threshold': {
    type: 'duration',
    value: 'DURATION',
    default: '5ms',
    help: 'a wait for the CPU (throttled or run queue) at least this long is sent as an episode of its own (0.1ms–10s)',
  },
  node: { type: 'string', value: 'NAME', help: 'the node label on every profile (default: the hostname)' },
  relabel: {
    type: 'string',
    value: 'FILE',
    help:
      'rename, drop or keep the labels of every profile, span and signal: a JSON file like ' +
      '{"rename": {"container_id": "container"}, "drop": ["exe"], "keep": ["service", "version", "container"]}; ' +
      'renames apply first, drop and keep use the new names; "service" cannot be removed',
  },
  'auth-token-file': {
    type: 'string',
    value: 'FILE',
    help: "send the server's ingest token (the first line of FILE that is not blank or a # comment) as Authorization: Bearer",
  },
  'metrics-port': {
    type: 'integer',
    value: 'PORT',
    min: 0,
    max: 65535,
    help: 'serve Prometheus /metrics on this port (0: off; default 4041 with --server, off with --output)',
  },
};

/** Where a long-running agent serves /metrics unless told otherwise (a one-shot --output run serves none). */
export const defaultMetricsPort = 4041;

export function agentOptions(values: FlagValues): Omit<Parameters<typeof startAgent>[0], 'logger'> {
  const pidList = (flag: string): number[] =>
    (values[flag] as string[]).map((p) => {
      if (!/^\d+$/.test(p) || Number(p) <= 0) throw new UsageError(`--${flag} must be a positive integer, got "${p}"`);
      return Number(p);
    });
  const spanPayloadBytes = values['span-payload'] as number;
  if (spanPayloadBytes > 1024) throw new UsageError(`--span-payload must be at most 1KiB, got ${spanPayloadBytes}`);
  const thresholdMs = values['throttle-threshold'] as number;
  if (!(thresholdMs >= 0.1 && thresholdMs <= 10_000))
    throw new UsageError(`--throttle-threshold must be between 0.1ms and 10s, got ${thresholdMs}ms`);
  const intervalMs = values.interval as number;
  if (intervalMs < 1000) throw new UsageError('--interval must be at least 1s');
  const server = values.server as string | undefined;
  if (server !== undefined && !/^https?:$/.test(URL.canParse(server) ? new URL(server).protocol : '')) {
    throw new UsageError(`--server must be an http:// or https:// URL, got "${server}"`);
  }
  return {
    server,
    output: values.output as string | undefined,
    frequency: values.frequency as number,
    intervalMs,
    durationMs: values.duration as number | undefined,
    pids: pidList('pid'),
    includeIdle: values['include-idle'] === true,
    spans: values['no-spans'] !== true,
    spanPids: pidList('spans-pid'),
    spanCgroups: values['spans-cgroup'] as string[],
    spanPayloadBytes,
    signals: values['no-signals'] !== true,
    throttleThresholdNs: Math.round(thresholdMs * 1e6),
    metricsPort: (values['metrics-port'] as number | undefined) ?? (values.server !== undefined ? defaultMetricsPort : 0),
    node: values.node as string | undefined,
    relabelFile: values.relabel as string | undefined,
    authTokenFile: values['auth-token-file'] as string | undefined,
  };
}

export const agentCommand: Command = {
  name: 'agent',
  summary: 'Run the node agent: eBPF CPU profiles of every process on this host, symbolized here, as pprof.',
  flags: { ...agentFlags, ...logFlags },
  async run(values, log) {
    const { startAgent } = await import('@kiln/agent');
    const agent = await startAgent({ ...agentOptions(values), logger: log });
    const signalled = untilSignal(log, () => agent.stop());
    await Promise.race([agent.done, signalled]);
    await agent.done;
    return 0;
  },
};
