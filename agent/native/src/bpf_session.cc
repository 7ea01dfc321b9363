#include "bpf_session.h"
#include "signals_blocked.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/perf_event.h>
#include <linux/types.h>
#include <malloc.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

#include "array_buffer.h"
#include "cpu_clock.h"
#include "libbpf_log.h"
#include "map_drain.h"
#include "online_cpus.h"
#include "percpu_stats.h"
#include "profile.h"  // bpf/profile.h: structs shared with profile.bpf.c
#include "profile.skel.h"
#include "span_session.h"
#include "uint_option.h"

namespace kiln {
namespace {

// agent/src/sampler.ts reads the key's fields at fixed offsets.
static_assert(sizeof(sample_key) == 40, "struct sample_key changed: update parseSamples in agent/src/sampler.ts");
static_assert(sizeof(process_event) == 32, "struct process_event changed: update CpuSampler.events in agent/src/sampler.ts");
constexpr size_t kSampleRecord = sizeof(sample_key) + sizeof(__u64);
constexpr size_t kStackRecord = sizeof(__u64) + sizeof(stack);

struct Options {
  unsigned frequency = 19;
  std::vector<__u32> pids;
  bool include_idle = false;
  unsigned counts_entries = 16384;
  unsigned stacks_entries = 8192;
  unsigned events_bytes = 256 * 1024;
  // Span capture's thread_spans map (bpf/spans.h), which the sampler reads; -1: its own, empty.
  int thread_spans_fd = -1;
};

Options parse_options(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) throw Napi::TypeError::New(env, "BpfSession(options): options must be an object");
  Napi::Object o = info[0].As<Napi::Object>();
  Options opts;
  auto uint_field = [&](const char* name, unsigned& out, unsigned lo, unsigned hi) { read_uint_option(env, o, "BpfSession", name, out, lo, hi); };
  uint_field("frequency", opts.frequency, 1, 999);
  uint_field("countsEntries", opts.counts_entries, 64, 1u << 22);
  uint_field("stacksEntries", opts.stacks_entries, 64, 1u << 20);
  uint_field("eventsBytes", opts.events_bytes, 4096, 1u << 30);
  if (opts.events_bytes & (opts.events_bytes - 1)) throw Napi::RangeError::New(env, "BpfSession: eventsBytes must be a power of 2");
  Napi::Value idle = o.Get("includeIdle");
  opts.include_idle = idle.IsBoolean() && idle.As<Napi::Boolean>().Value();
  Napi::Value spans = o.Get("spans");
  if (!spans.IsUndefined()) {
    SpanSession* session = SpanSession::From(env, spans);
    if (!session) throw Napi::TypeError::New(env, "BpfSession: spans must be a SpanSession");
    opts.thread_spans_fd = session->thread_spans_fd();
    if (opts.thread_spans_fd < 0) throw Napi::Error::New(env, "BpfSession: the SpanSession is closed");
  }
  Napi::Value pids = o.Get("pids");
  if (pids.IsArray()) {
    Napi::Array a = pids.As<Napi::Array>();
    for (uint32_t i = 0; i < a.Length(); i++) {
      Napi::Value p = a.Get(i);
      if (!p.IsNumber() || p.As<Napi::Number>().Int64Value() <= 0) throw Napi::TypeError::New(env, "BpfSession: pids must be positive integers");
      opts.pids.push_back(static_cast<__u32>(p.As<Napi::Number>().Uint32Value()));
    }
  }
  return opts;
}

// Loads the sampler with either the tp_btf or the classic tracepoint variant of the exec/exit probes.
// With `prealloc` false the count and stack maps take kernel memory as they fill, instead of all
// of it (~20 MB at the default sizes) being allocated and initialized at load.
profile_bpf* open_and_load(const Options& opts, bool use_tp_btf, bool prealloc, std::string& error) {
  clear_libbpf_log();
  profile_bpf* skel = profile_bpf__open();
  if (!skel) {
    error = libbpf_error("open sampler object", errno);
    return nullptr;
  }
  skel->rodata->filter_pids = !opts.pids.empty();
  skel->rodata->include_idle = opts.include_idle;
  bpf_map__set_max_entries(skel->maps.counts0, opts.counts_entries);
  bpf_map__set_max_entries(skel->maps.counts1, opts.counts_entries);
  bpf_map__set_max_entries(skel->maps.stacks0, opts.stacks_entries);
  bpf_map__set_max_entries(skel->maps.stacks1, opts.stacks_entries);
  bpf_map__set_max_entries(skel->maps.events, opts.events_bytes);
  if (!prealloc) {
    for (bpf_map* m : {skel->maps.counts0, skel->maps.counts1, skel->maps.stacks0, skel->maps.stacks1}) {
      bpf_map__set_map_flags(m, bpf_map__map_flags(m) | BPF_F_NO_PREALLOC);
    }
  }
  if (opts.thread_spans_fd >= 0) {
    int err = bpf_map__reuse_fd(skel->maps.thread_spans, opts.thread_spans_fd);
    if (err) {
      profile_bpf__destroy(skel);
      error = libbpf_error("share span capture's thread_spans map", err);
      return nullptr;
    }
  }
  bpf_program__set_autoload(skel->progs.exec_btf, use_tp_btf);
  bpf_program__set_autoload(skel->progs.exit_btf, use_tp_btf);
  bpf_program__set_autoload(skel->progs.exec_tp, !use_tp_btf);
  bpf_program__set_autoload(skel->progs.exit_tp, !use_tp_btf);
  int err;
  {
    SignalsBlocked blocked;
    err = profile_bpf__load(skel);
  }
  if (!err) return skel;
  profile_bpf__destroy(skel);
  error = libbpf_error("load sampler", err);
  return nullptr;
}

// Kernels before 6.1 refuse hash maps that are not preallocated in perf_event programs: there
// the maps are preallocated. `preallocated` tells which it was.
profile_bpf* load_sampler(const Options& opts, bool use_tp_btf, bool& preallocated, std::string& error) {
  preallocated = false;
  profile_bpf* skel = open_and_load(opts, use_tp_btf, false, error);
  if (skel || libbpf_log_tail(50).find("preallocated") == std::string::npos) return skel;
  preallocated = true;
  return open_and_load(opts, use_tp_btf, true, error);
}

int on_event(void* ctx, void* data, size_t size) {
  auto* out = static_cast<std::vector<unsigned char>*>(ctx);
  if (size == sizeof(process_event)) {
    auto* bytes = static_cast<unsigned char*>(data);
    out->insert(out->end(), bytes, bytes + size);
  }
  return 0;
}

}  // namespace

