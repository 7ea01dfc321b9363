#include "elf_file.h"

#include <elfutils/libdw.h>
#include <elfutils/libdwelf.h>
#include <fcntl.h>
#include <gelf.h>
#include <malloc.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <unordered_map>

#include "resolve.h"

namespace kiln {
namespace {

Napi::Error CodedError(Napi::Env env, const std::string& code, const std::string& message) {
  Napi::Error err = Napi::Error::New(env, message);
  err.Set("code", Napi::String::New(env, code));
  return err;
}

const char* ErrnoCode(int e) {
  switch (e) {
    case ENOENT: return "ENOENT";
    case EACCES: return "EACCES";
    case EPERM: return "EPERM";
    case ESRCH: return "ESRCH";
    case ENOTDIR: return "ENOTDIR";
    case ELOOP: return "ELOOP";
    case EMFILE: return "EMFILE";
    case ENFILE: return "ENFILE";
    default: return "EIO";
  }
}

struct ElfCloser {
  void operator()(Elf* e) const { elf_end(e); }
};
using ElfPtr = std::unique_ptr<Elf, ElfCloser>;

bool SameMtime(const struct stat& a, const struct stat& b) {
  return a.st_mtim.tv_sec == b.st_mtim.tv_sec && a.st_mtim.tv_nsec == b.st_mtim.tv_nsec;
}

std::string Dirname(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

// First PT_LOAD (as libdwfl's open_elf takes it) and the end of the highest one: reporting
// the module at [low, high) makes libdwfl's bias 0, so module addresses are ELF vaddrs.
bool ModuleBounds(Elf* elf, GElf_Addr* low, GElf_Addr* high) {
  size_t phnum = 0;
  if (elf_getphdrnum(elf, &phnum) != 0) return false;
  bool first = true;
  *low = *high = 0;
  for (size_t i = 0; i < phnum; i++) {
    GElf_Phdr mem;
    GElf_Phdr* ph = gelf_getphdr(elf, static_cast<int>(i), &mem);
    if (ph == nullptr) return false;
    if (ph->p_type != PT_LOAD) continue;
    if (first) {
      *low = ph->p_vaddr & -(ph->p_align == 0 ? 1 : ph->p_align);
      first = false;
    }
    if (ph->p_vaddr + ph->p_memsz > *high) *high = ph->p_vaddr + ph->p_memsz;
  }
  return !first && *high > *low;
}

// libdw inflates every compressed .debug_* section when it opens a file, whether or not it is
// ever read. Location lists (variables' locations) are never read to name frames and lines:
// their compressed sections are hidden from libdw as SHT_NOBITS (libc6-dbg's libc: 1.4 of
// 9.7 MB inflated). Only the in-memory section header changes; the file is opened read-only.
void SkipUnusedCompressedDwarf(Elf* elf) {
  size_t shstrndx = 0;
  if (elf_getshdrstrndx(elf, &shstrndx) != 0) return;
  Elf_Scn* scn = nullptr;
  while ((scn = elf_nextscn(elf, scn)) != nullptr) {
    GElf_Shdr mem;
    GElf_Shdr* shdr = gelf_getshdr(scn, &mem);
    if (shdr == nullptr) return;
    if ((shdr->sh_flags & SHF_COMPRESSED) == 0 || shdr->sh_type == SHT_NOBITS) continue;
    const char* name = elf_strptr(elf, shstrndx, shdr->sh_name);
    if (name == nullptr || (strcmp(name, ".debug_loclists") != 0 && strcmp(name, ".debug_loc") != 0)) continue;
    shdr->sh_type = SHT_NOBITS;
    gelf_update_shdr(scn, shdr);
  }
}

}  // namespace

Napi::Function ElfFile::Define(Napi::Env env) {
  return DefineClass(env, "ElfFile",
                     {
                         InstanceMethod<&ElfFile::Info>("info"),
                         InstanceMethod<&ElfFile::Crc32>("crc32"),
                         InstanceMethod<&ElfFile::AttachDebug>("attachDebug"),
                         InstanceMethod<&ElfFile::SetAltRoots>("setAltRoots"),
                         InstanceMethod<&ElfFile::Resolve>("resolve"),
                         InstanceMethod<&ElfFile::Changed>("changed"),
                         InstanceMethod<&ElfFile::Close>("close"),
                     });
}

ElfFile::ElfFile(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ElfFile>(info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) throw Napi::TypeError::New(env, "ElfFile(path: string)");
  path_ = info[0].As<Napi::String>().Utf8Value();

  fd_ = OpenReadOnly(path_);
  if (!fd_.valid()) {
    int e = errno;
    throw CodedError(env, ErrnoCode(e), "open " + path_ + ": " + strerror(e));
  }
  if (fstat(fd_.get(), &st_) != 0) {
    int e = errno;
    throw CodedError(env, ErrnoCode(e), "fstat " + path_ + ": " + strerror(e));
  }
  if (!S_ISREG(st_.st_mode)) throw CodedError(env, "ENOTELF", path_ + ": not a regular file");

  ElfPtr elf(elf_begin(fd_.get(), ELF_C_READ, nullptr));
  if (elf == nullptr || elf_kind(elf.get()) != ELF_K_ELF) {
    throw CodedError(env, "ENOTELF", path_ + ": not an ELF file (" + elf_errmsg(-1) + ")");
  }
  GElf_Ehdr ehdr_mem;
  GElf_Ehdr* ehdr = gelf_getehdr(elf.get(), &ehdr_mem);
  if (ehdr == nullptr) throw CodedError(env, "EBADELF", path_ + ": bad ELF header (" + elf_errmsg(-1) + ")");
  elf_type_ = ehdr->e_type;
  machine_ = ehdr->e_machine;
  elf_class_ = gelf_getclass(elf.get());
  uint64_t size = static_cast<uint64_t>(st_.st_size);

  size_t phnum = 0;
  if (elf_getphdrnum(elf.get(), &phnum) == 0) {
    for (size_t i = 0; i < phnum; i++) {
      GElf_Phdr mem;
      GElf_Phdr* ph = gelf_getphdr(elf.get(), static_cast<int>(i), &mem);
      if (ph == nullptr) {
        truncated_ = true;
        break;
      }
      if (ph->p_type != PT_LOAD) continue;
      loads_.push_back(Load{ph->p_offset, ph->p_vaddr, ph->p_filesz, ph->p_memsz, ph->p_flags, ph->p_align});
      if (ph->p_filesz > 0 && ph->p_offset + ph->p_filesz > size) truncated_ = true;
    }
  } else {
    truncated_ = true;
  }
  if (ehdr->e_shoff + static_cast<uint64_t>(ehdr->e_shnum) * ehdr->e_shentsize > size) truncated_ = true;

  const void* id = nullptr;
  ssize_t id_len = dwelf_elf_gnu_build_id(elf.get(), &id);
  if (id_len > 0) build_id_ = Hex(id, static_cast<size_t>(id_len));

  GElf_Word crc = 0;
  if (const char* link = dwelf_elf_gnu_debuglink(elf.get(), &crc)) {
    debuglink_ = link;
    debuglink_crc_ = crc;
  }

  size_t shstrndx = 0;
  if (elf_getshdrstrndx(elf.get(), &shstrndx) == 0) {
    Elf_Scn* scn = nullptr;
    while ((scn = elf_nextscn(elf.get(), scn)) != nullptr) {
      GElf_Shdr shdr_mem;
      GElf_Shdr* shdr = gelf_getshdr(scn, &shdr_mem);
      if (shdr == nullptr) break;
      const char* name = elf_strptr(elf.get(), shstrndx, shdr->sh_name);
      if (name == nullptr) continue;
      if (shdr->sh_type == SHT_SYMTAB && shdr->sh_size > 0) has_symtab_ = true;
      if (shdr->sh_type == SHT_DYNSYM && shdr->sh_size > 0) has_dynsym_ = true;
      if (shdr->sh_type != SHT_NOBITS && shdr->sh_size > 0 &&
          (strcmp(name, ".debug_info") == 0 || strcmp(name, ".zdebug_info") == 0)) {
        has_dwarf_ = true;
      }
      if (strcmp(name, ".gnu_debugdata") == 0) has_debugdata_ = true;
      if (shdr->sh_type != SHT_NOBITS && shdr->sh_offset + shdr->sh_size > size) truncated_ = true;
    }
  } else {
    truncated_ = true;
  }
}

ElfFile::~ElfFile() { EndDwfl(); }

void ElfFile::CheckOpen(Napi::Env env) const {
  if (closed_) throw Napi::Error::New(env, "ElfFile is closed");
}

void ElfFile::EndDwfl() {
  if (dwfl_ != nullptr) dwfl_end(dwfl_);
  dwfl_ = nullptr;
  mod_ = nullptr;
  symbols_ = SymbolIndex();
  functions_ = FunctionIndex();
  if (pending_elf_ != nullptr) elf_end(pending_elf_);
  pending_elf_ = nullptr;
  pending_fd_.reset();
  setup_heap_bytes_ = 0;
  alt_bytes_ = 0;
}

Napi::Value ElfFile::Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("path", path_);
  o.Set("buildId", build_id_);
  o.Set("elfType", elf_type_);
  o.Set("machine", machine_);
  o.Set("elfClass", elf_class_);
  o.Set("size", static_cast<double>(st_.st_size));
  o.Set("dev", static_cast<double>(st_.st_dev));
  o.Set("ino", static_cast<double>(st_.st_ino));
  o.Set("mtimeMs", static_cast<double>(st_.st_mtim.tv_sec) * 1e3 + static_cast<double>(st_.st_mtim.tv_nsec) / 1e6);
  Napi::Float64Array loads = Napi::Float64Array::New(env, loads_.size() * 5);
  for (size_t i = 0; i < loads_.size(); i++) {
    loads[i * 5 + 0] = static_cast<double>(loads_[i].offset);
    loads[i * 5 + 1] = static_cast<double>(loads_[i].vaddr);
    loads[i * 5 + 2] = static_cast<double>(loads_[i].filesz);
    loads[i * 5 + 3] = static_cast<double>(loads_[i].memsz);
    loads[i * 5 + 4] = static_cast<double>(loads_[i].flags);
  }
  o.Set("loads", loads);
  o.Set("debuglink", debuglink_);
  o.Set("debuglinkCrc", static_cast<double>(debuglink_crc_));
  o.Set("hasDwarf", has_dwarf_);
  o.Set("hasSymtab", has_symtab_);
  o.Set("hasDynsym", has_dynsym_);
  o.Set("hasDebugdata", has_debugdata_);
  o.Set("truncated", truncated_);
  return o;
}

Napi::Value ElfFile::Crc32(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckOpen(env);
  uint32_t crc = 0;
  if (!FileCrc32(fd_.get(), &crc)) {
    int e = errno;
    throw CodedError(env, ErrnoCode(e), "read " + path_ + ": " + strerror(e));
  }
  return Napi::Number::New(env, crc);
}

Napi::Value ElfFile::AttachDebug(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckOpen(env);
  if (info.Length() < 1 || !info[0].IsObject()) throw Napi::TypeError::New(env, "attachDebug(debug: ElfFile)");
  ElfFile* other = Napi::ObjectWrap<ElfFile>::Unwrap(info[0].As<Napi::Object>());
  if (other == nullptr || other->closed_ || other == this) throw Napi::TypeError::New(env, "attachDebug: not an open ElfFile");
  int fd = fcntl(other->fd_.get(), F_DUPFD_CLOEXEC, 0);
  if (fd < 0) {
    int e = errno;
    throw CodedError(env, ErrnoCode(e), std::string("dup: ") + strerror(e));
  }
  EndDwfl();
  dwfl_failed_ = false;
  error_.clear();
  debug_fd_.reset(fd);
  debug_path_ = other->path_;
  debug_has_dwarf_ = other->has_dwarf_;
  return env.Undefined();
}

Napi::Value ElfFile::SetAltRoots(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsArray()) throw Napi::TypeError::New(env, "setAltRoots(roots: string[])");
  Napi::Array arr = info[0].As<Napi::Array>();
  alt_roots_.clear();
  for (uint32_t i = 0; i < arr.Length(); i++) {
    Napi::Value v = arr.Get(i);
    if (!v.IsString()) throw Napi::TypeError::New(env, "setAltRoots(roots: string[])");
    alt_roots_.push_back(v.As<Napi::String>().Utf8Value());
  }
  return env.Undefined();
}

