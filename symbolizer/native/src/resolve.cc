#include "resolve.h"

#include <dwarf.h>
#include <elfutils/libdw.h>

#include <cstdlib>

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

bool IsFunction(int tag) {
  return tag == DW_TAG_subprogram || tag == DW_TAG_inlined_subroutine || tag == DW_TAG_entry_point;
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

// The ELF symbol containing addr (or, with exact, starting at addr), as libdwfl picks it.
const char* SymbolName(Dwfl_Module* mod, Dwarf_Addr addr, bool exact) {
  GElf_Off off = 0;
  GElf_Sym sym;
  const char* name = dwfl_module_addrinfo(mod, addr, &off, &sym, nullptr, nullptr, nullptr);
  if (name == nullptr || *name == '\0' || (exact && off != 0)) return nullptr;
  return name;
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
std::string FunctionName(Dwfl_Module* mod, Dwarf_Die* die, int lang, bool innermost, Dwarf_Addr addr, Dwarf_Addr bias) {
  bool linkage = false;
  const char* raw = DieName(die, &linkage);
  if (!linkage && !NonMangled(lang) && dwarf_tag(die) != DW_TAG_inlined_subroutine) {
    Dwarf_Addr entry = 0;
    if (EntryAddress(die, &entry)) {
      if (const char* sym = SymbolName(mod, entry + bias, true)) return Demangle(sym);
    }
    if (innermost) {
      if (const char* sym = SymbolName(mod, addr, false)) return Demangle(sym);
    }
  }
  return raw != nullptr ? Demangle(raw) : std::string("??");
}

void DwarfFrames(Dwfl_Module* mod, Dwarf_Die* cudie, Dwarf_Addr addr, Dwarf_Addr bias, std::vector<RawFrame>* out) {
  Dwarf_Die* scopes = nullptr;
  int n = dwarf_getscopes(cudie, addr - bias, &scopes);
  if (n <= 0) {
    free(scopes);
    return;
  }
  Dwarf_Die innermost = scopes[0];
  free(scopes);

  // dwarf_getscopes continues into the abstract origin after an inlined instance; the
  // concrete chain of callers comes from the DIE's parents.
  Dwarf_Die* chain = nullptr;
  int m = dwarf_getscopes_die(&innermost, &chain);
  std::vector<Dwarf_Die> funcs;
  for (int i = 0; i < m; i++) {
    int tag = dwarf_tag(&chain[i]);
    if (!IsFunction(tag)) continue;
    funcs.push_back(chain[i]);
    if (tag != DW_TAG_inlined_subroutine) break;
  }
  free(chain);
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
    out->push_back(RawFrame{FunctionName(mod, die, lang, k == 0, addr, bias), file, line, inlined});
    if (!inlined) break;
    file = nullptr;
    line = 0;
    Dwarf_Word v;
    if (have_files && UData(die, DW_AT_call_file, &v) && v < nfiles) file = dwarf_filesrc(files, v, nullptr, nullptr);
    if (UData(die, DW_AT_call_line, &v)) line = static_cast<int>(v);
  }
}

}  // namespace

void ResolveAddress(Dwfl_Module* mod, Dwarf_Addr addr, std::vector<RawFrame>* out) {
  out->clear();
  Dwarf_Addr bias = 0;
  if (Dwarf_Die* cudie = dwfl_module_addrdie(mod, addr, &bias)) DwarfFrames(mod, cudie, addr, bias, out);
  if (!out->empty()) return;
  if (const char* sym = SymbolName(mod, addr, false)) out->push_back(RawFrame{Demangle(sym), nullptr, 0, false});
}

}  // namespace kiln
