#include "span_capture.h"
#include "signals_blocked.h"

#include <bpf/libbpf.h>

#include <cerrno>
#include <stdexcept>

#include "libbpf_log.h"
#include "spans.h"  // bpf/spans.h: structs shared with spans.bpf.c
#include "spans.skel.h"

namespace kiln {

SpanCapture::SpanCapture(const SpanCaptureOptions& opts) {
  clear_libbpf_log();
  skel_ = spans_bpf__open();
  if (!skel_) throw std::runtime_error(libbpf_error("open span capture object", errno));
  skel_->rodata->agent_tgid = opts.exclude_pid;
  skel_->rodata->filter_tgids = !opts.pids.empty();
  skel_->rodata->filter_cgroups = !opts.cgroup_ids.empty();
  skel_->rodata->payload_bytes = opts.payload_bytes;
  bpf_map__set_max_entries(skel_->maps.events, opts.ring_bytes);
  int err;
  {
    SignalsBlocked blocked;
    err = spans_bpf__load(skel_);
  }
  if (err) {
    std::string msg = libbpf_error("load span capture", err);
    destroy();
    throw std::runtime_error(msg);
  }
  __u8 one = 1;
  for (__u32 pid : opts.pids) bpf_map__update_elem(skel_->maps.span_tgids, &pid, sizeof pid, &one, sizeof one, BPF_ANY);
  for (__u64 cg : opts.cgroup_ids) bpf_map__update_elem(skel_->maps.span_cgroups, &cg, sizeof cg, &one, sizeof one, BPF_ANY);

  bpf_program* p;
  bpf_object__for_each_program(p, skel_->obj) {
    const std::string name = bpf_program__section_name(p);
    const std::string hook = "syscalls:" + name.substr(name.rfind('/') + 1);
    clear_libbpf_log();
    bpf_link* link = bpf_program__attach(p);
    if (!link) {
      missing_.push_back(libbpf_error(hook, errno));
      continue;
    }
    links_.push_back(link);
    attached_.push_back(hook);
  }
  if (links_.empty()) {
    std::string why = missing_.empty() ? "no programs" : missing_.front();
    destroy();
    throw std::runtime_error("span capture attached no syscall tracepoint: " + why);
  }
}

SpanCapture::~SpanCapture() { destroy(); }

void SpanCapture::destroy() {
  for (bpf_link* l : links_) bpf_link__destroy(l);
  links_.clear();
  if (skel_) spans_bpf__destroy(skel_);
  skel_ = nullptr;
}

}  // namespace kiln
