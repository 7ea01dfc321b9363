#include <libelf.h>
#include <napi.h>

#include "demangle.h"
#include "elf_file.h"
#include "kallsyms.h"

namespace kiln {
namespace {

Napi::Value DemangleJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) throw Napi::TypeError::New(env, "demangle(name: string)");
  std::string name = info[0].As<Napi::String>().Utf8Value();
  return Napi::String::New(env, Demangle(name.c_str()));
}

}  // namespace
}  // namespace kiln

static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) {
  elf_version(EV_CURRENT);
  exports.Set("ElfFile", kiln::ElfFile::Define(env));
  exports.Set("demangle", Napi::Function::New(env, kiln::DemangleJs, "demangle"));
  exports.Set("loadKallsyms", Napi::Function::New(env, kiln::LoadKallsyms, "loadKallsyms"));
  return exports;
}

NODE_API_MODULE(kiln_symbolizer, InitAddon)
