#pragma once
// File descriptors and whole-file helpers. Nothing here maps a file: a file that
// shrinks under a mapping raises SIGBUS in whoever touches it, and the profiled
// binaries are not ours to trust.
#include <sys/types.h>

#include <cstdint>
#include <string>

namespace kiln {

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  UniqueFd(UniqueFd&& o) noexcept : fd_(o.release()) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept;
  ~UniqueFd() { reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }
  void reset(int fd = -1);

 private:
  int fd_ = -1;
};

// open(2) read-only, close-on-exec. Returns an invalid fd and leaves errno set on failure.
UniqueFd OpenReadOnly(const std::string& path);

// CRC-32 (the .gnu_debuglink one, i.e. zlib's) of the whole file behind `fd`, read with pread.
// Returns false on a read error.
bool FileCrc32(int fd, uint32_t* crc);

// Copies the file behind `fd` into a sealed memfd, so that libdw may mmap it safely.
// Returns an invalid fd on failure.
UniqueFd CopyToSealedMemfd(int fd, const char* name, uint64_t* bytes);

std::string Hex(const void* data, size_t len);

}  // namespace kiln
