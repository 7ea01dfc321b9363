#pragma once
#include <napi.h>

#include <vector>

namespace kiln {

// Hands `bytes` to JS without a copy: the ArrayBuffer owns the vector and frees it when collected.
inline Napi::ArrayBuffer to_array_buffer(Napi::Env env, std::vector<unsigned char>&& bytes) {
  auto* owned = new std::vector<unsigned char>(std::move(bytes));
  if (owned->empty()) {
    delete owned;
    return Napi::ArrayBuffer::New(env, 0);
  }
  return Napi::ArrayBuffer::New(env, owned->data(), owned->size(), [](Napi::Env, void*, std::vector<unsigned char>* v) { delete v; }, owned);
}

}  // namespace kiln
