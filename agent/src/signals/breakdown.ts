// A server span's latency as its thread spent it: on the CPU, waiting for one, throttled, or
// sleeping, from the off-CPU times the scheduler probe summed while the thread carried the span's
// stamp; and the segments retransmitted on its connection while it was open.
import type { SpanBreakdown } from '@kiln/api/http';

/**
 * The parts add up to the duration. The kernel's times can exceed it by a little (the span's ends
 * are syscall exits, the probe's switch times are taken on other CPUs); then the three off-CPU
 * parts are scaled down to fill it and nothing is left on the CPU.
 */
export function spanBreakdown(
  durationNs: number,
  times: { runQueueNs: number; throttledNs: number; blockedNs: number },
  retransmits: number,
): SpanBreakdown {
  const duration = Math.max(0, Math.round(durationNs));
  const off = times.runQueueNs + times.throttledNs + times.blockedNs;
  if (off <= duration)
    return {
      onCpuNs: duration - off,
      runQueueNs: times.runQueueNs,
      throttledNs: times.throttledNs,
      offCpuNs: times.blockedNs,
      retransmits,
    };
  const scale = duration / off;
  const runQueueNs = Math.floor(times.runQueueNs * scale);
  const throttledNs = Math.floor(times.throttledNs * scale);
  return { onCpuNs: 0, runQueueNs, throttledNs, offCpuNs: duration - runQueueNs - throttledNs, retransmits };
}
