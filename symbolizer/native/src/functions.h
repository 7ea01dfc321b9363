#pragma once
#include <elfutils/libdw.h>

#include <unordered_map>
#include <vector>

namespace kiln {

// Which functions (DW_TAG_subprogram, then the DW_TAG_inlined_subroutine chain inside it)
// contain a pc. Per CU, the out-of-line functions' address ranges are collected once into a
// sorted table; a lookup is a binary search plus a descent inside one function. (dwarf_getscopes
// and dwarf_getscopes_die each walk the whole CU, twice per address: ~150 µs in libc.)
class FunctionIndex {
 public:
  // Function DIEs containing pc (a CU-relative DWARF address), outermost first; empty if none.
  void Chain(Dwarf_Die* cudie, Dwarf_Addr pc, std::vector<Dwarf_Die>* out);

 private:
  struct Range {
    Dwarf_Addr low, high;
    Dwarf_Die die;
  };
  struct Table {
    std::vector<Range> ranges;  // sorted by low
  };
  const Table& TableFor(Dwarf_Die* cudie);
  void Collect(Dwarf_Die* parent, Table* table, int depth);

  std::unordered_map<Dwarf_Off, Table> tables_;
};

}  // namespace kiln
