#pragma once
#include <uv.h>

#include <functional>

namespace kiln {

// Calls `on_ready` `delay_ms` after `fd` became readable, then watches it again. The event loop
// wakes only when there is something to read, at most once per delay, instead of on a timer;
// the delay also gives a process that just exec'd time to map its libraries before it is
// captured. The handles do not keep the loop alive.
class EventWatch {
 public:
  EventWatch(uv_loop_t* loop, int fd, uint64_t delay_ms, std::function<void()> on_ready);
  ~EventWatch();
  EventWatch(const EventWatch&) = delete;
  EventWatch& operator=(const EventWatch&) = delete;

 private:
  static void on_readable(uv_poll_t* handle, int status, int events);
  static void on_delay_over(uv_timer_t* handle);
  void arm();

  uv_poll_t* poll_;
  uv_timer_t* timer_;
  uint64_t delay_ms_;
  std::function<void()> on_ready_;
};

}  // namespace kiln
