// `kiln agent`: runs the profiler, writes one merged pprof (--output) or pushes each interval (--server).
import { readFileSync, statSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { cgroup2Mount, cpuHierarchy } from './cgroups.js';
import { runDoctor } from './doctor.js';
import type { AgentMetrics } from './metrics.js';
import { native, type NativeSignalSession, type NativeSpanSession } from './native.js';
import { PprofBuilder } from './pprof-builder.js';
import { Profiler } from './profiler.js';
import { Pusher, type PushStats } from './push.js';
import { readRelabelFile, type Relabel } from './relabel.js';
import { HealthReporter, healthFigures } from './report.js';
import { SignalCapture } from './signal-capture.js';
import { SpanCapture } from './span-capture.js';

// How often the agent says what it pushed, in one line (each upload is a debug line).
const PUSH_SUMMARY_EVERY_MS = 5 * 60_000;

export interface AgentOptions {
  server?: string;
  output?: string;
  frequency: number;
  intervalMs: number;
  durationMs?: number;
  pids: number[];
  includeIdle: boolean;
  metricsPort: number;
  /** Turn HTTP and database traffic into spans (needs `server`: spans are not written to --output). */
  spans: boolean;
  /** Span capture follows only these processes (default: `pids`, and with neither every process). */
  spanPids: number[];
  /** …and only processes in these cgroup v2 directories (absolute, or relative to the v2 mount). */
  spanCgroups: string[];
  /** Payload bytes copied per socket read or write for the protocol parsers (at most 1024). */
  spanPayloadBytes: number;
  /** Capture kernel signals: CPU throttling, run-queue delay, TCP retransmits, span breakdowns (needs `server`). */
  signals: boolean;
  /** Waits at least this long are sent one by one as episodes (default 5 ms). */
  throttleThresholdNs?: number;
  /** The node label; default: the hostname. */
  node?: string;
  /** A JSON file of relabel rules (relabel.ts) for the labels of every profile, span and signal. */
  relabelFile?: string;
  /** A file holding the server's ingest token (its first token line), sent as a bearer token. */
  authTokenFile?: string;
  logger: Logger;
}

/** A mistake in how the agent was started, or a host it cannot run on: shown as is, exit 1. */
export class AgentStartError extends Error {
  override name = 'AgentStartError';
}

export interface RunningAgent {
  /** Resolves when the agent stopped (after --duration, or stop()), with everything flushed. */
  done: Promise<void>;
  stop(): Promise<void>;
}

export async function startAgent(opts: AgentOptions): Promise<RunningAgent> {
  const log = opts.logger;
  if (opts.output === undefined && opts.server === undefined) {
    throw new AgentStartError('nowhere to send profiles: give --server URL (push to a Kiln server) or --output FILE.pb.gz');
  }
  const relabel = opts.relabelFile === undefined ? undefined : relabelFrom(opts.relabelFile);
  const token = opts.authTokenFile === undefined ? undefined : tokenFrom(opts.authTokenFile);
  if (process.getuid?.() !== 0)
    throw new AgentStartError('the agent loads BPF programs and needs root (or CAP_BPF + CAP_PERFMON + CAP_SYS_PTRACE)');

  const report = await runDoctor({ startup: true });
  for (const row of report.rows)
    if (!row.ok) log.warn({ facility: row.facility, detail: row.detail, instead: row.instead }, 'kernel facility unavailable');
  if (!report.cpuProfiling) {
    const missing = report.rows
      .filter((r) => !r.ok && (r.facility === 'BTF' || r.facility.startsWith('perf events')))
      .map((r) => `${r.facility}: ${r.detail}`);
    throw new AgentStartError(`CPU sampling cannot work on this host (${missing.join('; ')}); run \`kiln doctor\` for details`);
  }

  // Metrics (and prom-client, ~40 ms of CPU to load) only when they are served.
  let metrics: AgentMetrics | undefined;
  let metricsServer: Server | undefined;
  if (opts.metricsPort > 0) {
    try {
      metrics = new (await import('./metrics.js')).AgentMetrics();
      metricsServer = await metrics.listen(opts.metricsPort);
    } catch (err) {
      metrics = undefined;
      log.warn({ err, port: opts.metricsPort }, 'cannot serve /metrics on this port; continuing without it');
    }
  }

  const cgroupIds = opts.spanCgroups.map(cgroupId);
  let spanSession: NativeSpanSession | undefined;
  if (opts.spans && opts.server !== undefined) {
    try {
      spanSession = new (native().SpanSession)({
        payloadBytes: opts.spanPayloadBytes,
        pids: opts.spanPids.length > 0 ? opts.spanPids : opts.pids,
        cgroupIds,
        // Room for seconds of events at thousands of requests per second: a burst, or a pause of the
        // agent's event loop (a large upload, GC), must not overflow it while the agent catches up.
        ringBytes: 8 * 1024 * 1024,
      });
      log.info({ hooks: spanSession.hooks() }, 'span capture started');
    } catch (err) {
      log.error(
        { err: (err as Error).message },
        'span capture cannot start on this host; profiling goes on without spans (see `kiln doctor`)',
      );
    }
  }

  let signalSession: NativeSignalSession | undefined;
  if (opts.signals && opts.server === undefined)
    log.info('kernel signals (throttling, run-queue delay, retransmits) are captured only with --server');
  if (opts.signals && opts.server !== undefined) {
    try {
      signalSession = new (native().SignalSession)({ thresholdNs: opts.throttleThresholdNs, spans: spanSession });
      log.info({ hooks: signalSession.hooks() }, 'kernel signal capture started');
    } catch (err) {
      log.error(
        { err: (err as Error).message },
        'kernel signal capture cannot start on this host; profiling goes on without it (see `kiln doctor`)',
      );
    }
  }

  let profiler: Profiler;
  try {
    profiler = new Profiler({
      frequency: opts.frequency,
      pids: opts.pids,
      includeIdle: opts.includeIdle,
      intervalMs: opts.intervalMs,
      node: opts.node,
      relabel,
      logger: log,
      metrics,
      spans: spanSession,
    });
  } catch (err) {
    signalSession?.close();
    spanSession?.close();
    metricsServer?.close();
    throw new AgentStartError(`cannot start the CPU sampler: ${(err as Error).message}`);
  }
  const startedAt = Date.now();
  log.info(
    { frequency: opts.frequency, intervalMs: opts.intervalMs, pids: opts.pids, output: opts.output, server: opts.server },
    'agent started',
  );

  const merged = opts.output !== undefined ? new PprofBuilder({ frequency: opts.frequency }) : undefined;
  const pusher = opts.server !== undefined ? new Pusher({ url: opts.server, token, logger: log, metrics }) : undefined;
  const reporter =
    opts.server !== undefined && pusher !== undefined
      ? new HealthReporter({
          url: opts.server,
          token,
          node: opts.node,
          intervalMs: opts.intervalMs,
          startedAt,
          logger: log,
          figures: () => healthFigures(profiler, pusher),
        })
      : undefined;
  const signalCapture =
    signalSession !== undefined && pusher !== undefined
      ? startSignalCapture(signalSession, {
          labelsOf: (pid) => profiler.labelsOf(pid),
          node: opts.node ?? hostname(),
          pusher,
          logger: log,
          metrics,
          intervalMs: opts.intervalMs,
        })
      : undefined;
  const spanCapture =
    spanSession !== undefined && pusher !== undefined
      ? new SpanCapture({
          session: spanSession,
          labelsOf: (pid) => profiler.labelsOf(pid),
          pusher,
          logger: log,
          metrics,
          breakdowns: signalCapture,
        })
      : undefined;
  let intervalStart = startedAt;
  let stopped = false;

  const flushInterval = async (final: boolean): Promise<void> => {
    const now = Date.now();
    const builder = merged ?? new PprofBuilder({ frequency: opts.frequency });
    const added = final ? profiler.stop(builder) : profiler.collect(builder);
    log.debug({ samples: added }, 'interval drained');
    if (pusher !== undefined && added > 0) pusher.enqueueProfile(await builder.encode(intervalStart, now), added, intervalStart, now);
    reporter?.send();
    intervalStart = now;
  };

  const timer = setInterval(() => {
    flushInterval(false).catch((err: unknown) => log.error({ err }, 'interval failed'));
  }, opts.intervalMs);
  const summaryTimer = pusher !== undefined ? setInterval(logPushSummary(pusher, log), PUSH_SUMMARY_EVERY_MS) : undefined;

  let resolveDone!: () => void;
  let rejectDone!: (err: unknown) => void;
  const done = new Promise<void>((res, rej) => {
    resolveDone = res;
    rejectDone = rej;
  });

  const stop = async (): Promise<void> => {
    if (stopped) return done;
    stopped = true;
    clearInterval(timer);
    clearInterval(summaryTimer);
    clearTimeout(durationTimer);
    try {
      await flushInterval(true);
      if (merged !== undefined && opts.output !== undefined) {
        const tmp = `${opts.output}.tmp-${process.pid}`;
        await writeFile(tmp, await merged.encode(startedAt, Date.now()));
        await rename(tmp, opts.output);
        metrics?.profileWritten('file');
        log.info({ output: opts.output, samples: merged.totalCount, stats: profiler.stats() }, 'profile written');
      }
      // Spans first: their last breakdowns need the signal session open.
      spanCapture?.close();
      signalCapture?.close();
      await pusher?.close();
      // What the kernel counted over the whole run, to compare with what reached the sink.
      log.info(
        { stats: profiler.stats(), spans: spanCapture?.stats(), signals: signalCapture?.stats(), pushed: pusher?.stats() },
        'agent stopped',
      );
      profiler.close();
      metricsServer?.close();
      resolveDone();
    } catch (err) {
      rejectDone(err);
    }
    return done;
  };
  const durationTimer = opts.durationMs !== undefined ? setTimeout(() => void stop(), opts.durationMs) : undefined;
  return { done, stop };
}

/** Checked before anything is loaded: wrong rules would label every profile, span and signal wrongly. */
function relabelFrom(file: string): Relabel {
  try {
    return readRelabelFile(file);
  } catch (err) {
    throw new AgentStartError(`--relabel: ${(err as Error).message}`);
  }
}

/** The first token of the file (one per line; blank lines and `#` comments skipped, as the server reads it). */
function tokenFrom(file: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new AgentStartError(`--auth-token-file ${file}: ${(err as Error).message}`);
  }
  const token = text
    .split('\n')
    .map((l) => l.trim())
    .find((l) => l !== '' && !l.startsWith('#'));
  if (token === undefined) throw new AgentStartError(`--auth-token-file ${file} holds no token`);
  if (/\s/.test(token)) throw new AgentStartError(`--auth-token-file ${file}: a token cannot contain spaces`);
  return token;
}

