// The AVX2/FMA vector trait (8 floats) of the generic kernels: kernels/vec_math.h (exp, the GEMM
// epilogue) and kernels/gemm_small.h (the direct small-product GEMM). Masked tails use vmaskmovps.
// Include only from files compiled with -mavx2 -mfma.
#pragma once
#include <immintrin.h>

namespace nt {
// Internal linkage: these inline functions are compiled with different ISA flags in different
// files, and the linker must never substitute one file's copy (say, with EVEX encodings) for another's.
namespace {

struct Avx2Vec {
  static constexpr int W = 8;
  using reg = __m256;
  static reg zero() { return _mm256_setzero_ps(); }
  static reg set1(float x) { return _mm256_set1_ps(x); }
  static reg add(reg a, reg b) { return _mm256_add_ps(a, b); }
  static reg sub(reg a, reg b) { return _mm256_sub_ps(a, b); }
  static reg mul(reg a, reg b) { return _mm256_mul_ps(a, b); }
  static reg div(reg a, reg b) { return _mm256_div_ps(a, b); }
  static reg fmadd(reg a, reg b, reg c) { return _mm256_fmadd_ps(a, b, c); }
  static reg fnmadd(reg a, reg b, reg c) { return _mm256_fnmadd_ps(a, b, c); }
  static reg min(reg a, reg b) { return _mm256_min_ps(a, b); }
  static reg max(reg a, reg b) { return _mm256_max_ps(a, b); }
  static reg round(reg x) { return _mm256_round_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
  static reg pow2n(reg n) {
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23));
  }
  static reg abs(reg x) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), x); }
  static reg copy_sign(reg mag, reg x) { return _mm256_or_ps(mag, _mm256_and_ps(_mm256_set1_ps(-0.0f), x)); }
  static reg select_lt(reg a, reg b, reg t, reg f) { return _mm256_blendv_ps(f, t, _mm256_cmp_ps(a, b, _CMP_LT_OQ)); }
  static reg load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, reg x) { _mm256_storeu_ps(p, x); }
  static __m256i mask(int n) { return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7)); }
  static reg load_tail(const float* p, int n) { return _mm256_maskload_ps(p, mask(n)); }
  static void store_tail(float* p, reg x, int n) { _mm256_maskstore_ps(p, mask(n), x); }
};

// In-register transpose of an 8x8 block of floats (rows r[0..7] -> columns), for the packers.
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

// Packs `slivers` groups of 8 rows of a transposed B (row stride ldb) over kc columns into a
// B micro-panel of width 8 * slivers: dst[p * width + j] = b[j * ldb + p], by 8x8 transposes.
template <int kSlivers>
inline void pack_bt_8x(const float* b, int64_t ldb, int64_t kc, float* dst) {
  constexpr int kWidth = 8 * kSlivers;
  int64_t p = 0;
  for (; p + 8 <= kc; p += 8) {
    for (int h = 0; h < kSlivers; ++h) {
      __m256 r[8];
      for (int j = 0; j < 8; ++j) r[j] = _mm256_loadu_ps(b + (h * 8 + j) * ldb + p);
      transpose8x8(r);
      for (int q = 0; q < 8; ++q) _mm256_store_ps(dst + (p + q) * kWidth + h * 8, r[q]);
    }
  }
  for (; p < kc; ++p)
    for (int j = 0; j < kWidth; ++j) dst[p * kWidth + j] = b[j * ldb + p];
}

}  // namespace
}  // namespace nt
