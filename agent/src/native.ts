// The agent's native addon (agent/native): libbpf, the BPF skeletons, perf fds.
import { createRequire } from 'node:module';

export interface NativeProbeResult {
  facility: string;
  ok: boolean;
  detail: string;
}

export interface NativeAddon {
  /** Loads the doctor's BPF programs one by one and exercises each kernel facility. */
  runDoctor(): Promise<NativeProbeResult[]>;
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
