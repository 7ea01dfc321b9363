// The agent's native addon (agent/native): libbpf, the BPF skeletons, perf fds.
import { createRequire } from 'node:module';

export interface NativeProbeResult {
  facility: string;
  ok: boolean;
  detail: string;
}

export interface BpfSessionOptions {
  /** Samples per second per CPU, 1–999. */
  frequency: number;
  /** Sample only these processes (filtered in the kernel); empty: every process. */
  pids: number[];
  /** Also sample the idle task (pid 0). */
  includeIdle: boolean;
  countsEntries?: number;
  stacksEntries?: number;
  /** Size of the process-event ring buffer, a power of 2 (default 256 KiB: ~6,500 events). */
  eventsBytes?: number;
  /** Span capture whose thread stamps the samples carry (its thread_spans map is shared); without it no sample has a span. */
  spans?: NativeSpanSession;
}

export interface SpanSessionOptions {
  /** Payload bytes copied per socket event, 0–1024 (default 256). */
  payloadBytes?: number;
  /** Follow only these processes (filtered in the kernel); empty or absent: every process. */
  pids?: number[];
  /** Follow only processes in these cgroups (ids as the kernel's cgroup inode numbers); empty or absent: all. */
  cgroupIds?: bigint[];
  /** The socket-event ring buffer's size, a power of 2 (default 1 MiB). */
  ringBytes?: number;
  /** A process whose sockets are never followed (default: this one, whose uploads are not spans). */
  excludePid?: number;
}

export interface SpanSessionStats {
  events: number;
  /** Events dropped: the ring buffer was full. */
  eventsLost: number;
  /** Connections not followed: the kernel's connection map was full. */
  connsFull: number;
  /** Threads not stamped with their span: the thread map was full. */
  threadsFull: number;
  /** Payloads that could not be read from the process's memory (the event is kept, without payload). */
  payloadErrors: number;
}

export interface SpanHooks {
  /** The tracepoints span capture attached on this kernel, as `syscalls:sys_enter_read`. */
  tracepoints: string[];
  /** Tracepoints it could not attach, each with libbpf's reason. */
  missing: string[];
  /** Whether this kernel allowed an fentry program (on tcp_sendmsg); capture uses the tracepoints either way. */
  fentry: { ok: boolean; detail: string };
}

export interface NativeSpanSession {
  /** Socket events: records of u32 length, then `struct socket_event` (bpf/spans.h) and its payload. */
  poll(): ArrayBuffer;
  /** Calls `callback` `delayMs` after socket events arrive, at most once per `delayMs`; it should call poll(). */
  watch(callback: () => void, delayMs: number): void;
  stats(): SpanSessionStats;
  hooks(): SpanHooks;
  close(): void;
}

export interface SignalSessionOptions {
  /** Waits at least this long become episodes, in ns (default 5 ms: bpf/sched.h SCHED_THRESHOLD_DEFAULT_NS). */
  thresholdNs?: number;
  /** Span capture whose thread stamps the scheduler probe reads (its thread_spans map is shared): without it no span has times. */
  spans?: NativeSpanSession;
  /** Size of each ring buffer (episodes, retransmit events), a power of 2 (default 256 KiB). */
  ringBytes?: number;
  /** Load the scheduler probe (default true); off, the session measures retransmits only (the benchmark isolates each probe's cost). */
  sched?: boolean;
  /** Load the retransmit probe (default true). */
  retransmits?: boolean;
}

export interface SignalSessionStats {
  /** bpf/sched.h enum sched_stat */
  switches: number;
  waits: number;
  episodes: number;
  episodesLost: number;
  cgroupsFull: number;
  spansFull: number;
  /** bpf/retransmits.h enum retransmit_stat */
  retransmitHits: number;
  retransmitsFailed: number;
  retransmitsNoOwner: number;
  retransmitConnsFull: number;
  ownersFull: number;
  retransmitEventsLost: number;
}

export interface SignalProbeHooks {
  /** What each probe attached on this kernel, e.g. `tp_btf/sched_switch`, `raw_tp/tcp_retransmit_skb`, `tracepoint/sock/inet_sock_set_state`. */
  attached: string[];
  /** What it could not attach, each with libbpf's reason. */
  missing: string[];
}