/** The kernel's id of a cgroup (v2): the inode number of its directory; a relative path is under the v2 mount. */
function cgroupId(path: string): bigint {
  let dir = path;
  if (!path.startsWith('/')) {
    const mount = cgroup2Mount();
    if (mount === undefined) throw new AgentStartError(`--spans-cgroup ${path}: no cgroup v2 hierarchy is mounted on this host`);
    dir = `${mount}/${path}`;
  }
  try {
    return statSync(dir, { bigint: true }).ino;
  } catch (err) {
    throw new AgentStartError(`--spans-cgroup ${path}: ${(err as Error).message}`);
  }
}

/** Signal capture over a started session, or none (and the session closed) when its records are not what this agent reads. */
function startSignalCapture(
  session: NativeSignalSession,
  opts: Omit<ConstructorParameters<typeof SignalCapture>[0], 'session' | 'hierarchy'>,
): SignalCapture | undefined {
  try {
    return new SignalCapture({ ...opts, session, hierarchy: cpuHierarchy() });
  } catch (err) {
    session.close();
    opts.logger.error({ err: (err as Error).message }, 'kernel signal capture cannot run; profiling goes on without it');
    return undefined;
  }
}

/** A function that logs what `pusher` did since its last call, when it did anything. */
function logPushSummary(pusher: Pusher, log: Logger): () => void {
  let last: PushStats = pusher.stats();
  let lastAt = Date.now();
  return () => {
    const now = pusher.stats();
    const at = Date.now();
    const change = {
      profiles: now.sent - last.sent,
      samples: now.samples - last.samples,
      spans: now.spans - last.spans,
      signals: now.signals - last.signals,
      retries: now.retries - last.retries,
      rejected: now.rejected - last.rejected,
      dropped: now.dropped - last.dropped,
    };
    if (Object.values(change).some((n) => n > 0))
      log.info({ ...change, queued: now.queued, seconds: Math.round((at - lastAt) / 1000) }, 'push summary');
    last = now;
    lastAt = at;
  };
}
