#pragma once
#include <napi.h>

#include <string>
#include <vector>

namespace kiln {

// A JS array of `list`'s strings (hook names, failures with their reasons).
inline Napi::Array to_string_array(Napi::Env env, const std::vector<std::string>& list) {
  Napi::Array a = Napi::Array::New(env, list.size());
  for (size_t i = 0; i < list.size(); i++) a.Set(static_cast<uint32_t>(i), list[i]);
  return a;
}

}  // namespace kiln
