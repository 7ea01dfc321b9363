#pragma once
#include <linux/types.h>

#include <string>
#include <vector>

struct spans_bpf;
struct bpf_link;

namespace kiln {

struct SpanCaptureOptions {
  // Payload bytes copied per event (bpf/spans.h: SPAN_PAYLOAD_DEFAULT, at most SPAN_PAYLOAD_MAX).
  unsigned payload_bytes = 256;
  // Follow only these processes / cgroups (filtered in the kernel); empty: all.
  std::vector<__u32> pids;
  std::vector<__u64> cgroup_ids;
  // The event ring buffer's size, a power of 2.
  unsigned ring_bytes = 1u << 20;
  // The agent itself: its own uploads are not spans.
  __u32 exclude_pid = 0;
};

// Owns loaded span capture (bpf/spans.bpf.c): the skeleton and one link per syscall tracepoint
// it attached. A tracepoint this kernel lacks is listed in `missing` instead of failing the rest;
// construction throws std::runtime_error only when the object cannot be loaded or nothing attaches.
class SpanCapture {
 public:
  explicit SpanCapture(const SpanCaptureOptions& opts);
  ~SpanCapture();
  SpanCapture(const SpanCapture&) = delete;
  SpanCapture& operator=(const SpanCapture&) = delete;

  spans_bpf* skel() const { return skel_; }
  // Tracepoints attached ("syscalls:sys_enter_read", …) and those that failed, with why.
  const std::vector<std::string>& attached() const { return attached_; }
  const std::vector<std::string>& missing() const { return missing_; }

 private:
  void destroy();

  spans_bpf* skel_ = nullptr;
  std::vector<bpf_link*> links_;
  std::vector<std::string> attached_, missing_;
};

}  // namespace kiln