export interface SignalHooks {
  sched: SignalProbeHooks;
  retransmits: SignalProbeHooks;
  /** How a throttled wait is told from a run-queue one on this kernel: `task_struct.throttled` (6.18+), `cfs_rq.throttle_count`, or `none`. */
  throttleSource: string;
}

export interface NativeSignalSession {
  /** Fixed-size records of `struct sched_episode` (bpf/sched.h) that waited in the ring. */
  pollEpisodes(): ArrayBuffer;
  /** Fixed-size records of `struct retransmit_event` (bpf/retransmits.h) that waited in the ring. */
  pollRetransmits(): ArrayBuffer;
  /** Calls `callback` `delayMs` after records arrive in either ring, at most once per `delayMs`; it should call both polls. */
  watch(callback: () => void, delayMs: number): void;
  /** Every cgroup's waits since the last drain (the map is emptied): records of `struct cgroup_wait_key` + `struct cgroup_wait`. */
  drainCgroupWaits(): ArrayBuffer;
  /** Every connection's retransmits since the last drain (emptied): records of `struct tcp_tuple` + `struct retransmit_count`. */
  drainRetransmits(): ArrayBuffer;
  /**
   * The off-CPU times of finished spans (removed from the kernel's map): for span i of `spanIds`,
   * [runqueue_ns, throttled_ns, blocked_ns, switches] at 4i..4i+3; zeros for a span the kernel has no times for.
   */
  takeSpanTimes(spanIds: BigUint64Array): Float64Array;
  /** The record sizes, so that the TS decoders check them against bpf/*.h. */
  readonly recordSizes: { episode: number; retransmitEvent: number; cgroupWait: number; connection: number };
  stats(): SignalSessionStats;
  hooks(): SignalHooks;
  close(): void;
}

export interface RawDrain {
  /** Records of `struct sample_key` + u64 count (bpf/profile.h). */
  samples: ArrayBuffer;
  sampleRecordSize: number;
  /** Records of u64 hash + `struct stack`. */
  stacks: ArrayBuffer;
  stackRecordSize: number;
}

export interface SessionStats {
  samples: number;
  countsFull: number;
  stacksFull: number;
  userStackErrors: number;
  kernelStackErrors: number;
  eventsLost: number;
  /** CPUs with a sampler (as it was when sampling stopped, once it has). */
  cpusAttached: number;
  /** Failed attempts to attach to an online CPU (retried at every drain). */
  cpusFailed: number;
  /** Samplers closed because CPU hotplug took their CPU offline or stopped their perf event; opened again once the CPU is online. */
  cpusLost: number;
  tpBtf: boolean;
  /** The count and stack maps were allocated whole at load (kernels before 6.1), not as they fill. */
  mapsPreallocated: boolean;
}

export interface NativeBpfSession {
  drain(): RawDrain;
  /** Records of `struct process_event` (bpf/profile.h). */
  pollEvents(): ArrayBuffer;
  /** Calls `callback` `delayMs` after process events arrive, at most once per `delayMs`; it should call pollEvents(). */
  watchEvents(callback: () => void, delayMs: number): void;
  stats(): SessionStats;
  stop(): void;
  close(): void;
}

export interface NativeAddon {
  /**
   * Loads the doctor's BPF programs one by one and exercises each kernel facility; with
   * `startup`, only the cheap checks of what CPU sampling needs (BTF, tracefs, cpu-clock perf events).
   */
  runDoctor(options?: { startup?: boolean }): Promise<NativeProbeResult[]>;
  BpfSession: new (options: BpfSessionOptions) => NativeBpfSession;
  SpanSession: new (options: SpanSessionOptions) => NativeSpanSession;
  /** The scheduler and retransmit probes (bpf/sched.bpf.c, bpf/retransmits.bpf.c): throws when neither can load. */
  SignalSession: new (options: SignalSessionOptions) => NativeSignalSession;
}

const addonPath = '../native/build/Release/kiln_agent.node';
let addon: NativeAddon | undefined;

export function native(): NativeAddon {
  if (addon === undefined) {
    try {
      addon = createRequire(import.meta.url)(addonPath) as NativeAddon;
    } catch (err) {
      throw new Error(`the agent's native addon is not built (${(err as Error).message.split('\n')[0]}); run \`make build\``);
    }
  }
  return addon;
}
