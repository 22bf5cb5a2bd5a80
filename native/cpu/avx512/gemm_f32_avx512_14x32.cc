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
// slivers are zero-padded by the driver's portable packers). gemm_epilogue_f32_avx512 is the fused
// bias + activation on a tile still in L1, with masked tails (no scalar remainder) and the
// vectorised exp of nt::vmath (native/cpu/avx512/vmath_avx512.h).
#include <immintrin.h>

#include <cstdint>

#include "cpu/avx512/vmath_avx512.h"
#include "cpu/avx512/tile_store.h"
#include "kernels/gemm_internal.h"

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

namespace {

// In-register 8x8 transpose: on return r[q] holds column q of the input rows.
inline void transpose8x8(__m256 r[8]) {
  const __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
  const __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
  const __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
  const __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
  const __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
  const __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
  const __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
  const __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
  r[0] = _mm256_permute2f128_ps(u0, u4, 0x20);
  r[1] = _mm256_permute2f128_ps(u1, u5, 0x20);
  r[2] = _mm256_permute2f128_ps(u2, u6, 0x20);
  r[3] = _mm256_permute2f128_ps(u3, u7, 0x20);
  r[4] = _mm256_permute2f128_ps(u0, u4, 0x31);
  r[5] = _mm256_permute2f128_ps(u1, u5, 0x31);
  r[6] = _mm256_permute2f128_ps(u2, u6, 0x31);
  r[7] = _mm256_permute2f128_ps(u3, u7, 0x31);
}

// Act values (nodetrain/kernels.h): kNone 0, kRelu 1, kGelu 4, kSigmoid 5, kTanh 6.
constexpr int kActRelu = 1, kActGelu = 4, kActSigmoid = 5, kActTanh = 6;

template <int kAct>
inline __m512 apply(__m512 v) {
  if (kAct == kActRelu) return _mm512_max_ps(v, _mm512_setzero_ps());
  if (kAct == kActGelu) return vmath::gelu512(v);
  if (kAct == kActSigmoid) return vmath::sigmoid512(v);
  if (kAct == kActTanh) return vmath::tanh512(v);
  return v;
}

template <int kAct>
void epilogue(float* c, int64_t ldc, int64_t rows, int64_t cols, const float* bias) {
  for (int64_t i = 0; i < rows; ++i) {
    float* ci = c + i * ldc;
    for (int64_t j = 0; j < cols; j += 16) {
      const int64_t rem = cols - j;
      const __mmask16 m = rem >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << rem) - 1u);
      __m512 v = _mm512_maskz_loadu_ps(m, ci + j);
      if (bias) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, bias + j));
      _mm512_mask_storeu_ps(ci + j, m, apply<kAct>(v));
    }
  }
}

}  // namespace

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

void gemm_pack_bt32_avx512(const float* b, int64_t ldb, int64_t kc, float* dst) {
  int64_t p = 0;
  for (; p + 8 <= kc; p += 8) {
    for (int h = 0; h < 4; ++h) {
      __m256 r[8];
      for (int j = 0; j < 8; ++j) r[j] = _mm256_loadu_ps(b + (h * 8 + j) * ldb + p);
      transpose8x8(r);
      for (int q = 0; q < 8; ++q) _mm256_store_ps(dst + (p + q) * 32 + h * 8, r[q]);
    }
  }
  for (; p < kc; ++p)
    for (int j = 0; j < 32; ++j) dst[p * 32 + j] = b[j * ldb + p];
}

void gemm_epilogue_f32_avx512(float* c, int64_t ldc, int64_t rows, int64_t cols, const float* bias, int act) {
  switch (act) {
    case kActRelu: return epilogue<kActRelu>(c, ldc, rows, cols, bias);
    case kActGelu: return epilogue<kActGelu>(c, ldc, rows, cols, bias);
    case kActSigmoid: return epilogue<kActSigmoid>(c, ldc, rows, cols, bias);
    case kActTanh: return epilogue<kActTanh>(c, ldc, rows, cols, bias);
    default: return epilogue<0>(c, ldc, rows, cols, bias);
  }
}

}  // namespace gemm_detail
}  // namespace nt
