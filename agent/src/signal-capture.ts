// Kernel signals in the running agent: the scheduler and retransmit probes (native SignalSession)
// → every interval, each cgroup's waits, the long waits (episodes), the kernel's cpu.stat counters of
// the cgroups that waited, and each connection's retransmits, labelled as the profiles are, as one
// gzipped msgpack batch through the pusher; and each server span's latency breakdown.
import { readFileSync } from 'node:fs';
import type { AgentSignalBatch, AgentSpan } from '@kiln/api/http';
import type { Logger } from 'pino';
import type { CpuHierarchy } from './cgroups.js';
import { monotonicToUnixNs } from './clock.js';
import type { AgentMetrics } from './metrics.js';
import type { NativeSignalSession, SignalSessionStats } from './native.js';
import type { Pusher } from './push.js';
import {
  batchSize,
  cpuStatRecords,
  episodeRecords,
  retransmitRecords,
  SignalBatchEncoder,
  waitRecords,
  type SignalLabelling,
} from './signals/batch.js';
import { spanBreakdown } from './signals/breakdown.js';
import { CgroupPaths } from './signals/cgroup-paths.js';
import { CpuStatDeltas, readCpuStat } from './signals/cpu-stat.js';
import {
  checkRecordSizes,
  decodeCgroupWaits,
  decodeConnectionRetransmits,
  decodeEpisodes,
  decodeRetransmitEvents,
  type SchedEpisode,
} from './signals/decode.js';
import { connectionKey, RetransmitLog } from './signals/retransmit-log.js';
import type { SpanBreakdowns } from './span-capture.js';
import type { KernelSpan } from './spans/tracker.js';

export interface SignalCaptureOptions {
  session: NativeSignalSession;
  /** The CPU controller's hierarchy, where cgroup ids become paths; undefined: none is mounted (paths unknown). */
  hierarchy: CpuHierarchy | undefined;
  /** The labels the process's CPU profiles carry. */
  labelsOf: (pid: number) => Record<string, string>;
  /** The node label. */
  node: string;
  pusher: Pusher;
  logger: Logger;
  metrics?: AgentMetrics;
  /** How often waits and retransmits are drained and sent: the agent's interval. */
  intervalMs: number;
}

export interface SignalCaptureStats {
  /** Records that did not decode. */
  malformedRecords: number;
  /** Episodes beyond one interval's limit, not sent. */
  episodesDropped: number;
  /** Server spans given a breakdown. */
  spanBreakdowns: number;
}

// Records wait this long in the rings before they are read: one wake-up per burst.
const POLL_DELAY_MS = 50;
// Episodes sent per interval at most; past it the agent would hold an unbounded backlog.
const MAX_EPISODES_PER_INTERVAL = 20_000;
// A cgroup's cpu.stat is read while it waited within this long: throttling shows in waits first.
const ACTIVE_FOR_MS = 60_000;
const MAX_ACTIVE_CGROUPS = 1024;
// Labels of a cgroup come from one of its processes; these name that process, not the cgroup.
const PROCESS_LABELS = new Set(['pid', 'comm', 'exe']);

export class SignalCapture implements SpanBreakdowns {
  readonly #opts: SignalCaptureOptions;
  readonly #monotonicToUnixNs = monotonicToUnixNs();
  readonly #paths: CgroupPaths | undefined;
  readonly #cpuStats: CpuStatDeltas | undefined;
  readonly #retransmits = new RetransmitLog();
  readonly #encoder = new SignalBatchEncoder();
  #episodes: SchedEpisode[] = [];
  /** Cgroup id → when it last waited (ms). */
  readonly #active = new Map<bigint, number>();
  #lastFlushMs = Date.now();
  readonly #stats: SignalCaptureStats = { malformedRecords: 0, episodesDropped: 0, spanBreakdowns: 0 };
  readonly #timer: NodeJS.Timeout;
  #closed = false;
  #finalKernelStats: SignalSessionStats | undefined;

  /** Throws when the session's records are not laid out as the decoders read them. */
  constructor(opts: SignalCaptureOptions) {
    checkRecordSizes(opts.session.recordSizes);
    this.#opts = opts;
    const hierarchy = opts.hierarchy;
    if (hierarchy !== undefined) {
      this.#paths = new CgroupPaths({ hierarchy });
      this.#cpuStats = new CpuStatDeltas((dir) => readCpuStat(dir, hierarchy.version));
    }
    opts.session.watch(() => this.#poll(), POLL_DELAY_MS);
    this.#timer = setInterval(() => this.flush(), opts.intervalMs);
  }

  readonly #malformed = (): void => {
    this.#stats.malformedRecords++;
  };

