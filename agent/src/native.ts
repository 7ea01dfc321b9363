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
