#pragma once
#include <linux/types.h>

#include <string>
#include <vector>

#include "tracepoint_pairs.h"

struct sched_bpf;

namespace kiln {

struct SchedCaptureOptions {
  // Waits at least this long become episodes (bpf/sched.h SCHED_THRESHOLD_DEFAULT_NS).
  __u64 threshold_ns = 5000000;
  // Span capture's thread_spans map (bpf/spans.h), whose stamps give waits their span; -1: an empty one.
  int thread_spans_fd = -1;
  // The episode ring buffer's size, a power of 2.
  unsigned ring_bytes = 256 * 1024;
};

// Owns the loaded scheduler probe (bpf/sched.bpf.c): a tp_btf sched_switch alone where the kernel
// stamps enqueued tasks (CONFIG_SCHED_INFO) and throttles per task (6.18+); else sched_wakeup,
// sched_wakeup_new and sched_switch, as tp_btf programs or, where those do not load or attach, raw
// tracepoints, all three needed (a wait is measured from one to another). Construction throws
// std::runtime_error, naming what failed with each variant, when none can provide its hooks.
class SchedCapture {
 public:
  explicit SchedCapture(const SchedCaptureOptions& opts);
  ~SchedCapture();
  SchedCapture(const SchedCapture&) = delete;
  SchedCapture& operator=(const SchedCapture&) = delete;

  sched_bpf* skel() const { return skel_; }
  const std::vector<std::string>& attached() const { return hooks_.attached; }
  const std::vector<std::string>& missing() const { return missing_; }
  // Which kernel field tells a throttled wait (bpf/sched.bpf.c task_throttled): `task_struct.throttled`,
  // `cfs_rq.throttle_count` or `none`.
  const std::string& throttle_source() const { return throttle_source_; }

 private:
  void destroy();

  sched_bpf* skel_ = nullptr;
  AttachedHooks hooks_;
  std::vector<std::string> missing_;
  std::string throttle_source_;
};

}  // namespace kiln
