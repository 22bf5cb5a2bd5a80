// The C update shared by the AVX-512 14x32 microkernels (float32 FMA and bf16 vdpbf16ps):
// C = alpha * acc + beta * C over 14 rows of two zmm vectors, fully unrolled so that the
// accumulators stay in registers (no spill to the stack). beta == 0: C is write-only.
#pragma once
#include <immintrin.h>

#include <cstdint>

namespace nt {
namespace gemm_detail {

inline __attribute__((always_inline)) void store_tile_14x32(__m512 (&acc)[14][2], float* c, int64_t ldc, float alpha,
                                                             float beta) {
  const __m512 va = _mm512_set1_ps(alpha);
  if (beta == 0.0f) {
#pragma GCC unroll 14
    for (int i = 0; i < 14; ++i) {
      _mm512_storeu_ps(c + i * ldc, _mm512_mul_ps(va, acc[i][0]));
      _mm512_storeu_ps(c + i * ldc + 16, _mm512_mul_ps(va, acc[i][1]));
    }
  } else if (beta == 1.0f) {
#pragma GCC unroll 14
    for (int i = 0; i < 14; ++i) {
      float* ci = c + i * ldc;
      _mm512_storeu_ps(ci, _mm512_fmadd_ps(va, acc[i][0], _mm512_loadu_ps(ci)));
      _mm512_storeu_ps(ci + 16, _mm512_fmadd_ps(va, acc[i][1], _mm512_loadu_ps(ci + 16)));
    }
  } else {
    const __m512 vb = _mm512_set1_ps(beta);
#pragma GCC unroll 14
    for (int i = 0; i < 14; ++i) {
      float* ci = c + i * ldc;
      _mm512_storeu_ps(ci, _mm512_fmadd_ps(va, acc[i][0], _mm512_mul_ps(vb, _mm512_loadu_ps(ci))));
      _mm512_storeu_ps(ci + 16, _mm512_fmadd_ps(va, acc[i][1], _mm512_mul_ps(vb, _mm512_loadu_ps(ci + 16))));
    }
  }
}

}  // namespace gemm_detail
}  // namespace nt
