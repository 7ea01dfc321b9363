#pragma once
#include <napi.h>

#include <memory>
#include <vector>

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
  Napi::Value Stats(const Napi::CallbackInfo& info);
  Napi::Value Stop(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);

  void stop_sampling();
  // Attaches the sampler to online CPUs that have none yet (at start, and after CPU hotplug).
  std::string attach_new_cpus();
  void destroy();

  profile_bpf* skel_ = nullptr;
  std::vector<bpf_link*> links_;
  std::vector<int> perf_fds_;
  std::vector<int> sampled_cpus_;
  unsigned frequency_ = 19;
  bool sampling_ = false;
  ring_buffer* ring_ = nullptr;
  std::vector<unsigned char> events_;
  std::vector<unsigned char> scratch_keys_, scratch_values_;
  unsigned cpus_attached_ = 0;
  unsigned cpus_failed_ = 0;
  bool tp_btf_ = false;
};

}  // namespace kiln
