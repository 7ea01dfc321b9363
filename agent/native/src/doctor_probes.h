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

}  // namespace kiln