Napi::Value ElfFile::Changed(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckOpen(env);
  struct stat now {};
  if (fstat(fd_.get(), &now) != 0) return Napi::Boolean::New(env, true);
  return Napi::Boolean::New(env, now.st_size != st_.st_size || !SameMtime(now, st_));
}

Napi::Value ElfFile::Close(const Napi::CallbackInfo& info) {
  EndDwfl();
  fd_.reset();
  debug_fd_.reset();
  closed_ = true;
  return info.Env().Undefined();
}

int ElfFile::FindElf(Dwfl_Module* mod, void** userdata, const char* modname, Dwarf_Addr base, char** file_name,
                     Elf** elfp) {
  auto* self = static_cast<ElfFile*>(*userdata);
  if (self == nullptr || self->pending_elf_ == nullptr) return -1;
  *elfp = self->pending_elf_;
  self->pending_elf_ = nullptr;
  free(*file_name);
  *file_name = strdup(self->primary_path_.c_str());
  return self->pending_fd_.release();
}

int ElfFile::FindDebuginfo(Dwfl_Module* mod, void** userdata, const char* modname, Dwarf_Addr base,
                           const char* file_name, const char* debuglink_file, GElf_Word debuglink_crc,
                           char** debuginfo_file_name) {
  auto* self = static_cast<ElfFile*>(*userdata);
  // TS already chose the debug file (it is the module's main file). The only lookup left to
  // libdwfl is a DWZ alternate file (.gnu_debugaltlink), which it asks for once the main
  // file's DWARF is loaded.
  if (self == nullptr || !self->primary_has_dwarf_) return -1;
  return self->FindAltDebug(mod);
}

