// Philox4x32-10 (Salmon, Moraes, Dror and Shaw, "Parallel Random Numbers: As Easy as 1, 2, 3",
// SC 2011; the constants of Random123 and of cuRAND's curand_philox4x32_x.h) and the layout of the
// draw stream of dropout, in plain C++ that nvcc and the host compiler both build: the CPU's uniform
// slot (kernels/loops.cc) and the CUDA kernels (cuda/elementwise.cu) draw the same stream, so a
// model with dropout gets the same masks on either device. test/device/philox.test.ts checks it
// against Random123's known-answer vectors and checks the layout.
//
// Stream layout: draw j of (seed, .) is to_unit(word j % 4 of philox(seed, j / 4)). A launch that
// makes n draws starting at draw `offset` runs philox_groups(n, offset) groups of four; group q,
// word k gives output index philox_out_index(q, k, offset) when that is in [0, n).
#pragma once
#include <cstdint>

// Internal linkage on the host: the header is compiled into translation units of several ISA
// levels (kernels/loops.cc, cpu/x86/philox_avx2.cc), and a shared inline copy could be swapped
// across them by the linker.
#if defined(__CUDACC__)
#define NT_PX_FN static __host__ __device__ __forceinline__
#else
#define NT_PX_FN static inline
#endif

namespace nt {

struct U4 {
  uint32_t x, y, z, w;
};

NT_PX_FN uint32_t mulhi32(uint32_t a, uint32_t b) {
#if defined(__CUDA_ARCH__)
  return __umulhi(a, b);
#else
  return static_cast<uint32_t>((static_cast<uint64_t>(a) * b) >> 32);
#endif
}

NT_PX_FN U4 philox_round(U4 c, uint32_t k0, uint32_t k1) {
  const uint32_t M0 = 0xD2511F53u, M1 = 0xCD9E8D57u;
  const uint32_t hi0 = mulhi32(M0, c.x), lo0 = M0 * c.x;
  const uint32_t hi1 = mulhi32(M1, c.z), lo1 = M1 * c.z;
  return U4{hi1 ^ c.y ^ k0, lo1, hi0 ^ c.w ^ k1, lo0};
}

// Ten rounds, the key bumped by the Weyl constants between them.
NT_PX_FN U4 philox4x32_10(U4 c, uint32_t k0, uint32_t k1) {
#if defined(__CUDACC__)
#pragma unroll
#else
#pragma GCC unroll 10
#endif
  for (int r = 0; r < 10; ++r) {
    c = philox_round(c, k0, k1);
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  return c;
}

// The 64-bit counter in the low two words, the 64-bit seed as the key.
NT_PX_FN U4 philox(uint64_t seed, uint64_t counter) {
  return philox4x32_10(U4{static_cast<uint32_t>(counter), static_cast<uint32_t>(counter >> 32), 0u, 0u},
                       static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32));
}

NT_PX_FN uint32_t philox_word(const U4& r, int k) { return k == 0 ? r.x : k == 1 ? r.y : k == 2 ? r.z : r.w; }

// [0, 1) with 24 random bits (exactly representable).
NT_PX_FN float to_unit(uint32_t v) { return static_cast<float>(v >> 8) * (1.0f / 16777216.0f); }

// Groups of four a launch of n draws from `offset` runs: from the group holding draw `offset`
// (counter offset / 4) to the one holding draw offset + n - 1.
NT_PX_FN int64_t philox_groups(int64_t n, uint64_t offset) {
  if (n <= 0) return 0;
  return (n + static_cast<int64_t>(offset & 3u) + 3) / 4;
}
NT_PX_FN uint64_t philox_counter(int64_t q, uint64_t offset) { return offset / 4 + static_cast<uint64_t>(q); }
NT_PX_FN int64_t philox_out_index(int64_t q, int k, uint64_t offset) {
  return q * 4 + k - static_cast<int64_t>(offset & 3u);
}

}  // namespace nt
