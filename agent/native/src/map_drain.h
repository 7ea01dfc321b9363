#pragma once
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

namespace kiln {

// Moves every entry of a hash map into `out` as (key, value) records and empties the map, in
// batches of lookup_and_delete, or by iterating where the kernel has no batch operations for it.
// `keys` and `values` are scratch space the caller keeps between drains.
inline void drain_hash_map(bpf_map* map, std::vector<unsigned char>& out, std::vector<unsigned char>& keys, std::vector<unsigned char>& values) {
  // Entries moved per batch syscall: the scratch space stays small (a stack is ~1 KB, and a map
  // sized for its worst case would need megabytes that stay resident), a few calls per drain.
  constexpr __u32 kBatch = 256;
  const size_t key_size = bpf_map__key_size(map);
  const size_t value_size = bpf_map__value_size(map);
  const int fd = bpf_map__fd(map);
  const __u32 max = bpf_map__max_entries(map);
  __u32 batch = std::min(max, kBatch);
  __u64 token = 0;
  bool first = true;
  for (;;) {
    keys.resize(static_cast<size_t>(batch) * key_size);
    values.resize(static_cast<size_t>(batch) * value_size);
    __u32 n = batch;
    int err = bpf_map_lookup_and_delete_batch(fd, first ? nullptr : &token, &token, keys.data(), values.data(), &n, nullptr);
    int e = err ? errno : 0;
    if (e == ENOSPC && n == 0 && batch < max) {
      // One hash bucket holds more entries than the batch: retry it with more room.
      batch = std::min(max, batch * 2);
      continue;
    }
    for (__u32 i = 0; i < n; i++) {
      out.insert(out.end(), keys.data() + i * key_size, keys.data() + (i + 1) * key_size);
      out.insert(out.end(), values.data() + i * value_size, values.data() + (i + 1) * value_size);
    }
    first = false;
    if (!err) continue;
    if (e == ENOENT) return;
    if (e == EINVAL || e == ENOTSUP || e == EOPNOTSUPP) break;  // no batch ops on this kernel: iterate
    throw std::runtime_error(std::string("drain ") + bpf_map__name(map) + ": " + std::strerror(e));
  }
  std::vector<unsigned char> next(key_size), value(value_size);
  while (bpf_map_get_next_key(fd, nullptr, next.data()) == 0) {
    if (bpf_map_lookup_elem(fd, next.data(), value.data()) == 0) {
      out.insert(out.end(), next.begin(), next.end());
      out.insert(out.end(), value.begin(), value.end());
    }
    bpf_map_delete_elem(fd, next.data());
  }
}

}  // namespace kiln