int ElfFile::FindAltDebug(Dwfl_Module* mod) {
  Dwarf_Addr bias = 0;
  Dwarf* dw = dwfl_module_getdwarf(mod, &bias);
  if (dw == nullptr) return -1;
  const char* altname = nullptr;
  const void* id = nullptr;
  ssize_t id_len = dwelf_dwarf_gnu_debugaltlink(dw, &altname, &id);
  if (id_len <= 0 || altname == nullptr) return -1;
  std::string want = Hex(id, static_cast<size_t>(id_len));

  std::vector<std::string> candidates;
  if (altname[0] != '/') candidates.push_back(Dirname(primary_path_) + "/" + altname);
  for (const std::string& root : alt_roots_) {
    if (altname[0] == '/') candidates.push_back(root + altname);
    if (want.size() > 2) {
      candidates.push_back(root + "/usr/lib/debug/.build-id/" + want.substr(0, 2) + "/" + want.substr(2) + ".debug");
    }
  }
  for (const std::string& c : candidates) {
    UniqueFd fd = OpenReadOnly(c);
    struct stat st {};
    if (!fd.valid() || fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    ElfPtr elf(elf_begin(fd.get(), ELF_C_READ, nullptr));
    if (elf == nullptr) continue;
    const void* got = nullptr;
    ssize_t got_len = dwelf_elf_gnu_build_id(elf.get(), &got);
    if (got_len <= 0 || Hex(got, static_cast<size_t>(got_len)) != want) continue;
    elf.reset();
    // libdwfl mmaps the alternate file itself; hand it a private sealed copy.
    uint64_t bytes = 0;
    UniqueFd copy = CopyToSealedMemfd(fd.get(), "kiln-dwz", &bytes);
    if (!copy.valid()) continue;
    alt_bytes_ += bytes;
    return copy.release();
  }
  return -1;
}

bool ElfFile::EnsureDwfl() {
  if (dwfl_ != nullptr) return true;
  if (dwfl_failed_) return false;
  static const Dwfl_Callbacks kCallbacks = {&ElfFile::FindElf, &ElfFile::FindDebuginfo, nullptr, nullptr};

  const UniqueFd& src = debug_fd_.valid() ? debug_fd_ : fd_;
  primary_path_ = debug_fd_.valid() ? debug_path_ : path_;
  primary_has_dwarf_ = debug_fd_.valid() ? debug_has_dwarf_ : has_dwarf_;
  auto fail = [this](const std::string& what) {
    error_ = what;
    dwfl_failed_ = true;
    EndDwfl();
    return false;
  };

  pending_fd_.reset(fcntl(src.get(), F_DUPFD_CLOEXEC, 0));
  if (!pending_fd_.valid()) return fail(std::string("dup: ") + strerror(errno));
  pending_elf_ = elf_begin(pending_fd_.get(), ELF_C_READ, nullptr);
  if (pending_elf_ == nullptr) return fail(primary_path_ + ": " + elf_errmsg(-1));
  GElf_Addr low = 0, high = 0;
  if (!ModuleBounds(pending_elf_, &low, &high)) return fail(primary_path_ + ": no loadable segments");
  SkipUnusedCompressedDwarf(pending_elf_);

  dwfl_ = dwfl_begin(&kCallbacks);
  if (dwfl_ == nullptr) return fail(std::string("dwfl_begin: ") + dwfl_errmsg(-1));
  dwfl_report_begin(dwfl_);
  mod_ = dwfl_report_module(dwfl_, path_.c_str(), low, high);
  if (mod_ == nullptr) return fail(std::string("dwfl_report_module: ") + dwfl_errmsg(-1));
  dwfl_report_end(dwfl_, nullptr, nullptr);
  void** userdata = nullptr;
  dwfl_module_info(mod_, &userdata, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr);
  *userdata = this;
  Dwarf_Addr bias = 0;
  if (dwfl_module_getelf(mod_, &bias) == nullptr) return fail(primary_path_ + ": " + dwfl_errmsg(-1));
  bias_ = bias;
  if (primary_has_dwarf_) {
    Dwarf_Addr dbias = 0;
    if (dwfl_module_getdwarf(mod_, &dbias) == nullptr) dwarf_warning_ = primary_path_ + ": DWARF: " + dwfl_errmsg(-1);
  }
  return true;
}

namespace {

// Bytes malloc has handed out (arena chunks and mmapped ones), all threads.
size_t HeapInUse() {
  struct mallinfo2 m = mallinfo2();
  return m.uordblks + m.hblkhd;
}

}  // namespace

Napi::Value ElfFile::Resolve(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckOpen(env);
  if (info.Length() < 1 || !info[0].IsTypedArray() ||
      info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array) {
    throw Napi::TypeError::New(env, "resolve(vaddrs: Float64Array)");
  }
  Napi::Float64Array in = info[0].As<Napi::Float64Array>();
  size_t n = in.ElementLength();
  std::vector<double> vaddrs(in.Data(), in.Data() + n);

  Napi::Object out = Napi::Object::New(env);
  Napi::Uint32Array counts = Napi::Uint32Array::New(env, n);
  for (size_t i = 0; i < n; i++) counts[i] = 0;
  out.Set("counts", counts);
  // One-time setup, measured: what it allocates stays until the file is closed. (libdw's per-CU
  // state, allocated as addresses resolve, is not: it is small beside the sections.)
  bool set_up = dwfl_ != nullptr && symbols_.built();
  size_t heap_before = set_up ? 0 : HeapInUse();
  bool ready = EnsureDwfl();
  if (ready && !symbols_.built()) symbols_.Build(mod_, debug_fd_.valid() ? debug_fd_.get() : fd_.get());
  if (!set_up) {
    size_t heap_after = HeapInUse();
    if (heap_after > heap_before) setup_heap_bytes_ += heap_after - heap_before;
  }
  out.Set("heldBytes", static_cast<double>(setup_heap_bytes_ + alt_bytes_));
  if (!ready) {
    out.Set("error", error_);
    out.Set("strings", Napi::Array::New(env, 0));
    out.Set("names", Napi::Int32Array::New(env, 0));
    out.Set("files", Napi::Int32Array::New(env, 0));
    out.Set("lines", Napi::Int32Array::New(env, 0));
    out.Set("startLines", Napi::Int32Array::New(env, 0));
    out.Set("inlined", Napi::Uint8Array::New(env, 0));
    return out;
  }

  // Struct of arrays over all frames of the batch, strings interned once.
  std::vector<std::string> strings;
  std::unordered_map<std::string, int32_t> index;
  auto intern = [&](const std::string& s) {
    auto [it, fresh] = index.emplace(s, static_cast<int32_t>(strings.size()));
    if (fresh) strings.push_back(s);
    return it->second;
  };
  std::vector<int32_t> names, files, lines, start_lines;
  std::vector<uint8_t> inlined;
  std::vector<RawFrame> frames;
  for (size_t i = 0; i < n; i++) {
    double v = vaddrs[i];
    if (!(v >= 0)) continue;
    ResolveAddress(mod_, symbols_, functions_, static_cast<Dwarf_Addr>(v) + bias_, &frames);
    counts[i] = static_cast<uint32_t>(frames.size());
    for (const RawFrame& f : frames) {
      names.push_back(intern(f.name));
      files.push_back(f.file != nullptr ? intern(f.file) : -1);
      lines.push_back(f.line);
      start_lines.push_back(f.decl_line);
      inlined.push_back(f.inlined ? 1 : 0);
    }
  }

  Napi::Array js_strings = Napi::Array::New(env, strings.size());
  for (size_t i = 0; i < strings.size(); i++) js_strings.Set(static_cast<uint32_t>(i), strings[i]);
  auto copy_i32 = [&](const std::vector<int32_t>& v) {
    Napi::Int32Array a = Napi::Int32Array::New(env, v.size());
    if (!v.empty()) memcpy(a.Data(), v.data(), v.size() * sizeof(int32_t));
    return a;
  };
  Napi::Uint8Array js_inlined = Napi::Uint8Array::New(env, inlined.size());
  if (!inlined.empty()) memcpy(js_inlined.Data(), inlined.data(), inlined.size());
  out.Set("strings", js_strings);
  out.Set("names", copy_i32(names));
  out.Set("files", copy_i32(files));
  out.Set("lines", copy_i32(lines));
  out.Set("startLines", copy_i32(start_lines));
  out.Set("inlined", js_inlined);
  if (!dwarf_warning_.empty()) out.Set("warning", dwarf_warning_);
  return out;
}

}  // namespace kiln