Napi::Function BpfSession::Define(Napi::Env env) {
  return DefineClass(env, "BpfSession",
                     {
                         InstanceMethod<&BpfSession::Drain>("drain"),
                         InstanceMethod<&BpfSession::PollEvents>("pollEvents"),
                         InstanceMethod<&BpfSession::WatchEvents>("watchEvents"),
                         InstanceMethod<&BpfSession::Stats>("stats"),
                         InstanceMethod<&BpfSession::Stop>("stop"),
                         InstanceMethod<&BpfSession::Close>("close"),
                     });
}

BpfSession::BpfSession(const Napi::CallbackInfo& info) : Napi::ObjectWrap<BpfSession>(info) {
  Napi::Env env = info.Env();
  Options opts = parse_options(info);
  std::string btf_error, tp_error;
  skel_ = load_sampler(opts, true, preallocated_, btf_error);
  tp_btf_ = skel_ != nullptr;
  if (!skel_) skel_ = load_sampler(opts, false, preallocated_, tp_error);
  if (!skel_) throw Napi::Error::New(env, "cannot load the CPU sampler: " + btf_error + "; with classic tracepoints: " + tp_error);

  __u8 one = 1;
  for (__u32 pid : opts.pids) bpf_map__update_elem(skel_->maps.pids, &pid, sizeof pid, &one, sizeof one, BPF_ANY);

  clear_libbpf_log();
  bpf_program* exec = tp_btf_ ? skel_->progs.exec_btf : skel_->progs.exec_tp;
  bpf_program* exit = tp_btf_ ? skel_->progs.exit_btf : skel_->progs.exit_tp;
  for (bpf_program* p : {exec, exit}) {
    bpf_link* link = bpf_program__attach(p);
    if (!link) {
      std::string msg = libbpf_error(std::string("attach ") + bpf_program__name(p), errno);
      destroy();
      throw Napi::Error::New(env, msg);
    }
    links_.push_back(link);
  }

  ring_ = ring_buffer__new(bpf_map__fd(skel_->maps.events), on_event, &events_, nullptr);
  if (!ring_) {
    std::string msg = libbpf_error("ring_buffer__new", errno);
    destroy();
    throw Napi::Error::New(env, msg);
  }

  frequency_ = opts.frequency;
  sampling_ = true;
  std::string last_error = attach_new_cpus(online_cpus());
  if (cpu_events_.empty()) {
    destroy();
    throw Napi::Error::New(env, "cannot sample any CPU: " + last_error);
  }
  // Loading parsed the kernel's BTF (megabytes, freed in pieces): return the free pages.
  malloc_trim(0);
}

std::string BpfSession::attach_new_cpus(const std::vector<int>& online) {
  std::string last_error;
  for (int cpu : online) {
    auto sampled = [cpu](const CpuEvent& e) { return e.cpu == cpu; };
    if (std::find_if(cpu_events_.begin(), cpu_events_.end(), sampled) != cpu_events_.end()) continue;
    int fd = open_cpu_clock(cpu, frequency_, false);
    if (fd < 0) {
      // A CPU going offline between reading the list and opening is not fatal: counted, retried next drain.
      cpus_failed_++;
      last_error = "perf_event_open(cpu " + std::to_string(cpu) + "): " + std::strerror(errno);
      continue;
    }
    bpf_link* link = bpf_program__attach_perf_event(skel_->progs.on_cpu_sample, fd);
    if (!link) {
      cpus_failed_++;
      last_error = libbpf_error("attach sampler on cpu " + std::to_string(cpu), errno);
      close(fd);
      continue;
    }
    cpu_events_.push_back({cpu, fd, link, 0});
  }
  return last_error;
}

