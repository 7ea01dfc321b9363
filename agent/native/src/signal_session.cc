#include "signal_session.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <malloc.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>

#include "array_buffer.h"
#include "libbpf_log.h"
#include "map_drain.h"
#include "percpu_stats.h"
#include "string_array.h"
#include "retransmits.h"  // bpf/retransmits.h
#include "retransmits.skel.h"
#include "sched.h"  // bpf/sched.h
#include "sched.skel.h"
#include "span_session.h"
#include "uint_option.h"

namespace kiln {
namespace {

// The decoders in agent/src/signals/ read these records at fixed offsets and check recordSizes.
static_assert(sizeof(sched_episode) == 64, "struct sched_episode changed: update recordSizes.episode's decoder in agent/src/signals/");
static_assert(sizeof(retransmit_event) == 64, "struct retransmit_event changed: update its decoder in agent/src/signals/");
static_assert(sizeof(cgroup_wait_key) + sizeof(cgroup_wait) == 288, "struct cgroup_wait(_key) changed: update its decoder in agent/src/signals/");
static_assert(sizeof(tcp_tuple) + sizeof(retransmit_count) == 112, "struct tcp_tuple / retransmit_count changed: update its decoder in agent/src/signals/");
static_assert(sizeof(span_times) == 4 * sizeof(__u64), "takeSpanTimes returns struct span_times as 4 numbers per span");

struct Options {
  SchedCaptureOptions sched;
  unsigned ring_bytes = 256 * 1024;
  bool load_sched = true;
  bool load_retransmits = true;
};

Options parse_options(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) throw Napi::TypeError::New(env, "SignalSession(options): options must be an object");
  Napi::Object o = info[0].As<Napi::Object>();
  Options opts;
  opts.sched.threshold_ns = SCHED_THRESHOLD_DEFAULT_NS;
  Napi::Value threshold = o.Get("thresholdNs");
  if (!threshold.IsUndefined()) {
    // Up to a minute: a longer wait is not a scheduling delay but a stuck host.
    constexpr double kMax = 60e9;
    const double d = threshold.IsNumber() ? threshold.As<Napi::Number>().DoubleValue() : -1;
    if (!(d >= 0 && d <= kMax) || d != std::floor(d)) throw Napi::RangeError::New(env, "SignalSession: thresholdNs must be an integer in [0, 60000000000]");
    opts.sched.threshold_ns = static_cast<__u64>(d);
  }
  read_uint_option(env, o, "SignalSession", "ringBytes", opts.ring_bytes, 4096, 1u << 30);
  if (opts.ring_bytes & (opts.ring_bytes - 1)) throw Napi::RangeError::New(env, "SignalSession: ringBytes must be a power of 2");
  opts.sched.ring_bytes = opts.ring_bytes;
  auto bool_field = [&](const char* name, bool& out) {
    Napi::Value v = o.Get(name);
    if (v.IsUndefined()) return;
    if (!v.IsBoolean()) throw Napi::TypeError::New(env, std::string("SignalSession: ") + name + " must be a boolean");
    out = v.As<Napi::Boolean>().Value();
  };
  bool_field("sched", opts.load_sched);
  bool_field("retransmits", opts.load_retransmits);
  if (!opts.load_sched && !opts.load_retransmits) throw Napi::RangeError::New(env, "SignalSession: sched and retransmits are both off: nothing to load");
  Napi::Value spans = o.Get("spans");
  if (!spans.IsUndefined()) {
    SpanSession* session = SpanSession::From(env, spans);
    if (!session) throw Napi::TypeError::New(env, "SignalSession: spans must be a SpanSession");
    opts.sched.thread_spans_fd = session->thread_spans_fd();
    if (opts.sched.thread_spans_fd < 0) throw Napi::Error::New(env, "SignalSession: the SpanSession is closed");
  }
  return opts;
}

template <typename Record>
int on_record(void* ctx, void* data, size_t size) {
  auto* out = static_cast<std::vector<unsigned char>*>(ctx);
  if (size == sizeof(Record)) {
    auto* bytes = static_cast<unsigned char*>(data);
    out->insert(out->end(), bytes, bytes + size);
  }
  return 0;
}

Napi::Object probe_hooks(Napi::Env env, const std::vector<std::string>& attached, const std::vector<std::string>& missing) {
  Napi::Object out = Napi::Object::New(env);
  out.Set("attached", to_string_array(env, attached));
  out.Set("missing", to_string_array(env, missing));
  return out;
}

const char* const kSchedStats[SCHED_STAT_MAX] = {"switches", "waits", "episodes", "episodesLost", "cgroupsFull", "spansFull"};
const char* const kRetransmitStats[RETRANS_STAT_MAX] = {"retransmitHits",      "retransmitsFailed", "retransmitsNoOwner",
                                                        "retransmitConnsFull", "ownersFull",        "retransmitEventsLost"};

}  // namespace

