#include "functions.h"

#include <dwarf.h>

#include <algorithm>

namespace kiln {
namespace {

bool IsScope(int tag) {
  switch (tag) {
    case DW_TAG_subprogram:
    case DW_TAG_inlined_subroutine:
    case DW_TAG_entry_point:
    case DW_TAG_lexical_block:
    case DW_TAG_try_block:
    case DW_TAG_catch_block:
    case DW_TAG_with_stmt:
      return true;
    default:
      return false;
  }
}

bool HasPcAttrs(Dwarf_Die* die) { return dwarf_hasattr(die, DW_AT_low_pc) || dwarf_hasattr(die, DW_AT_ranges); }

// Descends from `die` (which contains pc) to the innermost scope containing pc, appending
// the function DIEs on the way. A scope without pc attributes is looked into, not trusted.
bool Descend(Dwarf_Die* die, Dwarf_Addr pc, std::vector<Dwarf_Die>* out, int depth) {
  if (depth > 64) return false;
  Dwarf_Die child;
  if (dwarf_child(die, &child) != 0) return false;
  do {
    int tag = dwarf_tag(&child);
    if (!IsScope(tag)) continue;
    if (HasPcAttrs(&child)) {
      if (dwarf_haspc(&child, pc) != 1) continue;
      if (tag != DW_TAG_lexical_block && tag != DW_TAG_try_block && tag != DW_TAG_catch_block && tag != DW_TAG_with_stmt) {
        out->push_back(child);
      }
      Descend(&child, pc, out, depth + 1);
      return true;
    }
    size_t before = out->size();
    if (Descend(&child, pc, out, depth + 1)) return true;
    out->resize(before);
  } while (dwarf_siblingof(&child, &child) == 0);
  return false;
}

}  // namespace

void FunctionIndex::Collect(Dwarf_Die* parent, Table* table, int depth) {
  if (depth > 16) return;
  Dwarf_Die child;
  if (dwarf_child(parent, &child) != 0) return;
  do {
    switch (dwarf_tag(&child)) {
      case DW_TAG_subprogram:
      case DW_TAG_entry_point: {
        Dwarf_Addr base = 0, start = 0, end = 0;
        ptrdiff_t off = 0;
        while ((off = dwarf_ranges(&child, off, &base, &start, &end)) > 0) {
          if (end > start) table->ranges.push_back(Range{start, end, child});
        }
        break;
      }
      case DW_TAG_namespace:
      case DW_TAG_module:
      case DW_TAG_class_type:
      case DW_TAG_structure_type:
      case DW_TAG_union_type:
        if (dwarf_haschildren(&child)) Collect(&child, table, depth + 1);
        break;
      case DW_TAG_imported_unit: {
        // DWZ: DIEs shared between CUs live in a partial unit.
        Dwarf_Attribute attr;
        Dwarf_Die unit;
        if (dwarf_attr(&child, DW_AT_import, &attr) != nullptr && dwarf_formref_die(&attr, &unit) != nullptr) {
          Collect(&unit, table, depth + 1);
        }
        break;
      }
      default:
        break;
    }
  } while (dwarf_siblingof(&child, &child) == 0);
}

const FunctionIndex::Table& FunctionIndex::TableFor(Dwarf_Die* cudie) {
  Dwarf_Off key = dwarf_dieoffset(cudie);
  auto it = tables_.find(key);
  if (it != tables_.end()) return it->second;
  Table table;
  Collect(cudie, &table, 0);
  std::sort(table.ranges.begin(), table.ranges.end(), [](const Range& a, const Range& b) { return a.low < b.low; });
  return tables_.emplace(key, std::move(table)).first->second;
}

void FunctionIndex::Chain(Dwarf_Die* cudie, Dwarf_Addr pc, std::vector<Dwarf_Die>* out) {
  out->clear();
  const Table& table = TableFor(cudie);
  auto it = std::upper_bound(table.ranges.begin(), table.ranges.end(), pc,
                             [](Dwarf_Addr a, const Range& r) { return a < r.low; });
  // Out-of-line functions do not overlap; look back a little in case of odd nesting.
  const Range* found = nullptr;
  for (int k = 0; k < 8 && it != table.ranges.begin(); k++) {
    --it;
    if (pc < it->high) {
      found = &*it;
      break;
    }
  }
  if (found == nullptr) return;
  Dwarf_Die fn = found->die;
  out->push_back(fn);
  Descend(&fn, pc, out, 0);
}

}  // namespace kiln
