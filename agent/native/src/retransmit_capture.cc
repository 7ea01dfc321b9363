#include "retransmit_capture.h"

#include <bpf/libbpf.h>

#include <cerrno>
#include <stdexcept>

#include "libbpf_log.h"
#include "retransmits.h"  // bpf/retransmits.h: structs shared with retransmits.bpf.c
#include "retransmits.skel.h"
#include "signals_blocked.h"

namespace kiln {
namespace {

retransmits_bpf* open_and_load(unsigned ring_bytes, bool tp_btf, std::string& error) {
  clear_libbpf_log();
  retransmits_bpf* skel = retransmits_bpf__open();
  if (!skel) {
    error = libbpf_error("open retransmit probe", errno);
    return nullptr;
  }
  bpf_map__set_max_entries(skel->maps.retransmit_events, ring_bytes);
  autoload_pairs(skel->obj, tp_btf);
  int err;
  {
    SignalsBlocked blocked;
    err = retransmits_bpf__load(skel);
  }
  if (!err) return skel;
  error = libbpf_error(tp_btf ? "load (tp_btf)" : "load (raw_tp)", err);
  retransmits_bpf__destroy(skel);
  return nullptr;
}

}  // namespace

RetransmitCapture::RetransmitCapture(unsigned ring_bytes) {
  std::string why;
  for (bool tp_btf : {true, false}) {
    std::string error;
    skel_ = open_and_load(ring_bytes, tp_btf, error);
    if (!skel_) {
      why += (why.empty() ? "" : "; ") + error;
      continue;
    }
    hooks_.attach_loaded(skel_->obj);
    if (hooks_.has("/tcp_retransmit_skb")) break;
    for (const std::string& m : hooks_.missing) why += (why.empty() ? "" : "; ") + m;
    destroy();
  }
  if (!skel_) throw std::runtime_error("retransmit probe: " + why);
  if (!why.empty()) missing_.push_back(why);
  missing_.insert(missing_.end(), hooks_.missing.begin(), hooks_.missing.end());
}

RetransmitCapture::~RetransmitCapture() { destroy(); }

void RetransmitCapture::destroy() {
  hooks_.detach();
  hooks_.attached.clear();
  hooks_.missing.clear();
  if (skel_) retransmits_bpf__destroy(skel_);
  skel_ = nullptr;
}

}  // namespace kiln
