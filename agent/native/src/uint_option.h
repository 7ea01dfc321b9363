#pragma once
#include <napi.h>

#include <string>

namespace kiln {

// An optional unsigned integer field of a session's options object: `out` keeps its default when
// the field is absent, else it must be an integer in [lo, hi]. Errors start with `owner` (the class).
inline void read_uint_option(Napi::Env env, Napi::Object o, const char* owner, const char* name, unsigned& out, unsigned lo, unsigned hi) {
  Napi::Value v = o.Get(name);
  if (v.IsUndefined()) return;
  const std::string field = std::string(owner) + ": " + name;
  if (!v.IsNumber()) throw Napi::TypeError::New(env, field + " must be a number");
  double d = v.As<Napi::Number>().DoubleValue();
  if (d < lo || d > hi || d != static_cast<unsigned>(d)) {
    throw Napi::RangeError::New(env, field + " must be an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
  }
  out = static_cast<unsigned>(d);
}

}  // namespace kiln
