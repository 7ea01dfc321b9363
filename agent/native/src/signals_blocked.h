#pragma once
// Blocks every signal on this thread while it lives, around BPF program loads. The verifier gives
// up with EAGAIN when a signal is pending: a profiler's SIGPROF (every millisecond under
// `node --cpu-prof`) or a child's SIGCHLD would fail every load; blocked, they wait the few
// milliseconds of the load.
#include <pthread.h>
#include <signal.h>

namespace kiln {

class SignalsBlocked {
 public:
  SignalsBlocked() {
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old_);
  }
  ~SignalsBlocked() { pthread_sigmask(SIG_SETMASK, &old_, nullptr); }
  SignalsBlocked(const SignalsBlocked&) = delete;
  SignalsBlocked& operator=(const SignalsBlocked&) = delete;

 private:
  sigset_t old_;
};

}  // namespace kiln
