#pragma once
#include <napi.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "event_watch.h"

struct profile_bpf;
struct bpf_link;
struct ring_buffer;

namespace kiln {

// Owns one loaded CPU sampler: the skeleton, one perf event + link per CPU, the process
// event ring buffer. JS drains it every interval; batches cross as ArrayBuffers.
class BpfSession : public Napi::ObjectWrap<BpfSession> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit BpfSession(const Napi::CallbackInfo& info);
  ~BpfSession() override;

 private:
  Napi::Value Drain(const Napi::CallbackInfo& info);
  Napi::Value PollEvents(const Napi::CallbackInfo& info);
  Napi::Value WatchEvents(const Napi::CallbackInfo& info);
  Napi::Value Stats(const Napi::CallbackInfo& info);
  Napi::Value Stop(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);

  void stop_sampling();
  // Attaches the sampler to online CPUs that have none yet (at start, and after CPU hotplug).
  std::string attach_new_cpus(const std::vector<int>& online);
  // Detaches (and counts) the samplers of CPUs that went offline, or whose perf event stopped
  // firing (a CPU that went offline and came back between two drains): attach_new_cpus opens
  // them again once their CPU is online.
  void detach_stalled_cpus(const std::vector<int>& online);
  void destroy();

  // One CPU's cpu-clock perf event, the sampler's link to it, and the event's count (the CPU's
  // clock in ns, which only stops when hotplug took the event away) at the last stall check.
  struct CpuEvent {
    int cpu;
    int fd;
    bpf_link* link;
    uint64_t last_count;
  };

  profile_bpf* skel_ = nullptr;
  // The exec/exit probes.
  std::vector<bpf_link*> links_;
  std::vector<CpuEvent> cpu_events_;
  unsigned frequency_ = 19;
  bool sampling_ = false;
  ring_buffer* ring_ = nullptr;
  std::vector<unsigned char> events_;
  // Calls the JS callback of watchEvents() when process events wait in the ring.
  JsEventWatch watch_;
  std::vector<unsigned char> scratch_keys_, scratch_values_;
  // CPUs that had a sampler when sampling stopped, for the final stats.
  unsigned cpus_at_stop_ = 0;
  unsigned cpus_failed_ = 0;
  unsigned cpus_lost_ = 0;
  bool tp_btf_ = false;
  bool preallocated_ = false;
};

}  // namespace kiln
