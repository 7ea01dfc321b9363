#pragma once
#include <napi.h>

namespace kiln {

// loadKallsyms(path: string, base: bigint) → { keys: Float64Array, names: Buffer,
// nameStart: Uint32Array, nameLength: Uint16Array, moduleOf: Uint16Array, modules: string[],
// restricted: boolean }: the text symbols (t, T, w, W) of a /proc/kallsyms file, sorted by
// address, one per address (the first listed), addresses as offsets from `base` (so that they
// are exact doubles; lower ones are skipped). Name i is names[nameStart[i], nameStart[i] +
// nameLength[i]); modules are deduplicated, index 0 is the core kernel (''). Throws an Error
// with `code` when the file cannot be read.
Napi::Value LoadKallsyms(const Napi::CallbackInfo& info);

}  // namespace kiln
