#pragma once
#include <string>
#include <vector>

namespace kiln {

struct ProbeResult {
  std::string facility;
  bool ok;
  std::string detail;
};

// Loads the doctor's BPF programs one at a time and exercises each facility on the running kernel.
// Blocking (about a second): call it off the JS thread.
std::vector<ProbeResult> run_doctor_probes();

// What the agent checks before it starts: only what CPU sampling needs (BTF, tracefs, cpu-clock
// perf events on every online CPU), without loading BPF objects; the sampler's own load then reports
// what else fails. The full doctor costs about 0.2 s of CPU (a BPF object per facility, 150 ms of
// sampling), which every agent start would pay.
std::vector<ProbeResult> run_startup_checks();

// Loads and attaches one fentry program (on tcp_sendmsg): whether this kernel lets span capture
// hook kernel functions directly. Its facility is "fentry".
ProbeResult probe_fentry();

}  // namespace kiln
