#include "libbpf_log.h"

#include <bpf/libbpf.h>

#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <sstream>
#include <vector>

namespace kiln {
namespace {

std::mutex log_mutex;
std::string log_buffer;

int on_libbpf_print(enum libbpf_print_level level, const char* format, va_list args) {
  if (level == LIBBPF_DEBUG) return 0;
  char line[1024];
  int n = vsnprintf(line, sizeof line, format, args);
  std::lock_guard<std::mutex> lock(log_mutex);
  if (log_buffer.size() < 64 * 1024) log_buffer.append(line);
  return n;
}

}  // namespace

void install_libbpf_log() {
  libbpf_set_print(on_libbpf_print);
}

void clear_libbpf_log() {
  std::lock_guard<std::mutex> lock(log_mutex);
  log_buffer.clear();
}

std::string libbpf_log_tail(int lines) {
  std::lock_guard<std::mutex> lock(log_mutex);
  std::vector<std::string> all;
  std::istringstream in(log_buffer);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) all.push_back(line);
  }
  std::string out;
  size_t from = all.size() > static_cast<size_t>(lines) ? all.size() - lines : 0;
  for (size_t i = from; i < all.size(); i++) {
    if (!out.empty()) out += " | ";
    out += all[i];
  }
  return out;
}

std::string libbpf_error(const std::string& what, int err) {
  if (err < 0) err = -err;
  std::string msg = what + ": " + std::strerror(err);
  std::string tail = libbpf_log_tail();
  if (!tail.empty()) msg += " (libbpf: " + tail + ")";
  return msg;
}

}  // namespace kiln
