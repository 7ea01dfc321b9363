#include "resolve.h"

#include <dwarf.h>
#include <elfutils/libdw.h>

#include <cstdlib>
#include <vector>

#include "demangle.h"

namespace kiln {
namespace {

// BFD's non_mangled(): languages whose DW_AT_name is the linkage name.
bool NonMangled(int lang) {
  switch (lang) {
    case DW_LANG_C89:
    case DW_LANG_C:
    case DW_LANG_Ada83:
    case DW_LANG_Cobol74:
    case DW_LANG_Cobol85:
    case DW_LANG_Fortran77:
    case DW_LANG_Pascal83:
    case DW_LANG_C99:
    case DW_LANG_Ada95:
    case DW_LANG_PLI:
    case DW_LANG_UPC:
    case DW_LANG_C11:
      return true;
    default:
      return false;
  }
}

// The linkage name if the DIE (or its abstract origin / specification) has one, else DW_AT_name.
const char* DieName(Dwarf_Die* die, bool* linkage) {
  Dwarf_Attribute attr;
  for (unsigned int at : {DW_AT_linkage_name, DW_AT_MIPS_linkage_name}) {
    if (dwarf_attr_integrate(die, at, &attr) != nullptr) {
      if (const char* s = dwarf_formstring(&attr)) {
        *linkage = true;
        return s;
      }
    }
  }
  *linkage = false;
  if (dwarf_attr_integrate(die, DW_AT_name, &attr) != nullptr) return dwarf_formstring(&attr);
  return nullptr;
}

bool UData(Dwarf_Die* die, unsigned int name, Dwarf_Word* out) {
  Dwarf_Attribute attr;
  return dwarf_attr(die, name, &attr) != nullptr && dwarf_formudata(&attr, out) == 0;
}

// Where the function's code starts: low_pc, or the first of its DW_AT_ranges (the hot part;
// GCC lists a .cold part after it). This is BFD's arange.low.
bool EntryAddress(Dwarf_Die* die, Dwarf_Addr* entry) {
  Dwarf_Addr base = 0, start = 0, end = 0;
  if (dwarf_ranges(die, 0, &base, &start, &end) <= 0) return false;
  *entry = start;
  return true;
}

// A function's name as addr2line -C shows it. Linkage names (and C's DW_AT_name) directly.
// For an out-of-line C++ function without a linkage name (main, extern "C", anything with
// internal linkage such as an anonymous namespace or a lambda's type) BFD switches to the ELF
// symbol: the one at the function's entry, which qualifies the name ("(anonymous
// namespace)::f(long)" rather than "f"), else the one containing the address. An inlined
// instance has no symbol of its own and keeps its DWARF name (BFD would show the enclosing
// symbol for it; that would name the caller twice).
std::string FunctionName(const SymbolIndex& symbols, Dwarf_Die* die, int lang, bool innermost, Dwarf_Addr addr, Dwarf_Addr bias) {
  bool linkage = false;
  const char* raw = DieName(die, &linkage);
  if (!linkage && !NonMangled(lang) && dwarf_tag(die) != DW_TAG_inlined_subroutine) {
    Dwarf_Addr entry = 0;
    std::string sym;
    if (EntryAddress(die, &entry) && symbols.Lookup(entry + bias, true, &sym)) return Demangle(sym.c_str());
    if (innermost && symbols.Lookup(addr, false, &sym)) return Demangle(sym.c_str());
  }
  return raw != nullptr ? Demangle(raw) : std::string("??");
}

void DwarfFrames(Dwfl_Module* mod, const SymbolIndex& symbols, FunctionIndex& functions, Dwarf_Die* cudie, Dwarf_Addr addr, Dwarf_Addr bias, std::vector<RawFrame>* out) {
  std::vector<Dwarf_Die> chain;
  functions.Chain(cudie, addr - bias, &chain);
  // Innermost first, up to the out-of-line function (a nested function ends the chain too).
  std::vector<Dwarf_Die> funcs;
  for (size_t i = chain.size(); i-- > 0;) {
    funcs.push_back(chain[i]);
    if (dwarf_tag(&chain[i]) != DW_TAG_inlined_subroutine) break;
  }
  if (funcs.empty()) return;

  int lang = dwarf_srclang(cudie);
  Dwarf_Files* files = nullptr;
  size_t nfiles = 0;
  bool have_files = dwarf_getsrcfiles(cudie, &files, &nfiles) == 0;

  const char* file = nullptr;
  int line = 0;
  if (Dwfl_Line* l = dwfl_module_getsrc(mod, addr)) {
    file = dwfl_lineinfo(l, nullptr, &line, nullptr, nullptr, nullptr);
  }

  for (size_t k = 0; k < funcs.size(); k++) {
    Dwarf_Die* die = &funcs[k];
    bool inlined = dwarf_tag(die) == DW_TAG_inlined_subroutine;
    // Follows DW_AT_abstract_origin / DW_AT_specification to the declaration.
    int decl_line = 0;
    if (dwarf_decl_line(die, &decl_line) != 0) decl_line = 0;
    out->push_back(RawFrame{FunctionName(symbols, die, lang, k == 0, addr, bias), file, line, decl_line, inlined});
    if (!inlined) break;
    file = nullptr;
    line = 0;
    Dwarf_Word v;
    if (have_files && UData(die, DW_AT_call_file, &v) && v < nfiles) file = dwarf_filesrc(files, v, nullptr, nullptr);
    if (UData(die, DW_AT_call_line, &v)) line = static_cast<int>(v);
  }
}

// libdwfl attributes the gaps between CUs' address ranges to the CU before them; in a binary
// where DWARF covers a few objects only (node: libuv) that is nearly every address, and
// walking that CU for nothing is slow. Only a CU whose own ranges contain the address counts
// (BFD, too, goes by the CU's ranges).
bool CuContains(Dwarf_Die* cudie, Dwarf_Addr pc) {
  if (!dwarf_hasattr(cudie, DW_AT_low_pc) && !dwarf_hasattr(cudie, DW_AT_ranges)) return true;
  return dwarf_haspc(cudie, pc) == 1;
}

}  // namespace

void ResolveAddress(Dwfl_Module* mod, const SymbolIndex& symbols, FunctionIndex& functions, Dwarf_Addr addr, std::vector<RawFrame>* out) {
  out->clear();
  Dwarf_Addr bias = 0;
  Dwarf_Die* cudie = dwfl_module_addrdie(mod, addr, &bias);
  if (cudie != nullptr && CuContains(cudie, addr - bias)) DwarfFrames(mod, symbols, functions, cudie, addr, bias, out);
  if (!out->empty()) return;
  std::string sym;
  if (symbols.Lookup(addr, false, &sym)) out->push_back(RawFrame{Demangle(sym.c_str()), nullptr, 0, 0, false});
}

}  // namespace kiln
