#include "symbols.h"

#include <gelf.h>

#include <algorithm>

namespace kiln {
namespace {

int Binding(const GElf_Sym& sym) {
  switch (GELF_ST_BIND(sym.st_info)) {
    case STB_GLOBAL: return 3;
    case STB_WEAK: return 2;
    case STB_LOCAL: return 1;
    default: return 0;
  }
}

}  // namespace

void SymbolIndex::Build(Dwfl_Module* mod) {
  built_ = true;
  int n = dwfl_module_getsymtab(mod);
  for (int i = 0; i < n; i++) {
    GElf_Sym sym;
    GElf_Addr value = 0;
    GElf_Word shndx = 0;
    Elf* elf = nullptr;
    Dwarf_Addr bias = 0;
    const char* name = dwfl_module_getsym_info(mod, i, &sym, &value, &shndx, &elf, &bias);
    if (name == nullptr || name[0] == '\0' || sym.st_shndx == SHN_UNDEF) continue;
    int type = GELF_ST_TYPE(sym.st_info);
    if (type == STT_SECTION || type == STT_FILE || type == STT_TLS) continue;
    syms_.push_back(Sym{value, sym.st_size, Binding(sym), name});
  }
  // Stable: among equals the symbol table order decides, as in libdwfl.
  std::stable_sort(syms_.begin(), syms_.end(), [](const Sym& a, const Sym& b) { return a.value < b.value; });
  max_end_.resize(syms_.size());
  GElf_Addr m = 0;
  for (size_t i = 0; i < syms_.size(); i++) {
    if (syms_[i].size > 0) m = std::max(m, syms_[i].value + syms_[i].size);
    max_end_[i] = m;
  }

  Dwarf_Addr bias = 0;
  if (Elf* elf = dwfl_module_getelf(mod, &bias)) {
    Elf_Scn* scn = nullptr;
    while ((scn = elf_nextscn(elf, scn)) != nullptr) {
      GElf_Shdr mem;
      GElf_Shdr* shdr = gelf_getshdr(scn, &mem);
      if (shdr == nullptr) break;
      if ((shdr->sh_flags & SHF_ALLOC) == 0 || shdr->sh_size == 0) continue;
      sections_.push_back(Section{shdr->sh_addr + bias, shdr->sh_addr + bias + shdr->sh_size});
    }
    std::sort(sections_.begin(), sections_.end(), [](const Section& a, const Section& b) { return a.start < b.start; });
  }
}

const SymbolIndex::Section* SymbolIndex::SectionOf(GElf_Addr addr) const {
  auto it = std::upper_bound(sections_.begin(), sections_.end(), addr,
                             [](GElf_Addr a, const Section& s) { return a < s.start; });
  if (it == sections_.begin()) return nullptr;
  --it;
  return addr < it->end ? &*it : nullptr;
}

const char* SymbolIndex::Lookup(GElf_Addr addr, bool exact) const {
  // Last symbol with value <= addr.
  auto it = std::upper_bound(syms_.begin(), syms_.end(), addr, [](GElf_Addr a, const Sym& s) { return a < s.value; });
  if (it == syms_.begin()) return nullptr;
  size_t last = static_cast<size_t>(it - syms_.begin()) - 1;

  // Closest sized symbol containing addr; walk back only while something could still contain it.
  const Sym* best = nullptr;
  for (size_t j = last + 1; j-- > 0;) {
    if (max_end_[j] <= addr) break;
    const Sym& s = syms_[j];
    if (s.size == 0 || addr - s.value >= s.size) continue;
    if (best != nullptr && s.value < best->value) break;
    if (best == nullptr || s.binding > best->binding || (s.binding == best->binding && s.size <= best->size)) best = &s;
  }
  if (best != nullptr) return exact && best->value != addr ? nullptr : best->name;

  // A label without size (hand-written assembly): the closest one, unless a sized symbol
  // between it and addr ends below addr, and only within addr's section.
  const GElf_Addr covered = max_end_[last];
  const Sym* label = nullptr;
  for (size_t j = last + 1; j-- > 0;) {
    const Sym& s = syms_[j];
    if (s.value < covered || (label != nullptr && s.value < label->value)) break;
    if (s.size != 0) continue;
    if (label == nullptr || s.binding > label->binding) label = &s;
  }
  if (label == nullptr || (exact && label->value != addr)) return nullptr;
  if (label->value == addr) return label->name;
  const Section* sec = SectionOf(addr);
  return sec != nullptr && label->value >= sec->start ? label->name : nullptr;
}

}  // namespace kiln
