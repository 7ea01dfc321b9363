#pragma once
#include <napi.h>
#include <uv.h>

#include <functional>
#include <memory>

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

// The JS side of an EventWatch: a session's watch(callback, delayMs) method, which calls
// `callback` (with the session as `this`) after events arrive on `fd`. A session holds one and
// stops it before the fd goes away; a new start replaces the callback.
class JsEventWatch {
 public:
  // Parses (callback, delayMs) from `info`; bad arguments throw a JS error naming `method`.
  void start(const Napi::CallbackInfo& info, const char* method, int fd);
  void stop();

 private:
  Napi::FunctionReference callback_;
  // Weak: the session object owns this watch, not the other way round.
  Napi::ObjectReference receiver_;
  std::unique_ptr<EventWatch> watch_;
};

}  // namespace kiln
