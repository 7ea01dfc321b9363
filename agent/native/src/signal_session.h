#pragma once
#include <napi.h>

#include <memory>
#include <string>
#include <vector>

#include "event_watch.h"
#include "retransmit_capture.h"
#include "sched_capture.h"

struct ring_buffer;

namespace kiln {

// The scheduler and retransmit probes (agent/src/native.ts NativeSignalSession). Each loads on its
// own: one that cannot is reported by hooks() while the other runs; construction throws only when
// neither loads. Ring records and drained map entries cross to JS as ArrayBuffers of fixed-size records.
class SignalSession : public Napi::ObjectWrap<SignalSession> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit SignalSession(const Napi::CallbackInfo& info);
  ~SignalSession() override;

 private:
  Napi::Value PollEpisodes(const Napi::CallbackInfo& info);
  Napi::Value PollRetransmits(const Napi::CallbackInfo& info);
  Napi::Value Watch(const Napi::CallbackInfo& info);
  Napi::Value DrainCgroupWaits(const Napi::CallbackInfo& info);
  Napi::Value DrainRetransmits(const Napi::CallbackInfo& info);
  Napi::Value TakeSpanTimes(const Napi::CallbackInfo& info);
  Napi::Value Stats(const Napi::CallbackInfo& info);
  Napi::Value Hooks(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  void check_open(Napi::Env env) const;
  void destroy();

  std::unique_ptr<SchedCapture> sched_;
  std::unique_ptr<RetransmitCapture> retransmits_;
  // Why a probe did not load (empty when it did).
  std::string sched_error_, retransmits_error_;
  ring_buffer* episodes_ring_ = nullptr;
  ring_buffer* retransmits_ring_ = nullptr;
  // An epoll fd over both rings' epoll fds: watch() wakes when either has records.
  int epoll_fd_ = -1;
  std::vector<unsigned char> records_;
  std::vector<unsigned char> scratch_keys_, scratch_values_;
  JsEventWatch watch_;
  bool closed_ = false;
};

}  // namespace kiln
