#pragma once
#include <elfutils/libdwfl.h>

#include <cstdint>
#include <vector>

namespace kiln {

// The module's symbols (what libdwfl merges from .symtab, .dynsym and MiniDebugInfo) sorted
// by address, built once. libdwfl's own dwfl_module_addrinfo scans every symbol per lookup,
// which costs milliseconds in a binary like node (200k symbols); this answers the same
// question with a binary search and the same preferences: the closest sized symbol that
// contains the address (ties: global over weak over local, then the smaller one), else the
// closest size-less label in the same section that no sized symbol covers.
class SymbolIndex {
 public:
  void Build(Dwfl_Module* mod);
  bool built() const { return built_; }
  // nullptr if nothing covers addr. With exact, only a symbol starting at addr.
  const char* Lookup(GElf_Addr addr, bool exact) const;

 private:
  struct Sym {
    GElf_Addr value;
    GElf_Xword size;
    int binding;  // higher is better
    const char* name;
  };
  struct Section {
    GElf_Addr start, end;
  };
  const Section* SectionOf(GElf_Addr addr) const;

  bool built_ = false;
  std::vector<Sym> syms_;              // sorted by value
  std::vector<GElf_Addr> max_end_;     // max(value + size) over syms_[0..i], sized only
  std::vector<Section> sections_;      // SHF_ALLOC sections, sorted
};

}  // namespace kiln
