#pragma once
#include <string>

namespace kiln {

// Routes libbpf's own messages into a buffer so that a failure can tell the user
// what libbpf (and the verifier) said, instead of a bare errno.
void install_libbpf_log();
void clear_libbpf_log();
// The last `lines` non-empty warning lines libbpf printed since the last clear.
std::string libbpf_log_tail(int lines = 3);
// "what: strerror(-err) (libbpf: ...)"
std::string libbpf_error(const std::string& what, int err);

}  // namespace kiln
