#pragma once
#include <string>

namespace kiln {

// Itanium C++ names and legacy Rust names (`_ZN...17h<hash>E`, hash dropped, `$LT$`-style
// escapes decoded) through abi::__cxa_demangle, with the same options binutils' addr2line -C
// uses (parameters, no verbose substitutions). Anything else is returned unchanged.
std::string Demangle(const char* name);

}  // namespace kiln