  #poll(): void {
    if (this.#closed) return;
    try {
      for (const e of decodeEpisodes(this.#opts.session.pollEpisodes(), this.#malformed)) {
        if (this.#episodes.length < MAX_EPISODES_PER_INTERVAL) this.#episodes.push(e);
        else this.#stats.episodesDropped++;
      }
      for (const e of decodeRetransmitEvents(this.#opts.session.pollRetransmits(), this.#malformed)) this.#retransmits.add(e);
    } catch (err) {
      this.#opts.logger.error({ err }, 'cannot read kernel signal records');
    }
  }

  /** Sets `breakdown` on each server span from the kernel's times of its thread and its connection's retransmits. */
  addBreakdowns(spans: { span: AgentSpan; kernel: KernelSpan }[]): void {
    if (this.#closed || spans.length === 0) return;
    this.#poll();
    const times = this.#opts.session.takeSpanTimes(BigUint64Array.from(spans, (s) => s.kernel.id));
    spans.forEach(({ span, kernel: k }, i) => {
      const retransmits = this.#retransmits.segments(
        connectionKey(k.localAddress, k.localPort, k.remoteAddress, k.remotePort),
        k.startNs,
        k.endNs,
      );
      span.breakdown = spanBreakdown(
        span.durationNs,
        { runQueueNs: times[4 * i] ?? 0, throttledNs: times[4 * i + 1] ?? 0, blockedNs: times[4 * i + 2] ?? 0 },
        retransmits,
      );
    });
    this.#stats.spanBreakdowns += spans.length;
  }

  /** Drains the interval's waits and retransmits, reads the active cgroups' cpu.stat and sends the batch. */
  flush(): void {
    if (this.#closed) return;
    this.#poll();
    const nowMs = Date.now();
    const intervalMs = Math.max(1, nowMs - this.#lastFlushMs);
    this.#lastFlushMs = nowMs;
    try {
      const { session } = this.#opts;
      const waits = decodeCgroupWaits(session.drainCgroupWaits(), this.#malformed);
      const connections = decodeConnectionRetransmits(session.drainRetransmits(), this.#malformed);
      const episodes = this.#episodes;
      this.#episodes = [];
      for (const w of waits) this.#active.set(w.cgroupId, nowMs);
      const labelling = this.#labelling(nowMs, intervalMs);
      const batch: AgentSignalBatch = {
        waits: waitRecords(waits, labelling),
        episodes: episodeRecords(episodes, labelling),
        cpuStats: cpuStatRecords(this.#pollCpuStats(nowMs), labelling),
        retransmits: retransmitRecords(connections, labelling),
      };
      const records = batchSize(batch);
      if (records > 0) this.#opts.pusher.enqueueSignals(this.#encoder.encode(batch), records);
      this.#retransmits.prune(process.hrtime.bigint());
    } catch (err) {
      this.#opts.logger.error({ err }, 'cannot collect kernel signals');
    }
    this.#opts.metrics?.observeSignals(this.#opts.session.stats(), this.#stats);
  }

  /** The cpu.stat growth of the cgroups that waited lately; the root has no quota to throttle it. */
  #pollCpuStats(nowMs: number): ReturnType<CpuStatDeltas['poll']> {
    const paths = this.#paths;
    if (paths === undefined || this.#cpuStats === undefined) return [];
    for (const [id, seen] of this.#active) if (seen < nowMs - ACTIVE_FOR_MS) this.#active.delete(id);
    // Oldest first in the map: past the bound, the longest quiet go.
    for (const id of this.#active.keys()) {
      if (this.#active.size <= MAX_ACTIVE_CGROUPS) break;
      this.#active.delete(id);
    }
    const cgroups = [...this.#active.keys()].flatMap((id) => {
      const found = paths.of(id);
      return found === undefined || found.path === '/' ? [] : [{ id, dir: found.dir }];
    });
    return this.#cpuStats.poll(cgroups, (dir, err) => this.#opts.logger.warn({ dir, err: err.message }, 'cannot read cpu.stat'));
  }

  #labelling(nowMs: number, intervalMs: number): SignalLabelling {
    const nodeLabels = { node: this.#opts.node };
    const cgroupLabels = new Map<bigint, Record<string, string>>();
    return {
      nowMs,
      intervalMs,
      monotonicToUnixNs: this.#monotonicToUnixNs,
      cgroupPath: (id) => this.#paths?.pathOf(id) ?? `unknown cgroup ${id}`,
      cgroupLabels: (id) => {
        let labels = cgroupLabels.get(id);
        if (labels === undefined) cgroupLabels.set(id, (labels = this.#cgroupLabels(id) ?? nodeLabels));
        return labels;
      },
      processLabels: (pid) => this.#opts.labelsOf(pid),
      nodeLabels,
    };
  }

  /** The labels of the first process in the cgroup, less those that name the process; undefined for the root or an empty cgroup. */
  #cgroupLabels(id: bigint): Record<string, string> | undefined {
    const found = this.#paths?.of(id);
    if (found === undefined || found.path === '/') return undefined;
    let procs: string;
    try {
      procs = readFileSync(`${found.dir}/cgroup.procs`, 'utf8');
    } catch {
      return undefined;
    }
    const pid = Number(procs.split('\n', 1)[0]);
    if (!(pid > 0)) return undefined;
    return Object.fromEntries(Object.entries(this.#opts.labelsOf(pid)).filter(([name]) => !PROCESS_LABELS.has(name)));
  }

  stats(): { kernel: SignalSessionStats; capture: SignalCaptureStats } {
    return { kernel: this.#finalKernelStats ?? this.#opts.session.stats(), capture: { ...this.#stats } };
  }

  /** Sends what the kernel holds (the agent is stopping), then stops both probes. */
  close(): void {
    if (this.#closed) return;
    clearInterval(this.#timer);
    this.flush();
    this.#closed = true;
    this.#finalKernelStats = this.#opts.session.stats();
    this.#opts.session.close();
  }
}
