#include "sched_capture.h"

#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "libbpf_log.h"
#include "sched.h"  // bpf/sched.h: structs shared with sched.bpf.c
#include "sched.skel.h"
#include "signals_blocked.h"

namespace kiln {
namespace {

// How waits are measured (bpf/sched.bpf.c), best first.
enum class Variant {
  kQueued,     // tp_btf sched_switch alone, from the kernel's sched_info stamps
  kWakeupBtf,  // tp_btf sched_wakeup, sched_wakeup_new and sched_switch
  kWakeupRaw,  // the same as raw tracepoints
};

const char* const kWakeupHooks[] = {"/sched_wakeup", "/sched_wakeup_new", "/sched_switch"};

void choose_programs(sched_bpf* skel, Variant variant) {
  autoload_pairs(skel->obj, variant != Variant::kWakeupRaw);
  const bool queued = variant == Variant::kQueued;
  bpf_program__set_autoload(skel->progs.switch_queued, queued);
  if (queued) {
    bpf_program__set_autoload(skel->progs.wakeup_btf, false);
    bpf_program__set_autoload(skel->progs.wakeup_new_btf, false);
    bpf_program__set_autoload(skel->progs.switch_btf, false);
  }
}

sched_bpf* open_and_load(const SchedCaptureOptions& opts, Variant variant, std::string& error) {
  clear_libbpf_log();
  sched_bpf* skel = sched_bpf__open();
  if (!skel) {
    error = libbpf_error("open scheduler probe", errno);
    return nullptr;
  }
  skel->rodata->threshold_ns = opts.threshold_ns;
  skel->rodata->spans_shared = opts.thread_spans_fd >= 0;
  bpf_map__set_max_entries(skel->maps.episodes, opts.ring_bytes);
  if (opts.thread_spans_fd >= 0) {
    int err = bpf_map__reuse_fd(skel->maps.thread_spans, opts.thread_spans_fd);
    if (err) {
      sched_bpf__destroy(skel);
      error = libbpf_error("share span capture's thread_spans map", err);
      return nullptr;
    }
  }
  choose_programs(skel, variant);
  int err;
  {
    SignalsBlocked blocked;
    err = sched_bpf__load(skel);
  }
  if (!err) return skel;
  static const char* const kWhat[] = {"load (tp_btf, sched_switch alone)", "load (tp_btf)", "load (raw_tp)"};
  error = libbpf_error(kWhat[static_cast<int>(variant)], err);
  sched_bpf__destroy(skel);
  return nullptr;
}

bool has_member(const btf* b, const char* type, const char* member) {
  const int id = btf__find_by_name_kind(b, type, BTF_KIND_STRUCT);
  if (id < 0) return false;
  const btf_type* t = btf__type_by_id(b, id);
  const btf_member* m = btf_members(t);
  for (int i = 0; i < btf_vlen(t); i++, m++) {
    if (std::strcmp(btf__name_by_offset(b, m->name_off), member) == 0) return true;
  }
  return false;
}

struct KernelFacts {
  std::string throttle_source = "none";
  bool sched_info_stamps = false;
};

// Mirrors task_throttled() in bpf/sched.bpf.c, whose CO-RE checks the same fields. The sched_switch
// alone variant needs the kernel's per-task enqueue stamps (CONFIG_SCHED_INFO), a task's rq (through
// its cfs_rq) for their clock, and 6.18's task throttling: before it, a task woken into a throttled
// hierarchy waits without being switched out throttled, which only its wakeup tells.
KernelFacts detect_kernel_facts() {
  KernelFacts facts;
  btf* vmlinux = btf__load_vmlinux_btf();
  if (!vmlinux) return facts;
  const bool task_throttling = has_member(vmlinux, "task_struct", "throttled");
  if (task_throttling) facts.throttle_source = "task_struct.throttled";
  else if (has_member(vmlinux, "sched_entity", "cfs_rq") && has_member(vmlinux, "cfs_rq", "throttle_count")) facts.throttle_source = "cfs_rq.throttle_count";
  facts.sched_info_stamps = task_throttling && has_member(vmlinux, "task_struct", "sched_info") &&
                            has_member(vmlinux, "sched_info", "last_queued") && has_member(vmlinux, "sched_info", "run_delay") &&
                            has_member(vmlinux, "sched_entity", "cfs_rq") && has_member(vmlinux, "cfs_rq", "rq") && has_member(vmlinux, "rq", "clock");
  btf__free(vmlinux);
  return facts;
}

}  // namespace

SchedCapture::SchedCapture(const SchedCaptureOptions& opts) {
  const KernelFacts facts = detect_kernel_facts();
  std::string why;
  for (Variant variant : {Variant::kQueued, Variant::kWakeupBtf, Variant::kWakeupRaw}) {
    if (variant == Variant::kQueued && !facts.sched_info_stamps) continue;
    std::string error;
    skel_ = open_and_load(opts, variant, error);
    if (!skel_) {
      why += (why.empty() ? "" : "; ") + error;
      continue;
    }
    hooks_.attach_loaded(skel_->obj);
    bool complete = hooks_.has("/sched_switch");
    if (variant != Variant::kQueued) {
      for (const char* hook : kWakeupHooks) complete = complete && hooks_.has(hook);
    }
    if (complete) break;
    for (const std::string& m : hooks_.missing) why += (why.empty() ? "" : "; ") + m;
    destroy();
  }
  if (!skel_) throw std::runtime_error("scheduler probe: " + why);
  // What the better variants could not do, when a fallback stood in.
  if (!why.empty()) missing_.push_back(why);
  throttle_source_ = facts.throttle_source;
}

SchedCapture::~SchedCapture() { destroy(); }

void SchedCapture::destroy() {
  hooks_.detach();
  hooks_.attached.clear();
  hooks_.missing.clear();
  if (skel_) sched_bpf__destroy(skel_);
  skel_ = nullptr;
}

}  // namespace kiln
