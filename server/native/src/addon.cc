// The server's native part: gzip decompression of uploads with libdeflate (about 1.5x zlib's
// speed here) into a buffer the caller reuses, so an upload allocates nothing to decompress; and
// the TSV escaping of uploads as received, which are nearly all the bytes the server inserts.
#include <libdeflate.h>

#include <array>
#include <cstdint>
#include <napi.h>

namespace {

// One per process: /ingest decompresses on the main thread only.
libdeflate_decompressor* Decompressor(Napi::Env env) {
  static libdeflate_decompressor* d = libdeflate_alloc_decompressor();
  if (d == nullptr) throw Napi::Error::New(env, "libdeflate: out of memory");
  return d;
}

// gunzipInto(input, output): the bytes written to `output`, or -1 when they do not fit. Members
// follow each other (concatenated gzip) until the input ends or only zero padding is left.
Napi::Value GunzipInto(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsTypedArray() || !info[1].IsTypedArray()) {
    throw Napi::TypeError::New(env, "gunzipInto(input: Uint8Array, output: Uint8Array)");
  }
  auto input = info[0].As<Napi::Uint8Array>();
  auto output = info[1].As<Napi::Uint8Array>();
  const uint8_t* in = input.Data();
  size_t left = input.ByteLength();
  uint8_t* out = output.Data();
  const size_t room = output.ByteLength();
  size_t written = 0;
  libdeflate_decompressor* d = Decompressor(env);
  for (;;) {
    size_t used = 0;
    size_t produced = 0;
    libdeflate_result r = libdeflate_gzip_decompress_ex(d, in, left, out + written, room - written, &used, &produced);
    if (r == LIBDEFLATE_INSUFFICIENT_SPACE) return Napi::Number::New(env, -1);
    if (r != LIBDEFLATE_SUCCESS) {
      throw Napi::Error::New(env, r == LIBDEFLATE_BAD_DATA ? "corrupt or truncated gzip data" : "gzip data ends early");
    }
    written += produced;
    in += used;
    left -= used;
    size_t zeros = 0;
    while (zeros < left && in[zeros] == 0) zeros++;
    if (zeros == left) break;
  }
  return Napi::Number::New(env, static_cast<double>(written));
}

// tsvEscapeInto(input, output, at): writes `input` to `output` from `at` as one TabSeparated
// field (tab, newline, carriage return and backslash escaped); returns where it ended. The caller
// leaves room for 2 * input.length bytes.
Napi::Value TsvEscapeInto(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[0].IsTypedArray() || !info[1].IsTypedArray() || !info[2].IsNumber()) {
    throw Napi::TypeError::New(env, "tsvEscapeInto(input: Uint8Array, output: Uint8Array, at: number)");
  }
  auto input = info[0].As<Napi::Uint8Array>();
  auto output = info[1].As<Napi::Uint8Array>();
  const int64_t at = info[2].As<Napi::Number>().Int64Value();
  const size_t n = input.ByteLength();
  if (at < 0 || static_cast<size_t>(at) > output.ByteLength() || output.ByteLength() - static_cast<size_t>(at) < 2 * n) {
    throw Napi::RangeError::New(env, "tsvEscapeInto: no room for twice the input after `at`");
  }
  static const auto kEscapeOf = [] {
    std::array<uint8_t, 256> t{};
    t['\t'] = 't';
    t['\n'] = 'n';
    t['\r'] = 'r';
    t['\\'] = '\\';
    return t;
  }();
  const uint8_t* in = input.Data();
  uint8_t* out = output.Data() + at;
  for (size_t i = 0; i < n; i++) {
    const uint8_t c = in[i];
    const uint8_t e = kEscapeOf[c];
    if (e == 0) {
      *out++ = c;
    } else {
      *out++ = '\\';
      *out++ = e;
    }
  }
  return Napi::Number::New(env, static_cast<double>(out - output.Data()));
}

}  // namespace

static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) {
  exports.Set("gunzipInto", Napi::Function::New(env, GunzipInto, "gunzipInto"));
  exports.Set("tsvEscapeInto", Napi::Function::New(env, TsvEscapeInto, "tsvEscapeInto"));
  return exports;
}

NODE_API_MODULE(kiln_server, InitAddon)
