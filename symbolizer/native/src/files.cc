#include "files.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <vector>

namespace kiln {

UniqueFd& UniqueFd::operator=(UniqueFd&& o) noexcept {
  if (this != &o) reset(o.release());
  return *this;
}

void UniqueFd::reset(int fd) {
  if (fd_ >= 0) close(fd_);
  fd_ = fd;
}

UniqueFd OpenReadOnly(const std::string& path) {
  int fd;
  do {
    // O_NONBLOCK: a FIFO planted where a file is expected must not hang us (callers check S_ISREG).
    fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  } while (fd < 0 && errno == EINTR);
  return UniqueFd(fd);
}

namespace {

constexpr size_t kChunk = 1 << 20;

ssize_t PreadRetry(int fd, void* buf, size_t len, off_t off) {
  ssize_t n;
  do {
    n = pread(fd, buf, len, off);
  } while (n < 0 && errno == EINTR);
  return n;
}

bool WriteAll(int fd, const unsigned char* buf, size_t len) {
  while (len > 0) {
    ssize_t n = write(fd, buf, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    buf += n;
    len -= static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

bool FileCrc32(int fd, uint32_t* crc) {
  std::vector<unsigned char> buf(kChunk);
  uLong c = crc32(0L, Z_NULL, 0);
  off_t off = 0;
  for (;;) {
    ssize_t n = PreadRetry(fd, buf.data(), buf.size(), off);
    if (n < 0) return false;
    if (n == 0) break;
    c = crc32(c, buf.data(), static_cast<uInt>(n));
    off += n;
  }
  *crc = static_cast<uint32_t>(c);
  return true;
}

UniqueFd CopyToSealedMemfd(int fd, const char* name, uint64_t* bytes) {
  UniqueFd out(memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (!out.valid()) return out;
  std::vector<unsigned char> buf(kChunk);
  off_t off = 0;
  for (;;) {
    ssize_t n = PreadRetry(fd, buf.data(), buf.size(), off);
    if (n < 0) return UniqueFd();
    if (n == 0) break;
    if (!WriteAll(out.get(), buf.data(), static_cast<size_t>(n))) return UniqueFd();
    off += n;
  }
  fcntl(out.get(), F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL);
  if (bytes != nullptr) *bytes = static_cast<uint64_t>(off);
  return out;
}

std::string Hex(const void* data, size_t len) {
  static const char* digits = "0123456789abcdef";
  const auto* p = static_cast<const unsigned char*>(data);
  std::string s;
  s.reserve(len * 2);
  for (size_t i = 0; i < len; i++) {
    s.push_back(digits[p[i] >> 4]);
    s.push_back(digits[p[i] & 15]);
  }
  return s;
}

}  // namespace kiln
