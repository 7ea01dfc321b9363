#pragma once
#include <elfutils/libdwfl.h>
#include <napi.h>
#include <sys/stat.h>

#include <cstdint>
#include <string>
#include <vector>

#include "files.h"
#include "functions.h"
#include "symbols.h"

namespace kiln {

// One ELF file opened read-only (plus, optionally, its separate debug file) and, once the
// first address is resolved, the libdwfl session over it. Reads go through pread
// (ELF_C_READ), never mmap, so a file truncated behind our back yields read errors instead
// of SIGBUS. JS: `new ElfFile(path)`, `info()`, `crc32()`, `attachDebug(other)`,
// `setAltRoots(roots)`, `resolve(vaddrs)`, `changed()`, `close()`.
class ElfFile : public Napi::ObjectWrap<ElfFile> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit ElfFile(const Napi::CallbackInfo& info);
  ~ElfFile() override;

 private:
  struct Load {
    uint64_t offset, vaddr, filesz, memsz, flags, align;
  };

  Napi::Value Info(const Napi::CallbackInfo& info);
  Napi::Value Crc32(const Napi::CallbackInfo& info);
  Napi::Value AttachDebug(const Napi::CallbackInfo& info);
  Napi::Value SetAltRoots(const Napi::CallbackInfo& info);
  Napi::Value Resolve(const Napi::CallbackInfo& info);
  Napi::Value Changed(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);

  void CheckOpen(Napi::Env env) const;
  void EndDwfl();
  // Creates the Dwfl session; on failure returns false with error_ set.
  bool EnsureDwfl();

  static int FindElf(Dwfl_Module* mod, void** userdata, const char* modname, Dwarf_Addr base, char** file_name,
                     Elf** elfp);
  static int FindDebuginfo(Dwfl_Module* mod, void** userdata, const char* modname, Dwarf_Addr base,
                           const char* file_name, const char* debuglink_file, GElf_Word debuglink_crc,
                           char** debuginfo_file_name);
  int FindAltDebug(Dwfl_Module* mod);

  bool closed_ = false;
  std::string path_;
  UniqueFd fd_;
  struct stat st_ {};

  // What open() learned.
  std::string build_id_;
  int elf_type_ = 0;
  int machine_ = 0;
  int elf_class_ = 0;
  std::vector<Load> loads_;
  std::string debuglink_;
  uint32_t debuglink_crc_ = 0;
  bool has_dwarf_ = false, has_symtab_ = false, has_dynsym_ = false, has_debugdata_ = false, truncated_ = false;

  // The separate debug file, when TS found one: it becomes the module's main file for libdwfl
  // (symbols and DWARF), the mapped file still decides the address translation.
  std::string debug_path_;
  UniqueFd debug_fd_;
  bool debug_has_dwarf_ = false;

  std::vector<std::string> alt_roots_;
  uint64_t alt_bytes_ = 0;
  // Heap this file's lookups set up (libelf's section copies, decompressed debug sections,
  // libdwfl's module, the symbol index): measured as malloc's growth around the setup.
  uint64_t setup_heap_bytes_ = 0;

  Dwfl* dwfl_ = nullptr;
  Dwfl_Module* mod_ = nullptr;
  Dwarf_Addr bias_ = 0;
  SymbolIndex symbols_;
  FunctionIndex functions_;
  bool dwfl_failed_ = false;
  std::string error_;
  std::string dwarf_warning_;
  // Handed to libdwfl by FindElf, which then owns them.
  Elf* pending_elf_ = nullptr;
  UniqueFd pending_fd_;
  std::string primary_path_;
  bool primary_has_dwarf_ = false;
};

}  // namespace kiln
