#pragma once
#include <napi.h>

#include <memory>
#include <vector>

#include "doctor_probes.h"
#include "event_watch.h"
#include "span_capture.h"

struct ring_buffer;

namespace kiln {

// Owns one span capture and its event ring buffer. JS polls the events as one ArrayBuffer of
// records; the CPU sampler (BpfSession) shares its thread_spans map through thread_spans_fd().
class SpanSession : public Napi::ObjectWrap<SpanSession> {
 public:
  static Napi::Function Define(Napi::Env env);
  // The SpanSession behind a JS value, or nullptr if it is not one.
  static SpanSession* From(Napi::Env env, Napi::Value value);
  explicit SpanSession(const Napi::CallbackInfo& info);
  ~SpanSession() override;

  // -1 once closed.
  int thread_spans_fd() const;

 private:
  Napi::Value Poll(const Napi::CallbackInfo& info);
  Napi::Value Watch(const Napi::CallbackInfo& info);
  Napi::Value Stats(const Napi::CallbackInfo& info);
  Napi::Value Hooks(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  void destroy();

  std::unique_ptr<SpanCapture> capture_;
  ring_buffer* ring_ = nullptr;
  // Records of u32 length + `struct socket_event` + payload, filled by Poll.
  std::vector<unsigned char> events_;
  JsEventWatch watch_;
  ProbeResult fentry_;
};

}  // namespace kiln
