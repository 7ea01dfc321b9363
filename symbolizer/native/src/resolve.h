#pragma once
#include <elfutils/libdwfl.h>

#include <string>
#include <vector>

#include "functions.h"
#include "symbols.h"

namespace kiln {

struct RawFrame {
  std::string name;
  const char* file;  // owned by libdw, valid while the Dwfl lives
  int line;
  int decl_line;  // the function's DW_AT_decl_line, 0 when unknown
  bool inlined;
};

// Frames for one module address, innermost first, the containing function last; empty when
// neither DWARF nor a symbol table knows the address. Names follow binutils' addr2line -f -C -i:
// DW_AT_linkage_name demangled, else DW_AT_name (for a C++ function without a linkage name,
// e.g. main, the ELF symbol as BFD does), inlined callers with DW_AT_call_file/DW_AT_call_line.
void ResolveAddress(Dwfl_Module* mod, const SymbolIndex& symbols, FunctionIndex& functions, Dwarf_Addr addr, std::vector<RawFrame>* out);

}  // namespace kiln
