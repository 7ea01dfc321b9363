#pragma once
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace kiln {

// Parses /sys/devices/system/cpu/online ("0-3,5,7-8"). Empty on error.
inline std::vector<int> online_cpus() {
  std::ifstream in("/sys/devices/system/cpu/online");
  std::string text;
  std::getline(in, text);
  std::vector<int> cpus;
  std::istringstream ranges(text);
  for (std::string range; std::getline(ranges, range, ',');) {
    size_t dash = range.find('-');
    try {
      int lo = std::stoi(range.substr(0, dash));
      int hi = dash == std::string::npos ? lo : std::stoi(range.substr(dash + 1));
      for (int c = lo; c <= hi; c++) cpus.push_back(c);
    } catch (...) {
      return {};
    }
  }
  return cpus;
}

}  // namespace kiln