void BpfSession::detach_stalled_cpus(const std::vector<int>& online) {
  for (size_t i = cpu_events_.size(); i-- > 0;) {
    CpuEvent& e = cpu_events_[i];
    uint64_t count = 0;
    const bool counting = read(e.fd, &count, sizeof count) == sizeof count && count != e.last_count;
    e.last_count = count;
    if (counting && std::find(online.begin(), online.end(), e.cpu) != online.end()) continue;
    cpus_lost_++;
    bpf_link__destroy(e.link);
    close(e.fd);
    cpu_events_.erase(cpu_events_.begin() + static_cast<long>(i));
  }
}

BpfSession::~BpfSession() { destroy(); }

void BpfSession::stop_sampling() {
  sampling_ = false;
  for (bpf_link* l : links_) bpf_link__destroy(l);
  links_.clear();
  if (!cpu_events_.empty()) cpus_at_stop_ = static_cast<unsigned>(cpu_events_.size());
  for (const CpuEvent& e : cpu_events_) {
    bpf_link__destroy(e.link);
    close(e.fd);
  }
  cpu_events_.clear();
}

void BpfSession::destroy() {
  stop_sampling();
  watch_.stop();
  if (ring_) ring_buffer__free(ring_);
  ring_ = nullptr;
  if (skel_) profile_bpf__destroy(skel_);
  skel_ = nullptr;
}

// Switches the programs to the other map generation, then empties the one they left.
Napi::Value BpfSession::Drain(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!skel_) throw Napi::Error::New(env, "BpfSession is closed");
  if (sampling_) {
    const std::vector<int> online = online_cpus();
    detach_stalled_cpus(online);
    attach_new_cpus(online);
  }
  __u32 drained = skel_->bss->active;
  __atomic_store_n(&skel_->bss->active, drained ^ 1u, __ATOMIC_SEQ_CST);
  // A sample handler that read the old generation runs with interrupts off for microseconds;
  // waiting 2 ms lets every such handler finish before its maps are read and emptied.
  usleep(2000);
  std::vector<unsigned char> samples, stacks;
  try {
    drain_hash_map(drained ? skel_->maps.counts1 : skel_->maps.counts0, samples, scratch_keys_, scratch_values_);
    drain_hash_map(drained ? skel_->maps.stacks1 : skel_->maps.stacks0, stacks, scratch_keys_, scratch_values_);
  } catch (const std::exception& e) {
    throw Napi::Error::New(env, e.what());
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("sampleRecordSize", Napi::Number::New(env, kSampleRecord));
  out.Set("stackRecordSize", Napi::Number::New(env, kStackRecord));
  out.Set("samples", to_array_buffer(env, std::move(samples)));
  out.Set("stacks", to_array_buffer(env, std::move(stacks)));
  return out;
}

Napi::Value BpfSession::PollEvents(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!skel_ || !ring_) throw Napi::Error::New(env, "BpfSession is closed");
  events_.clear();
  int n = ring_buffer__consume(ring_);
  if (n < 0) throw Napi::Error::New(env, libbpf_error("consume process events", n));
  return to_array_buffer(env, std::move(events_));
}

// watchEvents(callback, delayMs): calls `callback` delayMs after process events arrive (it is
// expected to call pollEvents()), at most once per delayMs; nothing runs while none arrive.
Napi::Value BpfSession::WatchEvents(const Napi::CallbackInfo& info) {
  if (!skel_ || !ring_) throw Napi::Error::New(info.Env(), "BpfSession is closed");
  watch_.start(info, "watchEvents", ring_buffer__epoll_fd(ring_));
  return info.Env().Undefined();
}

Napi::Value BpfSession::Stats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!skel_) throw Napi::Error::New(env, "BpfSession is closed");
  static const char* const names[STAT_MAX] = {"samples", "countsFull", "stacksFull", "userStackErrors", "kernelStackErrors", "eventsLost"};
  Napi::Object out = sum_percpu_stats(env, skel_->maps.stats, names, STAT_MAX);
  out.Set("cpusAttached", Napi::Number::New(env, sampling_ ? static_cast<unsigned>(cpu_events_.size()) : cpus_at_stop_));
  out.Set("cpusFailed", Napi::Number::New(env, cpus_failed_));
  out.Set("cpusLost", Napi::Number::New(env, cpus_lost_));
  out.Set("tpBtf", Napi::Boolean::New(env, tp_btf_));
  out.Set("mapsPreallocated", Napi::Boolean::New(env, preallocated_));
  return out;
}

// Detaches the perf events and probes; the maps stay readable for the final drains.
Napi::Value BpfSession::Stop(const Napi::CallbackInfo& info) {
  stop_sampling();
  return info.Env().Undefined();
}

Napi::Value BpfSession::Close(const Napi::CallbackInfo& info) {
  destroy();
  return info.Env().Undefined();
}

}  // namespace kiln
