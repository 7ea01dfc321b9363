// The server's native part: gzip decompression of uploads with libdeflate (about 1.5x zlib's
// speed here) into a buffer the caller reuses, so an upload allocates nothing to decompress.
#include <libdeflate.h>
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

}  // namespace

static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) {
  exports.Set("gunzipInto", Napi::Function::New(env, GunzipInto, "gunzipInto"));
  return exports;
}

NODE_API_MODULE(kiln_server, InitAddon)
