#include "kallsyms.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "files.h"

namespace kiln {
namespace {

struct Sym {
  uint64_t addr;
  uint32_t index;  // order in the file, for ties
  uint32_t name_start, name_end;  // in the file's text
  uint16_t module;
};

// The whole file (procfs reports size 0: read until EOF). False with errno set on failure.
bool ReadAll(const std::string& path, std::string* out) {
  UniqueFd fd = OpenReadOnly(path);
  if (!fd.valid()) return false;
  char chunk[1 << 16];
  for (;;) {
    ssize_t n = read(fd.get(), chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    if (n == 0) return true;
    out->append(chunk, static_cast<size_t>(n));
  }
}

bool ParseHex(std::string_view s, uint64_t* out) {
  if (s.empty() || s.size() > 16) return false;
  uint64_t v = 0;
  for (char c : s) {
    int d;
    if (c >= '0' && c <= '9') d = c - '0';
    else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
    else return false;
    v = v << 4 | static_cast<uint64_t>(d);
  }
  *out = v;
  return true;
}

}  // namespace

Napi::Value LoadKallsyms(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsString() || !info[1].IsBigInt()) {
    throw Napi::TypeError::New(env, "loadKallsyms(path: string, base: bigint)");
  }
  const std::string path = info[0].As<Napi::String>().Utf8Value();
  bool lossless = false;
  const uint64_t base = info[1].As<Napi::BigInt>().Uint64Value(&lossless);
  std::string file;
  if (!ReadAll(path, &file)) {
    int e = errno;
    Napi::Error err = Napi::Error::New(env, "read " + path + ": " + strerror(e));
    err.Set("code", Napi::String::New(env, e == ENOENT ? "ENOENT" : e == EACCES ? "EACCES" : "EIO"));
    throw err;
  }
  std::string_view text(file);

  std::vector<Sym> syms;
  std::vector<std::string> modules{""};
  std::unordered_map<std::string_view, uint16_t> module_ids{{std::string_view(), 0}};
  bool any = false, non_zero = false;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    std::string_view line = text.substr(pos, eol - pos);
    const size_t line_start = pos;
    pos = eol + 1;
    // "ffffffff81000000 T _stext" or "ffffffffc0201000 t name\t[module]"
    size_t sp = line.find(' ');
    if (sp == std::string_view::npos || sp == 0 || sp + 3 >= line.size() || line[sp + 2] != ' ') continue;
    char type = line[sp + 1];
    if (type != 't' && type != 'T' && type != 'w' && type != 'W') continue;
    uint64_t addr = 0;
    if (!ParseHex(line.substr(0, sp), &addr)) continue;
    any = true;
    if (addr != 0) non_zero = true;
    if (addr < base) continue;
    size_t tab = line.find('\t', sp + 3);
    size_t name_end = tab == std::string_view::npos ? line.size() : tab;
    uint16_t module = 0;
    if (tab != std::string_view::npos) {
      std::string_view m = line.substr(tab + 1);
      if (!m.empty() && m.front() == '[') m.remove_prefix(1);
      if (!m.empty() && m.back() == ']') m.remove_suffix(1);
      auto it = module_ids.find(m);
      if (it == module_ids.end()) {
        if (modules.size() > 0xffff) continue;
        module = static_cast<uint16_t>(modules.size());
        modules.emplace_back(m);
        module_ids.emplace(m, module);  // the view points into `file`, alive for this call
      } else {
        module = it->second;
      }
    }
    syms.push_back(Sym{addr - base, static_cast<uint32_t>(syms.size()), static_cast<uint32_t>(line_start + sp + 3),
                       static_cast<uint32_t>(line_start + name_end), module});
  }
  std::sort(syms.begin(), syms.end(),
            [](const Sym& a, const Sym& b) { return a.addr != b.addr ? a.addr < b.addr : a.index < b.index; });
  // One symbol per address: the first one listed (aliases such as _stext/_text share one).
  syms.erase(std::unique(syms.begin(), syms.end(), [](const Sym& a, const Sym& b) { return a.addr == b.addr; }), syms.end());

  // Names are copied into one arena, in address order; nameStart has n + 1 entries.
  const size_t n = syms.size();
  size_t bytes = 0;
  for (const Sym& s : syms) bytes += s.name_end - s.name_start;
  Napi::Buffer<char> names = Napi::Buffer<char>::New(env, bytes);
  Napi::Float64Array keys = Napi::Float64Array::New(env, n);
  Napi::Uint32Array starts = Napi::Uint32Array::New(env, n + 1);
  Napi::Uint16Array mods = Napi::Uint16Array::New(env, n);
  uint32_t at = 0;
  for (size_t i = 0; i < n; i++) {
    const Sym& s = syms[i];
    keys[i] = static_cast<double>(s.addr);
    starts[i] = at;
    memcpy(names.Data() + at, file.data() + s.name_start, s.name_end - s.name_start);
    at += s.name_end - s.name_start;
    mods[i] = s.module;
  }
  starts[n] = at;
  Napi::Array js_modules = Napi::Array::New(env, modules.size());
  for (size_t i = 0; i < modules.size(); i++) js_modules.Set(static_cast<uint32_t>(i), modules[i]);
  Napi::Object out = Napi::Object::New(env);
  out.Set("keys", keys);
  out.Set("names", names);
  out.Set("nameStart", starts);
  out.Set("moduleOf", mods);
  out.Set("modules", js_modules);
  out.Set("restricted", any && !non_zero);
  return out;
}

}  // namespace kiln
