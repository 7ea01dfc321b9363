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

void JsEventWatch::start(const Napi::CallbackInfo& info, const char* method, int fd) {
  Napi::Env env = info.Env();
  const std::string name(method);
  if (info.Length() < 2 || !info[0].IsFunction() || !info[1].IsNumber()) throw Napi::TypeError::New(env, name + "(callback, delayMs)");
  const double delay = info[1].As<Napi::Number>().DoubleValue();
  if (!(delay >= 0 && delay <= 60000)) throw Napi::RangeError::New(env, name + ": delayMs must be in [0, 60000]");
  uv_loop_t* loop = nullptr;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok) throw Napi::Error::New(env, name + ": no event loop");
  stop();
  callback_ = Napi::Persistent(info[0].As<Napi::Function>());
  receiver_ = Napi::Weak(info.This().As<Napi::Object>());
  try {
    watch_ = std::make_unique<EventWatch>(loop, fd, static_cast<uint64_t>(delay), [this]() {
      Napi::Env env = callback_.Env();
      Napi::HandleScope scope(env);
      try {
        callback_.MakeCallback(receiver_.Value(), {});
      } catch (const Napi::Error& e) {
        napi_fatal_exception(env, e.Value());
      }
    });
  } catch (const std::exception& e) {
    throw Napi::Error::New(env, e.what());
  }
}

void JsEventWatch::stop() {
  watch_.reset();
  callback_.Reset();
  receiver_.Reset();
}

}  // namespace kiln
