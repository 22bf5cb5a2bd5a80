// The draws of one call of the CPU's uniform slot: out[i] = draw i of the Philox stream keyed `key`
// (kernels/philox.h, from draw 0), the same stream the CUDA kernels draw. The portable table's fill
// (kernels/loops.cc); cpu/x86/philox_avx2.cc computes the same stream eight counters at a time.
#pragma once
#include <cstdint>

#include "kernels/philox.h"

namespace nt {

static inline void philox_fill(uint64_t key, float* out, int64_t n) {
  const int64_t full = n / 4;
  for (int64_t q = 0; q < full; ++q) {
    const U4 r = philox(key, static_cast<uint64_t>(q));
    out[4 * q] = to_unit(r.x);
    out[4 * q + 1] = to_unit(r.y);
    out[4 * q + 2] = to_unit(r.z);
    out[4 * q + 3] = to_unit(r.w);
  }
  if (n > 4 * full) {
    const U4 r = philox(key, static_cast<uint64_t>(full));
    for (int k = 0; k < n - 4 * full; ++k) out[4 * full + k] = to_unit(philox_word(r, k));
  }
}

}  // namespace nt
