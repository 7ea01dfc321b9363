#pragma once
#include <linux/perf_event.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdint>

namespace kiln {

// A software cpu-clock perf event on `cpu` sampling at `hz` per second, all tasks; created
// disabled when asked. The fd, or -1 with errno set.
inline int open_cpu_clock(int cpu, uint64_t hz, bool disabled) {
  perf_event_attr attr{};
  attr.size = sizeof attr;
  attr.type = PERF_TYPE_SOFTWARE;
  attr.config = PERF_COUNT_SW_CPU_CLOCK;
  attr.freq = 1;
  attr.sample_freq = hz;
  attr.disabled = disabled ? 1 : 0;
  return static_cast<int>(syscall(__NR_perf_event_open, &attr, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC));
}

}  // namespace kiln
