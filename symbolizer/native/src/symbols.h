#pragma once
#include <elfutils/libdwfl.h>

#include <cstdint>
#include <string>
#include <vector>

namespace kiln {

// The module's symbols (what libdwfl merges from .symtab, .dynsym and MiniDebugInfo) sorted
// by address, built once. libdwfl's own dwfl_module_addrinfo scans every symbol per lookup,
// which costs milliseconds in a binary like node (200k symbols); this answers the same
// question with a binary search and the same preferences: the closest sized symbol that
// contains the address (ties: global over weak over local, then the smaller one), else the
// closest size-less label in the same section that no sized symbol covers.
//
// A 64-bit native-endian .symtab is read from the file with pread and its names are left on
// disk (read when a lookup returns one): libdwfl would copy the table and its string table
// into memory (node: 10 MB, strings mostly). Other tables (.dynsym only, MiniDebugInfo) come
// from libdwfl, names in its memory.
class SymbolIndex {
 public:
  // `fd`: the module's main file (the one libdwfl reads symbols from), open while this lives.
  void Build(Dwfl_Module* mod, int fd);
  bool built() const { return built_; }
  // The name of the symbol covering addr into *name; false if none. With exact, only a symbol
  // starting at addr.
  bool Lookup(GElf_Addr addr, bool exact, std::string* name) const;

 private:
  struct Sym {
    GElf_Addr value;
    uint64_t name;  // a const char* (in memory), or the st_name offset (names on disk)
    uint32_t size;
    uint8_t binding;  // higher is better
  };
  struct Section {
    GElf_Addr start, end;
  };
  static void SortByValue(std::vector<Sym>* syms);
  const Sym* Find(GElf_Addr addr, bool exact) const;
  const Section* SectionOf(GElf_Addr addr) const;
  bool BuildFromFile(Elf* elf, GElf_Addr bias);
  void BuildFromDwfl(Dwfl_Module* mod);
  bool Name(const Sym& s, std::string* out) const;

  bool built_ = false;
  std::vector<Sym> syms_;              // sorted by value
  std::vector<GElf_Addr> max_end_;     // max(value + size) over syms_[0..i], sized only
  std::vector<Section> sections_;      // SHF_ALLOC sections, sorted
  // Names on disk: the string table's place in `fd_`.
  int fd_ = -1;
  bool names_on_disk_ = false;
  uint64_t strtab_offset_ = 0, strtab_size_ = 0;
};

}  // namespace kiln
