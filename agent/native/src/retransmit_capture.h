#pragma once
#include <string>
#include <vector>

#include "tracepoint_pairs.h"

struct retransmits_bpf;

namespace kiln {

// Owns the loaded retransmit probe (bpf/retransmits.bpf.c): tcp_retransmit_skb (required),
// tcp_retransmit_synack, and the socket-owner hooks (inet_sock_set_state, sock_send_length,
// sock_recv_length), as tp_btf programs or, where those do not load, raw tracepoints. A hook other
// than tcp_retransmit_skb that does not attach is listed in missing(); construction throws
// std::runtime_error when tcp_retransmit_skb cannot be attached either way.
class RetransmitCapture {
 public:
  // `ring_bytes`: the event ring buffer's size, a power of 2.
  explicit RetransmitCapture(unsigned ring_bytes);
  ~RetransmitCapture();
  RetransmitCapture(const RetransmitCapture&) = delete;
  RetransmitCapture& operator=(const RetransmitCapture&) = delete;

  retransmits_bpf* skel() const { return skel_; }
  const std::vector<std::string>& attached() const { return hooks_.attached; }
  const std::vector<std::string>& missing() const { return missing_; }

 private:
  void destroy();

  retransmits_bpf* skel_ = nullptr;
  AttachedHooks hooks_;
  std::vector<std::string> missing_;
};

}  // namespace kiln
