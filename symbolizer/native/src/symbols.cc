#include "symbols.h"

#include <gelf.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>

namespace kiln {
namespace {

uint8_t Binding(unsigned char info) {
  switch (GELF_ST_BIND(info)) {
    case STB_GLOBAL: return 3;
    case STB_WEAK: return 2;
    case STB_LOCAL: return 1;
    default: return 0;
  }
}

bool Wanted(unsigned char info, uint16_t shndx) {
  if (shndx == SHN_UNDEF) return false;
  int type = GELF_ST_TYPE(info);
  return type != STT_SECTION && type != STT_FILE && type != STT_TLS;
}

uint32_t ClampSize(uint64_t size) {
  return size > std::numeric_limits<uint32_t>::max() ? std::numeric_limits<uint32_t>::max() : static_cast<uint32_t>(size);
}

ssize_t PreadFull(int fd, void* buf, size_t len, uint64_t off) {
  size_t done = 0;
  while (done < len) {
    ssize_t n = pread(fd, static_cast<char*>(buf) + done, len - done, static_cast<off_t>(off + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  return static_cast<ssize_t>(done);
}

}  // namespace

// Stable, so that among equal addresses the symbol table order decides, as in libdwfl. An LSD
// radix sort on the offset from the lowest address, 11 bits a pass: node's 107k symbols sort in
// ~1.8 ms, against ~6 ms with std::stable_sort, on a 2-core VM.
void SymbolIndex::SortByValue(std::vector<Sym>* syms) {
  std::vector<Sym>& v = *syms;
  if (v.size() < 2) return;
  GElf_Addr lo = v[0].value, hi = v[0].value;
  for (const Sym& s : v) {
    lo = std::min(lo, s.value);
    hi = std::max(hi, s.value);
  }
  constexpr int kBits = 11;
  constexpr size_t kBuckets = size_t{1} << kBits;
  std::vector<Sym> out(v.size());
  std::vector<size_t> start(kBuckets + 1);
  for (int shift = 0; shift < 64 && ((hi - lo) >> shift) != 0; shift += kBits) {
    std::fill(start.begin(), start.end(), 0);
    for (const Sym& s : v) start[((s.value - lo) >> shift & (kBuckets - 1)) + 1]++;
    for (size_t i = 1; i <= kBuckets; i++) start[i] += start[i - 1];
    for (const Sym& s : v) out[start[(s.value - lo) >> shift & (kBuckets - 1)]++] = s;
    v.swap(out);
  }
}

void SymbolIndex::Build(Dwfl_Module* mod, int fd) {
  built_ = true;
  fd_ = fd;
  Dwarf_Addr bias = 0;
  Elf* elf = dwfl_module_getelf(mod, &bias);
  if (elf == nullptr || !BuildFromFile(elf, bias)) BuildFromDwfl(mod);
  SortByValue(&syms_);
  max_end_.resize(syms_.size());
  GElf_Addr m = 0;
  for (size_t i = 0; i < syms_.size(); i++) {
    if (syms_[i].size > 0) m = std::max(m, syms_[i].value + syms_[i].size);
    max_end_[i] = m;
  }

  if (elf != nullptr) {
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

// The .symtab libdwfl would use (the main file's), read in chunks with pread; names stay on
// disk. False (nothing added) when the file has no such table or it is not 64-bit native-endian.
bool SymbolIndex::BuildFromFile(Elf* elf, GElf_Addr bias) {
  if (fd_ < 0 || gelf_getclass(elf) != ELFCLASS64) return false;
  const char* ident = elf_getident(elf, nullptr);
  const unsigned char host = __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ ? ELFDATA2LSB : ELFDATA2MSB;
  if (ident == nullptr || static_cast<unsigned char>(ident[EI_DATA]) != host) return false;
  GElf_Shdr symtab{}, strtab{};
  bool found = false;
  Elf_Scn* scn = nullptr;
  while ((scn = elf_nextscn(elf, scn)) != nullptr) {
    GElf_Shdr mem;
    GElf_Shdr* shdr = gelf_getshdr(scn, &mem);
    if (shdr == nullptr) return false;
    if (shdr->sh_type != SHT_SYMTAB || shdr->sh_size == 0) continue;
    GElf_Shdr strmem;
    GElf_Shdr* str = gelf_getshdr(elf_getscn(elf, shdr->sh_link), &strmem);
    if (str == nullptr || str->sh_type != SHT_STRTAB || shdr->sh_entsize != sizeof(Elf64_Sym)) return false;
    symtab = *shdr;
    strtab = *str;
    found = true;
    break;
  }
  if (!found) return false;
  strtab_offset_ = strtab.sh_offset;
  strtab_size_ = strtab.sh_size;
  names_on_disk_ = true;
  constexpr size_t kChunk = 2730;  // symbols per read, 64 KB
  std::vector<Elf64_Sym> chunk(kChunk);
  const uint64_t count = symtab.sh_size / sizeof(Elf64_Sym);
  for (uint64_t first = 0; first < count; first += kChunk) {
    size_t want = static_cast<size_t>(std::min<uint64_t>(kChunk, count - first));
    ssize_t got = PreadFull(fd_, chunk.data(), want * sizeof(Elf64_Sym), symtab.sh_offset + first * sizeof(Elf64_Sym));
    size_t n = got > 0 ? static_cast<size_t>(got) / sizeof(Elf64_Sym) : 0;
    for (size_t i = 0; i < n; i++) {
      const Elf64_Sym& sym = chunk[i];
      if (sym.st_name == 0 || sym.st_name >= strtab_size_ || !Wanted(sym.st_info, sym.st_shndx)) continue;
      syms_.push_back(Sym{sym.st_value + bias, sym.st_name, ClampSize(sym.st_size), Binding(sym.st_info)});
    }
    if (n < want) break;  // truncated: keep what was read
  }
  return true;
}

void SymbolIndex::BuildFromDwfl(Dwfl_Module* mod) {
  int n = dwfl_module_getsymtab(mod);
  for (int i = 0; i < n; i++) {
    GElf_Sym sym;
    GElf_Addr value = 0;
    GElf_Word shndx = 0;
    Elf* elf = nullptr;
    Dwarf_Addr bias = 0;
    const char* name = dwfl_module_getsym_info(mod, i, &sym, &value, &shndx, &elf, &bias);
    if (name == nullptr || name[0] == '\0' || !Wanted(sym.st_info, sym.st_shndx)) continue;
    syms_.push_back(Sym{value, reinterpret_cast<uint64_t>(name), ClampSize(sym.st_size), Binding(sym.st_info)});
  }
}

bool SymbolIndex::Name(const Sym& s, std::string* out) const {
  out->clear();
  if (!names_on_disk_) {
    out->assign(reinterpret_cast<const char*>(s.name));
    return true;
  }
  // Read until the NUL, in pieces (C++ and Rust names can be kilobytes long).
  uint64_t off = strtab_offset_ + s.name;
  const uint64_t end = strtab_offset_ + strtab_size_;
  char buf[512];
  while (off < end && out->size() < (1u << 16)) {
    size_t want = static_cast<size_t>(std::min<uint64_t>(sizeof buf, end - off));
    ssize_t got = PreadFull(fd_, buf, want, off);
    if (got <= 0) return !out->empty();
    const char* nul = static_cast<const char*>(memchr(buf, '\0', static_cast<size_t>(got)));
    if (nul != nullptr) {
      out->append(buf, static_cast<size_t>(nul - buf));
      return !out->empty();
    }
    out->append(buf, static_cast<size_t>(got));
    off += static_cast<uint64_t>(got);
  }
  return !out->empty();
}

const SymbolIndex::Section* SymbolIndex::SectionOf(GElf_Addr addr) const {
  auto it = std::upper_bound(sections_.begin(), sections_.end(), addr,
                             [](GElf_Addr a, const Section& s) { return a < s.start; });
  if (it == sections_.begin()) return nullptr;
  --it;
  return addr < it->end ? &*it : nullptr;
}

bool SymbolIndex::Lookup(GElf_Addr addr, bool exact, std::string* name) const {
  const Sym* s = Find(addr, exact);
  return s != nullptr && Name(*s, name);
}

const SymbolIndex::Sym* SymbolIndex::Find(GElf_Addr addr, bool exact) const {
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
  if (best != nullptr) return exact && best->value != addr ? nullptr : best;

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
  if (label->value == addr) return label;
  const Section* sec = SectionOf(addr);
  return sec != nullptr && label->value >= sec->start ? label : nullptr;
}

}  // namespace kiln
