#include "span_session.h"

#include <bpf/libbpf.h>
#include <malloc.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "array_buffer.h"
#include "libbpf_log.h"
#include "percpu_stats.h"
#include "string_array.h"
#include "spans.h"  // bpf/spans.h: structs shared with spans.bpf.c
#include "spans.skel.h"
#include "uint_option.h"

namespace kiln {
namespace {

// agent/src/spans/decode-events.ts reads the header's fields at fixed offsets.
static_assert(sizeof(socket_event) == 88, "struct socket_event changed: update agent/src/spans/decode-events.ts");

SpanCaptureOptions parse_options(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) throw Napi::TypeError::New(env, "SpanSession(options): options must be an object");
  Napi::Object o = info[0].As<Napi::Object>();
  SpanCaptureOptions opts;
  opts.exclude_pid = static_cast<__u32>(getpid());
  auto uint_field = [&](const char* name, unsigned& out, unsigned lo, unsigned hi) { read_uint_option(env, o, "SpanSession", name, out, lo, hi); };
  uint_field("payloadBytes", opts.payload_bytes, 0, SPAN_PAYLOAD_MAX);
  uint_field("ringBytes", opts.ring_bytes, 4096, 1u << 30);
  if (opts.ring_bytes & (opts.ring_bytes - 1)) throw Napi::RangeError::New(env, "SpanSession: ringBytes must be a power of 2");
  unsigned exclude = opts.exclude_pid;
  uint_field("excludePid", exclude, 0, 1u << 22);
  opts.exclude_pid = exclude;
  auto array_field = [&](const char* name, auto each) {
    Napi::Value v = o.Get(name);
    if (v.IsUndefined()) return;
    if (!v.IsArray()) throw Napi::TypeError::New(env, std::string("SpanSession: ") + name + " must be an array");
    Napi::Array a = v.As<Napi::Array>();
    for (uint32_t i = 0; i < a.Length(); i++) each(a.Get(i));
  };
  array_field("pids", [&](Napi::Value p) {
    if (!p.IsNumber() || p.As<Napi::Number>().Int64Value() <= 0) throw Napi::TypeError::New(env, "SpanSession: pids must be positive integers");
    opts.pids.push_back(p.As<Napi::Number>().Uint32Value());
  });
  array_field("cgroupIds", [&](Napi::Value c) {
    bool lossless = false;
    if (!c.IsBigInt()) throw Napi::TypeError::New(env, "SpanSession: cgroupIds must be bigints");
    uint64_t id = c.As<Napi::BigInt>().Uint64Value(&lossless);
    if (!lossless || id == 0) throw Napi::RangeError::New(env, "SpanSession: cgroupIds must be nonzero 64-bit ids");
    opts.cgroup_ids.push_back(id);
  });
  return opts;
}

int on_event(void* ctx, void* data, size_t size) {
  auto* out = static_cast<std::vector<unsigned char>*>(ctx);
  const auto length = static_cast<uint32_t>(size);
  const auto* len = reinterpret_cast<const unsigned char*>(&length);
  out->insert(out->end(), len, len + sizeof length);
  auto* bytes = static_cast<unsigned char*>(data);
  out->insert(out->end(), bytes, bytes + size);
  return 0;
}

}  // namespace

Napi::Function SpanSession::Define(Napi::Env env) {
  Napi::Function ctor = DefineClass(env, "SpanSession",
                                    {
                                        InstanceMethod<&SpanSession::Poll>("poll"),
                                        InstanceMethod<&SpanSession::Watch>("watch"),
                                        InstanceMethod<&SpanSession::Stats>("stats"),
                                        InstanceMethod<&SpanSession::Hooks>("hooks"),
                                        InstanceMethod<&SpanSession::Close>("close"),
                                    });
  // Kept so that From() can tell a SpanSession from any other object handed to BpfSession.
  env.SetInstanceData(new Napi::FunctionReference(Napi::Persistent(ctor)));
  return ctor;
}

SpanSession* SpanSession::From(Napi::Env env, Napi::Value value) {
  auto* ctor = env.GetInstanceData<Napi::FunctionReference>();
  if (!ctor || !value.IsObject() || !value.As<Napi::Object>().InstanceOf(ctor->Value())) return nullptr;
  return Unwrap(value.As<Napi::Object>());
}

SpanSession::SpanSession(const Napi::CallbackInfo& info) : Napi::ObjectWrap<SpanSession>(info) {
  Napi::Env env = info.Env();
  SpanCaptureOptions opts = parse_options(info);
  try {
    capture_ = std::make_unique<SpanCapture>(opts);
  } catch (const std::exception& e) {
    throw Napi::Error::New(env, std::string("cannot start span capture: ") + e.what());
  }
  ring_ = ring_buffer__new(bpf_map__fd(capture_->skel()->maps.events), on_event, &events_, nullptr);
  if (!ring_) {
    std::string msg = libbpf_error("ring_buffer__new", errno);
    destroy();
    throw Napi::Error::New(env, msg);
  }
  // fentry would be cheaper than two tracepoints per syscall where a kernel allows it; asked once
  // here so that hooks() says why it is not used.
  fentry_ = probe_fentry();
  malloc_trim(0);
}

SpanSession::~SpanSession() { destroy(); }

void SpanSession::destroy() {
  watch_.stop();
  if (ring_) ring_buffer__free(ring_);
  ring_ = nullptr;
  capture_.reset();
}

int SpanSession::thread_spans_fd() const { return capture_ ? bpf_map__fd(capture_->skel()->maps.thread_spans) : -1; }

Napi::Value SpanSession::Poll(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!ring_) throw Napi::Error::New(env, "SpanSession is closed");
  events_.clear();
  int n = ring_buffer__consume(ring_);
  if (n < 0) throw Napi::Error::New(env, libbpf_error("consume socket events", n));
  return to_array_buffer(env, std::move(events_));
}

// watch(callback, delayMs): calls `callback` delayMs after socket events arrive (it is expected to
// call poll()), at most once per delayMs; nothing runs while none arrive.
Napi::Value SpanSession::Watch(const Napi::CallbackInfo& info) {
  if (!ring_) throw Napi::Error::New(info.Env(), "SpanSession is closed");
  watch_.start(info, "watch", ring_buffer__epoll_fd(ring_));
  return info.Env().Undefined();
}

Napi::Value SpanSession::Stats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!capture_) throw Napi::Error::New(env, "SpanSession is closed");
  static const char* const names[SPAN_STAT_MAX] = {"events", "eventsLost", "connsFull", "threadsFull", "payloadErrors"};
  return sum_percpu_stats(env, capture_->skel()->maps.stats, names, SPAN_STAT_MAX);
}

Napi::Value SpanSession::Hooks(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!capture_) throw Napi::Error::New(env, "SpanSession is closed");
  Napi::Object out = Napi::Object::New(env);
  out.Set("tracepoints", to_string_array(env, capture_->attached()));
  out.Set("missing", to_string_array(env, capture_->missing()));
  Napi::Object fentry = Napi::Object::New(env);
  fentry.Set("ok", fentry_.ok);
  fentry.Set("detail", fentry_.detail);
  out.Set("fentry", fentry);
  return out;
}

Napi::Value SpanSession::Close(const Napi::CallbackInfo& info) {
  destroy();
  return info.Env().Undefined();
}

}  // namespace kiln
