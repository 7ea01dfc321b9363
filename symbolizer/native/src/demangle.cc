#include "demangle.h"

#include <cxxabi.h>

#include <cstdlib>
#include <cstring>
#include <memory>

namespace kiln {
namespace {

bool IsHex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

// `_ZN` ... `17h` + 16 hex digits + `E`, optionally followed by a `.suffix` (LLVM adds `.llvm.N`).
bool HashEndsAt(const std::string& m, size_t end) {
  if (end < 3 + 20 || m[end - 1] != 'E') return false;
  size_t h = end - 1 - 16;
  if (m.compare(h - 3, 3, "17h") != 0) return false;
  for (size_t i = h; i < end - 1; i++)
    if (!IsHex(m[i])) return false;
  return true;
}

// Sets *end to the length of the mangled name without its suffix.
bool IsRustLegacy(const std::string& m, size_t* end) {
  if (m.rfind("_ZN", 0) != 0) return false;
  *end = m.size();
  if (HashEndsAt(m, m.size())) return true;
  for (size_t dot = m.find("E.", 3); dot != std::string::npos; dot = m.find("E.", dot + 1)) {
    *end = dot + 1;
    if (HashEndsAt(m, dot + 1)) return true;
  }
  return false;
}

// rustc's legacy escapes inside path components: `$LT$` → `<`, `$u20$` → ` `, `..` → `::`,
// and a component's leading `_` before `$` dropped.
std::string RustUnescape(const std::string& s) {
  static const struct {
    const char* esc;
    char ch;
  } kEscapes[] = {{"$SP$", '@'}, {"$BP$", '*'}, {"$RF$", '&'}, {"$LT$", '<'}, {"$GT$", '>'},
                  {"$LP$", '('}, {"$RP$", ')'}, {"$C$", ','}};
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    bool component_start = i == 0 || (i >= 2 && s[i - 1] == ':' && s[i - 2] == ':');
    if (component_start && s[i] == '_' && i + 1 < s.size() && s[i + 1] == '$') {
      i++;
      continue;
    }
    if (s[i] == '$') {
      bool done = false;
      for (const auto& e : kEscapes) {
        size_t n = strlen(e.esc);
        if (s.compare(i, n, e.esc) == 0) {
          out.push_back(e.ch);
          i += n;
          done = true;
          break;
        }
      }
      if (!done && s.compare(i, 2, "$u") == 0) {
        size_t close = s.find('$', i + 2);
        if (close != std::string::npos && close > i + 2 && close - i <= 8) {
          char* endp = nullptr;
          std::string digits = s.substr(i + 2, close - i - 2);
          unsigned long cp = strtoul(digits.c_str(), &endp, 16);
          if (endp != nullptr && *endp == '\0' && cp > 0 && cp < 0x80) {
            out.push_back(static_cast<char>(cp));
            i = close + 1;
            done = true;
          }
        }
      }
      if (done) continue;
    }
    if (s[i] == '.' && i + 1 < s.size() && s[i + 1] == '.') {
      out += "::";
      i += 2;
      continue;
    }
    out.push_back(s[i]);
    i++;
  }
  return out;
}

}  // namespace

std::string Demangle(const char* name) {
  if (name == nullptr) return {};
  if (name[0] != '_' || name[1] != 'Z') return name;
  // Like bfd_demangle: a symbol version (`@GLIBC_2.2.5`, `@plt`) is not part of the mangling.
  std::string mangled(name);
  std::string suffix;
  if (size_t at = mangled.find('@'); at != std::string::npos) {
    suffix = mangled.substr(at);
    mangled.resize(at);
  }
  // Legacy Rust: like rustc-demangle, the hash and an LLVM `.llvm.N` suffix are not shown.
  size_t rust_end = 0;
  bool rust = IsRustLegacy(mangled, &rust_end);
  if (rust) mangled.resize(rust_end);
  int status = 0;
  std::unique_ptr<char, decltype(&free)> out(abi::__cxa_demangle(mangled.c_str(), nullptr, nullptr, &status), &free);
  if (status != 0 || out == nullptr) return name;
  std::string result(out.get());
  if (rust) {
    // "a::b::h0123456789abcdef" → "a::b"
    if (result.size() > 19 && result.compare(result.size() - 19, 3, "::h") == 0) result.resize(result.size() - 19);
    result = RustUnescape(result);
  }
  return result + suffix;
}

}  // namespace kiln
