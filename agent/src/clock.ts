// The kernel stamps events with CLOCK_MONOTONIC (bpf_ktime_get_ns); the API carries unix time.

/** What to add to CLOCK_MONOTONIC nanoseconds (bpf_ktime_get_ns, process.hrtime) to get unix nanoseconds, at sub-millisecond precision. */
export function monotonicToUnixNs(): bigint {
  return BigInt(Math.round((performance.timeOrigin + performance.now()) * 1e6)) - process.hrtime.bigint();
}
