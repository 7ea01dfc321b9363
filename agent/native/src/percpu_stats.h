#pragma once
#include <bpf/libbpf.h>
#include <napi.h>

#include <vector>

namespace kiln {

// The counters of a BPF program's `stats` map (a per-CPU array of u64, one entry per name),
// each summed over CPUs: the programs count per CPU so that no two CPUs contend for a counter.
// A counter that cannot be read reads 0.
inline Napi::Object sum_percpu_stats(Napi::Env env, const bpf_map* stats, const char* const names[], __u32 count) {
  const int ncpus = libbpf_num_possible_cpus();
  Napi::Object out = Napi::Object::New(env);
  std::vector<__u64> per_cpu(ncpus > 0 ? ncpus : 1);
  for (__u32 i = 0; i < count; i++) {
    __u64 sum = 0;
    if (bpf_map__lookup_elem(stats, &i, sizeof i, per_cpu.data(), per_cpu.size() * sizeof(__u64), 0) == 0) {
      for (__u64 v : per_cpu) sum += v;
    }
    out.Set(names[i], Napi::Number::New(env, static_cast<double>(sum)));
  }
  return out;
}

}  // namespace kiln
