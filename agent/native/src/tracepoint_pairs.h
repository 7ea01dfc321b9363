#pragma once
#include <bpf/libbpf.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "libbpf_log.h"

namespace kiln {

// The scheduler and retransmit probes declare each hook twice, as a tp_btf program and a raw_tp
// one with the same body: raw tracepoints need no BTF of the tracepoint, tp_btf is cheaper where it
// loads. One of each pair is loaded, chosen by its section name's prefix.
inline void autoload_pairs(bpf_object* obj, bool tp_btf) {
  bpf_program* p;
  bpf_object__for_each_program(p, obj) {
    const bool is_btf = std::strncmp(bpf_program__section_name(p), "tp_btf/", 7) == 0;
    bpf_program__set_autoload(p, is_btf == tp_btf);
  }
}

// Links of the loaded programs that attached, and what was attached ("tp_btf/sched_switch", the
// section name) or not (with libbpf's reason).
struct AttachedHooks {
  std::vector<bpf_link*> links;
  std::vector<std::string> attached, missing;

  void attach_loaded(bpf_object* obj) {
    bpf_program* p;
    bpf_object__for_each_program(p, obj) {
      if (!bpf_program__autoload(p)) continue;
      const std::string hook = bpf_program__section_name(p);
      clear_libbpf_log();
      bpf_link* link = bpf_program__attach(p);
      if (!link) {
        missing.push_back(libbpf_error(hook, errno));
        continue;
      }
      links.push_back(link);
      attached.push_back(hook);
    }
  }
  bool has(const std::string& hook_suffix) const {
    for (const std::string& h : attached) {
      if (h.size() >= hook_suffix.size() && h.compare(h.size() - hook_suffix.size(), hook_suffix.size(), hook_suffix) == 0) return true;
    }
    return false;
  }
  void detach() {
    for (bpf_link* l : links) bpf_link__destroy(l);
    links.clear();
  }
};

}  // namespace kiln
