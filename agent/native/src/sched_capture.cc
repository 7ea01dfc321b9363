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

const char* const kHooks[] = {"/sched_wakeup", "/sched_wakeup_new", "/sched_switch"};

sched_bpf* open_and_load(const SchedCaptureOptions& opts, bool tp_btf, std::string& error) {
  clear_libbpf_log();
  sched_bpf* skel = sched_bpf__open();
  if (!skel) {
    error = libbpf_error("open scheduler probe", errno);
    return nullptr;
  }
  skel->rodata->threshold_ns = opts.threshold_ns;
  bpf_map__set_max_entries(skel->maps.episodes, opts.ring_bytes);
  if (opts.thread_spans_fd >= 0) {
    int err = bpf_map__reuse_fd(skel->maps.thread_spans, opts.thread_spans_fd);
    if (err) {
      sched_bpf__destroy(skel);
      error = libbpf_error("share span capture's thread_spans map", err);
      return nullptr;
    }
  }
  autoload_pairs(skel->obj, tp_btf);
  int err;
  {
    SignalsBlocked blocked;
    err = sched_bpf__load(skel);
  }
  if (!err) return skel;
  error = libbpf_error(tp_btf ? "load (tp_btf)" : "load (raw_tp)", err);
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

// Mirrors task_throttled() in bpf/sched.bpf.c, whose CO-RE checks the same fields.
std::string detect_throttle_source() {
  btf* vmlinux = btf__load_vmlinux_btf();
  if (!vmlinux) return "none";
  std::string source = "none";
  if (has_member(vmlinux, "task_struct", "throttled")) source = "task_struct.throttled";
  else if (has_member(vmlinux, "sched_entity", "cfs_rq") && has_member(vmlinux, "cfs_rq", "throttle_count")) source = "cfs_rq.throttle_count";
  btf__free(vmlinux);
  return source;
}

}  // namespace

SchedCapture::SchedCapture(const SchedCaptureOptions& opts) {
  std::string why;
  for (bool tp_btf : {true, false}) {
    std::string error;
    skel_ = open_and_load(opts, tp_btf, error);
    if (!skel_) {
      why += (why.empty() ? "" : "; ") + error;
      continue;
    }
    hooks_.attach_loaded(skel_->obj);
    bool complete = true;
    for (const char* hook : kHooks) complete = complete && hooks_.has(hook);
    if (complete) break;
    for (const std::string& m : hooks_.missing) why += (why.empty() ? "" : "; ") + m;
    destroy();
  }
  if (!skel_) throw std::runtime_error("scheduler probe: " + why);
  // What the tp_btf attempt could not do, when raw tracepoints stood in.
  if (!why.empty()) missing_.push_back(why);
  throttle_source_ = detect_throttle_source();
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
