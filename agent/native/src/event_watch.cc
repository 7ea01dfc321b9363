#include "event_watch.h"

#include <stdexcept>
#include <string>

namespace kiln {

EventWatch::EventWatch(uv_loop_t* loop, int fd, uint64_t delay_ms, std::function<void()> on_ready)
    : poll_(new uv_poll_t), timer_(new uv_timer_t), delay_ms_(delay_ms), on_ready_(std::move(on_ready)) {
  int err = uv_poll_init(loop, poll_, fd);
  if (err) {
    delete poll_;
    delete timer_;
    throw std::runtime_error(std::string("watch process events: ") + uv_strerror(err));
  }
  uv_timer_init(loop, timer_);
  poll_->data = this;
  timer_->data = this;
  uv_unref(reinterpret_cast<uv_handle_t*>(poll_));
  uv_unref(reinterpret_cast<uv_handle_t*>(timer_));
  arm();
}

// The handles are freed by the loop once closed; no callback reaches this object afterwards.
EventWatch::~EventWatch() {
  uv_close(reinterpret_cast<uv_handle_t*>(poll_), [](uv_handle_t* h) { delete reinterpret_cast<uv_poll_t*>(h); });
  uv_close(reinterpret_cast<uv_handle_t*>(timer_), [](uv_handle_t* h) { delete reinterpret_cast<uv_timer_t*>(h); });
}

void EventWatch::arm() { uv_poll_start(poll_, UV_READABLE, on_readable); }

void EventWatch::on_readable(uv_poll_t* handle, int, int) {
  auto* self = static_cast<EventWatch*>(handle->data);
  uv_poll_stop(self->poll_);
  uv_timer_start(self->timer_, on_delay_over, self->delay_ms_, 0);
}

void EventWatch::on_delay_over(uv_timer_t* handle) {
  auto* self = static_cast<EventWatch*>(handle->data);
  // Armed first: the callback may destroy this object (the session closed from JS).
  self->arm();
  std::function<void()> on_ready = self->on_ready_;
  on_ready();
}

}  // namespace kiln
