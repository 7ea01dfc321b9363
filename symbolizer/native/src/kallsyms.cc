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
  uint32_t name_start;  // in the compacted names
  uint16_t name_length;
  uint16_t module;
};

// Grows by realloc, which moves large blocks with mremap: the text is never copied while the
// file is read, and no page is touched twice.
struct MallocBuffer {
  char* data = nullptr;
  size_t size = 0, capacity = 0;
  ~MallocBuffer() { free(data); }
  bool Reserve(size_t n) {
    if (n <= capacity) return true;
    char* p = static_cast<char*>(realloc(data, n));
    if (p == nullptr) return false;
    data = p;
    capacity = n;
    return true;
  }
  char* Release() {
    char* p = data;
    data = nullptr;
    size = capacity = 0;
    return p;
  }
};

// The whole file (procfs reports size 0: read until EOF). False with errno set on failure.
bool ReadAll(const std::string& path, MallocBuffer* out) {
  UniqueFd fd = OpenReadOnly(path);
  if (!fd.valid()) return false;
  constexpr size_t kChunk = 1 << 20;
  for (;;) {
    if (!out->Reserve(out->size + kChunk) && !out->Reserve(out->size + 4096)) {
      errno = ENOMEM;
      return false;
    }
    ssize_t n = read(fd.get(), out->data + out->size, out->capacity - out->size);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    if (n == 0) return true;
    out->size += static_cast<size_t>(n);
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
  MallocBuffer file;
  if (!ReadAll(path, &file)) {
    int e = errno;
    Napi::Error err = Napi::Error::New(env, "read " + path + ": " + strerror(e));
    err.Set("code", Napi::String::New(env, e == ENOENT ? "ENOENT" : e == EACCES ? "EACCES" : "EIO"));
    throw err;
  }

  // Names are compacted in place to the front of the file's text, in file order; the text
  // behind the write position has always been parsed already.
  std::vector<Sym> syms;
  syms.reserve(file.size / 40 + 16);  // lines are ~44 bytes
  std::vector<std::string> modules{""};
  std::unordered_map<std::string, uint16_t> module_ids{{std::string(), 0}};
  bool any = false, non_zero = false;
  size_t pos = 0, written = 0;
  uint16_t last_module = 0;
  while (pos < file.size) {
    std::string_view rest(file.data + pos, file.size - pos);
    size_t eol = rest.find('\n');
    if (eol == std::string_view::npos) eol = rest.size();
    std::string_view line = rest.substr(0, eol);
    pos += eol + 1;
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
    std::string_view name = line.substr(sp + 3, (tab == std::string_view::npos ? line.size() : tab) - (sp + 3));
    if (name.size() > 0xffff) continue;
    uint16_t module = 0;
    if (tab != std::string_view::npos) {
      std::string_view m = line.substr(tab + 1);
      if (!m.empty() && m.front() == '[') m.remove_prefix(1);
      if (!m.empty() && m.back() == ']') m.remove_suffix(1);
      if (m == modules[last_module]) {
        module = last_module;  // a module's symbols come together
      } else {
        auto it = module_ids.find(std::string(m));
        if (it == module_ids.end()) {
          if (modules.size() > 0xffff) continue;
          module = static_cast<uint16_t>(modules.size());
          modules.emplace_back(m);
          module_ids.emplace(modules.back(), module);
        } else {
          module = it->second;
        }
        last_module = module;
      }
    }
    memmove(file.data + written, name.data(), name.size());
    syms.push_back(Sym{addr - base, static_cast<uint32_t>(syms.size()), static_cast<uint32_t>(written), static_cast<uint16_t>(name.size()), module});
    written += name.size();
  }
  // The core kernel comes sorted; modules and BPF programs follow in their own order.
  auto by_address = [](const Sym& a, const Sym& b) { return a.addr != b.addr ? a.addr < b.addr : a.index < b.index; };
  if (!std::is_sorted(syms.begin(), syms.end(), by_address)) std::sort(syms.begin(), syms.end(), by_address);
  // One symbol per address: the first one listed (aliases such as _stext/_text share one).
  syms.erase(std::unique(syms.begin(), syms.end(), [](const Sym& a, const Sym& b) { return a.addr == b.addr; }), syms.end());

  const size_t n = syms.size();
  Napi::Float64Array keys = Napi::Float64Array::New(env, n);
  Napi::Uint32Array starts = Napi::Uint32Array::New(env, n);
  Napi::Uint16Array lengths = Napi::Uint16Array::New(env, n);
  Napi::Uint16Array mods = Napi::Uint16Array::New(env, n);
  for (size_t i = 0; i < n; i++) {
    const Sym& s = syms[i];
    keys[i] = static_cast<double>(s.addr);
    starts[i] = s.name_start;
    lengths[i] = s.name_length;
    mods[i] = s.module;
  }
  // The names stay where they were read: the buffer is handed to JS, shrunk to them.
  Napi::Buffer<char> names = Napi::Buffer<char>::New(env, 0);
  if (written > 0) {
    char* text = file.Release();
    char* shrunk = static_cast<char*>(realloc(text, written));
    if (shrunk != nullptr) text = shrunk;
    names = Napi::Buffer<char>::New(env, text, written, [](Napi::Env, char* data) { free(data); });
  }
  Napi::Array js_modules = Napi::Array::New(env, modules.size());
  for (size_t i = 0; i < modules.size(); i++) js_modules.Set(static_cast<uint32_t>(i), modules[i]);
  Napi::Object out = Napi::Object::New(env);
  out.Set("keys", keys);
  out.Set("names", names);
  out.Set("nameStart", starts);
  out.Set("nameLength", lengths);
  out.Set("moduleOf", mods);
  out.Set("modules", js_modules);
  out.Set("restricted", any && !non_zero);
  return out;
}

}  // namespace kiln
