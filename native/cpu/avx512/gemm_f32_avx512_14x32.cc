// AVX-512 microkernel, packing and epilogue of the packed float32 GEMM (driver:
// native/kernels/gemm.cc). Built into its own static library with -mavx512f/bw/vl/dq (binding.gyp
// target nt_avx512, group "avx512" of scripts/list-sources.js); called only through the dispatch
// table when cpu_features() reports AVX-512 F/BW/VL/DQ and the OS saves zmm state.
//
// gemm_f32_avx512_14x32: C[14x32] = alpha * A~ B~ + beta * C over packed micro-panels of depth kc
// (A~: kc steps of 14 floats, B~: kc steps of 32 floats, 64-byte aligned). 28 zmm accumulators
// hold the tile (14 rows x 2 vectors of 16), two hold the current row of B~, and the A~ element is
// an embedded-broadcast memory operand of each FMA ({1to16}), so 30 of the 32 zmm registers are
// live and each k step issues 28 FMAs against 2 vector loads: enough independent chains (28 > the
// 2 ports x 4-cycle latency = 8 needed) to keep both FMA units busy. The shape follows the BLIS
// SkylakeX sgemm microkernel's register budget (Van Zee & van de Geijn, "BLIS", ACM TOMS 2015;
// blis/kernels/skx/3/bli_sgemm_skx_asm_32x12_l2.c uses 24 accumulators for 32x12, column-major);
// with row-major C the 32-wide dimension is the row of C, which keeps every C access a full
// 64-byte vector.
//
// gemm_pack_a14_avx512 / gemm_pack_bt32_avx512 pack full slivers by 8x8 register transposes (edge
// slivers are zero-padded by the driver's portable packers; the 8x8 transposes are the AVX2
// ones of cpu/x86/vec_avx2.h). gemm_epilogue_f32_avx512 is the fused bias + activation on a tile
// still in L1: kernels/vec_math.h on the AVX-512 trait (cpu/avx512/vec_avx512.h), masked tails.
#include <immintrin.h>

#include <cstdint>

#include "cpu/avx512/tile_store.h"
#include "cpu/avx512/vec_avx512.h"
#include "cpu/x86/vec_avx2.h"
#include "kernels/gemm_internal.h"
#include "kernels/vec_math.h"

namespace nt {
namespace gemm_detail {

void gemm_f32_avx512_14x32(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, float alpha,
                           float beta) {
  __m512 acc[14][2];
#pragma GCC unroll 14
  for (int i = 0; i < 14; ++i) acc[i][0] = acc[i][1] = _mm512_setzero_ps();
#pragma GCC unroll 14
  for (int i = 0; i < 14; ++i) _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc), _MM_HINT_T0);
  for (int64_t p = 0; p < kc; ++p) {
    const __m512 b0 = _mm512_load_ps(b);
    const __m512 b1 = _mm512_load_ps(b + 16);
    _mm_prefetch(reinterpret_cast<const char*>(b + 256), _MM_HINT_T0);
#pragma GCC unroll 14
    for (int i = 0; i < 14; ++i) {
      const __m512 av = _mm512_set1_ps(a[i]);
      acc[i][0] = _mm512_fmadd_ps(av, b0, acc[i][0]);
      acc[i][1] = _mm512_fmadd_ps(av, b1, acc[i][1]);
    }
    a += 14;
    b += 32;
  }
  store_tile_14x32(acc, c, ldc, alpha, beta);
}

void gemm_pack_a14_avx512(const float* a, int64_t lda, int64_t kc, float* dst) {
  int64_t p = 0;
  for (; p + 8 <= kc; p += 8) {
    __m256 r[8], s[8];
    for (int i = 0; i < 8; ++i) r[i] = _mm256_loadu_ps(a + i * lda + p);
    for (int i = 0; i < 6; ++i) s[i] = _mm256_loadu_ps(a + (8 + i) * lda + p);
    s[6] = s[7] = _mm256_setzero_ps();
    transpose8x8(r);
    transpose8x8(s);
    float* d = dst + p * 14;
    // Column q: rows 0..7 from r[q], rows 8..13 from s[q] (the 2 spilled lanes of each s store
    // are overwritten by the next column's r store; the last one is written exactly).
    for (int q = 0; q < 8; ++q) {
      _mm256_storeu_ps(d + 14 * q, r[q]);
      if (q < 7) {
        _mm256_storeu_ps(d + 14 * q + 8, s[q]);
      } else {
        _mm256_mask_storeu_ps(d + 14 * q + 8, 0x3F, s[q]);
      }
    }
  }
  for (; p < kc; ++p)
    for (int i = 0; i < 14; ++i) dst[p * 14 + i] = a[i * lda + p];
}

void gemm_pack_bt32_avx512(const float* b, int64_t ldb, int64_t kc, float* dst) { pack_bt_8x<4>(b, ldb, kc, dst); }

void gemm_epilogue_f32_avx512(float* c, int64_t ldc, int64_t rows, int64_t cols, const float* bias, int act) {
  vec::epilogue<Avx512Vec>(c, ldc, rows, cols, bias, act);
}

}  // namespace gemm_detail
}  // namespace nt