Napi::Function SignalSession::Define(Napi::Env env) {
  return DefineClass(env, "SignalSession",
                     {
                         InstanceMethod<&SignalSession::PollEpisodes>("pollEpisodes"),
                         InstanceMethod<&SignalSession::PollRetransmits>("pollRetransmits"),
                         InstanceMethod<&SignalSession::Watch>("watch"),
                         InstanceMethod<&SignalSession::DrainCgroupWaits>("drainCgroupWaits"),
                         InstanceMethod<&SignalSession::DrainRetransmits>("drainRetransmits"),
                         InstanceMethod<&SignalSession::TakeSpanTimes>("takeSpanTimes"),
                         InstanceMethod<&SignalSession::Stats>("stats"),
                         InstanceMethod<&SignalSession::Hooks>("hooks"),
                         InstanceMethod<&SignalSession::Close>("close"),
                     });
}

SignalSession::SignalSession(const Napi::CallbackInfo& info) : Napi::ObjectWrap<SignalSession>(info) {
  Napi::Env env = info.Env();
  Options opts = parse_options(info);
  if (!opts.load_sched) sched_error_ = "not requested";
  else try {
      sched_ = std::make_unique<SchedCapture>(opts.sched);
    } catch (const std::exception& e) {
      sched_error_ = e.what();
    }
  if (!opts.load_retransmits) retransmits_error_ = "not requested";
  else try {
      retransmits_ = std::make_unique<RetransmitCapture>(opts.ring_bytes);
    } catch (const std::exception& e) {
      retransmits_error_ = e.what();
    }
  if (!sched_ && !retransmits_) throw Napi::Error::New(env, "cannot start signal capture: " + sched_error_ + "; " + retransmits_error_);

  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0) {
    destroy();
    throw Napi::Error::New(env, std::string("epoll_create1: ") + std::strerror(errno));
  }
  auto open_ring = [&](bpf_map* map, ring_buffer_sample_fn fn) {
    ring_buffer* ring = ring_buffer__new(bpf_map__fd(map), fn, &records_, nullptr);
    epoll_event ev = {};
    ev.events = EPOLLIN;
    if (!ring || epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, ring_buffer__epoll_fd(ring), &ev) != 0) {
      std::string msg = libbpf_error(std::string("watch ") + bpf_map__name(map), errno);
      if (ring) ring_buffer__free(ring);
      destroy();
      throw Napi::Error::New(env, msg);
    }
    return ring;
  };
  if (sched_) episodes_ring_ = open_ring(sched_->skel()->maps.episodes, on_record<sched_episode>);
  if (retransmits_) retransmits_ring_ = open_ring(retransmits_->skel()->maps.retransmit_events, on_record<retransmit_event>);

  Napi::Object sizes = Napi::Object::New(env);
  sizes.Set("episode", Napi::Number::New(env, sizeof(sched_episode)));
  sizes.Set("retransmitEvent", Napi::Number::New(env, sizeof(retransmit_event)));
  sizes.Set("cgroupWait", Napi::Number::New(env, sizeof(cgroup_wait_key) + sizeof(cgroup_wait)));
  sizes.Set("connection", Napi::Number::New(env, sizeof(tcp_tuple) + sizeof(retransmit_count)));
  sizes.Freeze();
  info.This().As<Napi::Object>().DefineProperty(Napi::PropertyDescriptor::Value("recordSizes", sizes, napi_enumerable));
  // Loading parsed the kernel's BTF (megabytes, freed in pieces): return the free pages.
  malloc_trim(0);
}

SignalSession::~SignalSession() { destroy(); }

void SignalSession::destroy() {
  closed_ = true;
  watch_.stop();
  if (episodes_ring_) ring_buffer__free(episodes_ring_);
  if (retransmits_ring_) ring_buffer__free(retransmits_ring_);
  episodes_ring_ = retransmits_ring_ = nullptr;
  if (epoll_fd_ >= 0) close(epoll_fd_);
  epoll_fd_ = -1;
  sched_.reset();
  retransmits_.reset();
}

void SignalSession::check_open(Napi::Env env) const {
  if (closed_) throw Napi::Error::New(env, "SignalSession is closed");
}

Napi::Value SignalSession::PollEpisodes(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  check_open(env);
  records_.clear();
  if (episodes_ring_) {
    int n = ring_buffer__consume(episodes_ring_);
    if (n < 0) throw Napi::Error::New(env, libbpf_error("consume scheduler episodes", n));
  }
  return to_array_buffer(env, std::move(records_));
}

Napi::Value SignalSession::PollRetransmits(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  check_open(env);
  records_.clear();
  if (retransmits_ring_) {
    int n = ring_buffer__consume(retransmits_ring_);
    if (n < 0) throw Napi::Error::New(env, libbpf_error("consume retransmit events", n));
  }
  return to_array_buffer(env, std::move(records_));
}

// watch(callback, delayMs): calls `callback` delayMs after records arrive in either ring (it is
// expected to call both polls), at most once per delayMs; nothing runs while none arrive.
Napi::Value SignalSession::Watch(const Napi::CallbackInfo& info) {
  check_open(info.Env());
  watch_.start(info, "watch", epoll_fd_);
  return info.Env().Undefined();
}

Napi::Value SignalSession::DrainCgroupWaits(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  check_open(env);
  std::vector<unsigned char> out;
  try {
    if (sched_) drain_hash_map(sched_->skel()->maps.cgroup_waits, out, scratch_keys_, scratch_values_);
  } catch (const std::exception& e) {
    throw Napi::Error::New(env, e.what());
  }
  return to_array_buffer(env, std::move(out));
}

Napi::Value SignalSession::DrainRetransmits(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  check_open(env);
  std::vector<unsigned char> out;
  try {
    if (retransmits_) drain_hash_map(retransmits_->skel()->maps.retransmits, out, scratch_keys_, scratch_values_);
  } catch (const std::exception& e) {
    throw Napi::Error::New(env, e.what());
  }
  return to_array_buffer(env, std::move(out));
}

// takeSpanTimes(spanIds: BigUint64Array): Float64Array of 4 numbers per span (struct span_times),
// each span's entry removed from the kernel's map; zeros for a span it has none for.
Napi::Value SignalSession::TakeSpanTimes(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  check_open(env);
  if (info.Length() < 1 || !info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_biguint64_array) {
    throw Napi::TypeError::New(env, "takeSpanTimes(spanIds): spanIds must be a BigUint64Array");
  }
  auto ids = info[0].As<Napi::TypedArrayOf<uint64_t>>();
  const size_t n = ids.ElementLength();
  Napi::Float64Array out = Napi::Float64Array::New(env, n * 4);
  if (!sched_) return out;
  const int fd = bpf_map__fd(sched_->skel()->maps.span_times);
  for (size_t i = 0; i < n; i++) {
    __u64 id = ids[i];
    span_times t = {};
    int err = bpf_map_lookup_and_delete_elem(fd, &id, &t);
    if (err && (errno == EINVAL || errno == ENOTSUP || errno == EOPNOTSUPP)) {
      // Kernels before 5.14 cannot look up and delete a hash entry in one call.
      err = bpf_map_lookup_elem(fd, &id, &t);
      if (!err) bpf_map_delete_elem(fd, &id);
    }
    if (err) continue;
    out[i * 4] = static_cast<double>(t.runqueue_ns);
    out[i * 4 + 1] = static_cast<double>(t.throttled_ns);
    out[i * 4 + 2] = static_cast<double>(t.blocked_ns);
    out[i * 4 + 3] = static_cast<double>(t.switches);
  }
  return out;
}

Napi::Value SignalSession::Stats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  check_open(env);
  Napi::Object out = Napi::Object::New(env);
  auto merge = [&](const bpf_map* stats, const char* const names[], __u32 count) {
    if (stats) {
      Napi::Object summed = sum_percpu_stats(env, stats, names, count);
      for (__u32 i = 0; i < count; i++) out.Set(names[i], summed.Get(names[i]));
    } else {
      for (__u32 i = 0; i < count; i++) out.Set(names[i], Napi::Number::New(env, 0));
    }
  };
  merge(sched_ ? sched_->skel()->maps.stats : nullptr, kSchedStats, SCHED_STAT_MAX);
  merge(retransmits_ ? retransmits_->skel()->maps.stats : nullptr, kRetransmitStats, RETRANS_STAT_MAX);
  return out;
}

Napi::Value SignalSession::Hooks(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  check_open(env);
  Napi::Object out = Napi::Object::New(env);
  const std::vector<std::string> none;
  out.Set("sched", sched_ ? probe_hooks(env, sched_->attached(), sched_->missing()) : probe_hooks(env, none, {sched_error_}));
  out.Set("retransmits", retransmits_ ? probe_hooks(env, retransmits_->attached(), retransmits_->missing())
                                      : probe_hooks(env, none, {retransmits_error_}));
  out.Set("throttleSource", sched_ ? sched_->throttle_source() : std::string("none"));
  return out;
}

Napi::Value SignalSession::Close(const Napi::CallbackInfo& info) {
  destroy();
  return info.Env().Undefined();
}

}  // namespace kiln
