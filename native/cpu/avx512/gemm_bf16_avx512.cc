// AVX512-BF16 microkernel and pair conversion of the bf16 GEMM (driver: native/kernels/gemm.cc,
// precision 'bf16'). The functions carry their own target attribute (avx512bf16), so the rest of
// the AVX-512 library needs no BF16 flag; the driver reaches them only when cpu_features() reports
// AVX512-BF16.
//
// gemm_bf16_avx512_14x32: the f32 14x32 kernel's register plan (28 zmm accumulators, two B~
// vectors, the A~ word broadcast) with vdpbf16ps: each instruction adds, per fp32 lane, the two
// products of a k pair, so one k pair step issues 28 instructions for 2 x 14 x 32 multiply-adds.
// vdpbf16ps flushes subnormal inputs and outputs to zero and rounds to nearest even.
//
// gemm_bf16_pairs_{a,b}_avx512: the float32 panel ([kc][w], from the f32 packers) to pair words
// with vcvtne2ps2bf16 (nearest even; subnormals flushed) and a 16-bit interleave.
// gemm_bf16_pairs_{a,b,at,bt}_rows_avx512: the same for an A (full 14-row slivers) or a B stored
// as is, or either transposed, read straight from storage without the float32 panel (one pass
// instead of a copy and a conversion).
#include <immintrin.h>

#include <cstdint>

#include "cpu/avx512/tile_store.h"
#include "kernels/gemm_internal.h"

#define NT_BF16_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512bf16")))

namespace nt {
namespace gemm_detail {

namespace {

// Lanes j of lo and hi (float32) -> 32-bit lane j = (bf16(lo[j]) low half, bf16(hi[j]) high half).
NT_BF16_TARGET inline __m512i pack_pair(__m512 lo, __m512 hi) {
  // vcvtne2ps2bf16(hi, lo): 16-bit lanes 0..15 from lo, 16..31 from hi; then interleave.
  const __m512i both = (__m512i)_mm512_cvtne2ps_pbh(hi, lo);
  const __m512i idx = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8, 23, 7, 22, 6, 21,
                                       5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
  return _mm512_permutexvar_epi16(idx, both);
}

// kd steps of w pair words (w <= 32) from rows p = 0..kc-1 at src + p * ld, of which the first
// `valid` floats are read (the rest of each step, and every step past kc, is zero).
NT_BF16_TARGET inline void to_pairs(const float* src, int64_t ld, int64_t kc, int64_t kd, int valid, int w, float* dst_f) {
  uint32_t* dst = reinterpret_cast<uint32_t*>(dst_f);
  const auto mask = [](int n, int from) {
    return n - from >= 16 ? static_cast<__mmask16>(0xFFFF)
           : n > from     ? static_cast<__mmask16>((1u << (n - from)) - 1u)
                          : static_cast<__mmask16>(0);
  };
  const __mmask16 l0 = mask(valid, 0), l1 = mask(valid, 16);  // loads
  const __mmask16 s0 = mask(w, 0), s1 = mask(w, 16);          // stores
  for (int64_t q = 0; q < kd; ++q) {
    const int64_t p = 2 * q;
    const float* r0 = src + p * ld;
    const float* r1 = src + (p + 1) * ld;
    const bool has0 = p < kc, has1 = p + 1 < kc;
    uint32_t* d = dst + q * w;
    const __m512 lo0 = has0 ? _mm512_maskz_loadu_ps(l0, r0) : _mm512_setzero_ps();
    const __m512 hi0 = has1 ? _mm512_maskz_loadu_ps(l0, r1) : _mm512_setzero_ps();
    _mm512_mask_storeu_epi32(d, s0, pack_pair(lo0, hi0));
    if (s1) {
      const __m512 lo1 = has0 ? _mm512_maskz_loadu_ps(l1, r0 + 16) : _mm512_setzero_ps();
      const __m512 hi1 = has1 ? _mm512_maskz_loadu_ps(l1, r1 + 16) : _mm512_setzero_ps();
      _mm512_mask_storeu_epi32(d + 16, s1, pack_pair(lo1, hi1));
    }
  }
}

// GCC 12 reports the intrinsics' own undefined pass-through operand (_mm512_undefined_epi32 under
// an all-ones mask) as "may be used uninitialized" once these unpacks and shuffles are inlined;
// every lane of every result is defined. Silenced for the transpose and its caller only.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
// Transposes 16 x 16 32-bit words in place: lane j of r[i] goes to lane i of r[j]. 32-bit then
// 64-bit unpacks transpose the 4 x 4 blocks inside each 128-bit lane; two rounds of 128-bit lane
// shuffles put the blocks in place.
NT_BF16_TARGET inline void transpose16x16(__m512i r[16]) {
  __m512i t[16], u[16];
#pragma GCC unroll 8
  for (int i = 0; i < 8; ++i) {
    t[2 * i] = _mm512_unpacklo_epi32(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_epi32(r[2 * i], r[2 * i + 1]);
  }
#pragma GCC unroll 4
  for (int i = 0; i < 4; ++i) {  // u[4i + c], 128-bit lane l: column 4l + c of rows 4i..4i+3
    u[4 * i] = _mm512_unpacklo_epi64(t[4 * i], t[4 * i + 2]);
    u[4 * i + 1] = _mm512_unpackhi_epi64(t[4 * i], t[4 * i + 2]);
    u[4 * i + 2] = _mm512_unpacklo_epi64(t[4 * i + 1], t[4 * i + 3]);
    u[4 * i + 3] = _mm512_unpackhi_epi64(t[4 * i + 1], t[4 * i + 3]);
  }
#pragma GCC unroll 4
  for (int c = 0; c < 4; ++c) {
    const __m512i a = _mm512_shuffle_i32x4(u[c], u[4 + c], 0x44), b = _mm512_shuffle_i32x4(u[c], u[4 + c], 0xEE);
    const __m512i d = _mm512_shuffle_i32x4(u[8 + c], u[12 + c], 0x44), e = _mm512_shuffle_i32x4(u[8 + c], u[12 + c], 0xEE);
    r[c] = _mm512_shuffle_i32x4(a, d, 0x88);
    r[4 + c] = _mm512_shuffle_i32x4(a, d, 0xDD);
    r[8 + c] = _mm512_shuffle_i32x4(b, e, 0x88);
    r[12 + c] = _mm512_shuffle_i32x4(b, e, 0xDD);
  }
}

NT_BF16_TARGET inline __mmask16 first_n(int64_t n) {
  return n >= 16 ? static_cast<__mmask16>(0xFFFF) : n > 0 ? static_cast<__mmask16>((1u << n) - 1u) : static_cast<__mmask16>(0);
}

}  // namespace

NT_BF16_TARGET void gemm_bf16_pairs_a_avx512(const float* panel, int64_t kc, int64_t kd, float* dst) {
  to_pairs(panel, kGemmMR512, kc, kd, kGemmMR512, kGemmMR512, dst);
}

NT_BF16_TARGET void gemm_bf16_pairs_b_avx512(const float* panel, int64_t kc, int64_t kd, float* dst) {
  to_pairs(panel, kGemmNR512, kc, kd, kGemmNR512, kGemmNR512, dst);
}

// Rows of storage that hold k contiguously (row i at src + i * ld, the first `nrows` of w valid)
// to kd steps of w pair words, word (q, i) = the pair of row i at k = 2q, 2q + 1. Per block of 16
// steps, each row's 32 floats convert to 16 pair words (two consecutive bf16 values are a pair word
// as they lie: the lower k in the low half), and a 16 x 16 word transpose per 16 rows (missing rows
// zero) turns rows into steps: the same words as the packer's panel + pairs_{a,b}.
template <int W>
NT_BF16_TARGET inline void rows_to_pairs_t(const float* src, int64_t ld, int64_t nrows, int64_t kc, int64_t kd,
                                           float* dst_f) {
  uint32_t* dst = reinterpret_cast<uint32_t*>(dst_f);
  for (int64_t q0 = 0; q0 < kd; q0 += 16) {
    const int64_t k0 = 2 * q0, left = kc - k0;  // the floats of each row in this block (may be <= 0)
    const __mmask16 mlo = first_n(left), mhi = first_n(left - 16);
    const int64_t steps = kd - q0 < 16 ? kd - q0 : 16;
#pragma GCC unroll 2
    for (int h = 0; h < (W + 15) / 16; ++h) {
      __m512i r[16];
#pragma GCC unroll 16
      for (int i = 0; i < 16; ++i) {
        const int64_t row_i = h * 16 + i;
        if (row_i < nrows && row_i < W) {
          const float* row = src + row_i * ld + k0;
          r[i] = (__m512i)_mm512_cvtne2ps_pbh(_mm512_maskz_loadu_ps(mhi, row + 16), _mm512_maskz_loadu_ps(mlo, row));
        } else {
          r[i] = _mm512_setzero_si512();
        }
      }
      transpose16x16(r);
      const int lanes = W - h * 16 < 16 ? W - h * 16 : 16;
      const __mmask16 keep = first_n(lanes);
      for (int64_t j = 0; j < steps; ++j) _mm512_mask_storeu_epi32(dst + (q0 + j) * W + h * 16, keep, r[j]);
    }
  }
}

// A stored as is: a full 14-row sliver (rows hold k).
NT_BF16_TARGET void gemm_bf16_pairs_a_rows_avx512(const float* a, int64_t lda, int64_t kc, int64_t kd, float* dst) {
  rows_to_pairs_t<kGemmMR512>(a, lda, kGemmMR512, kc, kd, dst);
}

// A transposed B (row j of storage = column j of op(B), holding k): a tile of up to 32 columns.
NT_BF16_TARGET void gemm_bf16_pairs_bt_rows_avx512(const float* bt, int64_t ldb, int64_t kc, int64_t kd, int64_t cols,
                                                   float* dst) {
  rows_to_pairs_t<kGemmNR512>(bt, ldb, cols, kc, kd, dst);
}

#pragma GCC diagnostic pop

NT_BF16_TARGET void gemm_bf16_pairs_b_rows_avx512(const float* src, int64_t ld, int64_t kc, int64_t kd, int64_t cols,
                                                  float* dst) {
  to_pairs(src, ld, kc, kd, static_cast<int>(cols), kGemmNR512, dst);
}

// A transposed A (row p of storage = k value p, holding the sliver's rows of op(A) side by side):
// the B pattern with the sliver's height, `rows` of 14 valid.
NT_BF16_TARGET void gemm_bf16_pairs_at_rows_avx512(const float* at, int64_t lda, int64_t kc, int64_t kd, int64_t rows,
                                                   float* dst) {
  to_pairs(at, lda, kc, kd, static_cast<int>(rows), kGemmMR512, dst);
}

NT_BF16_TARGET void gemm_bf16_avx512_14x32(int64_t kd, const float* a_f, const float* b_f, float* c, int64_t ldc,
                                           float alpha, float beta) {
  const int32_t* a = reinterpret_cast<const int32_t*>(a_f);
  const int32_t* b = reinterpret_cast<const int32_t*>(b_f);
  __m512 acc[14][2];
#pragma GCC unroll 14
  for (int i = 0; i < 14; ++i) acc[i][0] = acc[i][1] = _mm512_setzero_ps();
#pragma GCC unroll 14
  for (int i = 0; i < 14; ++i) _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc), _MM_HINT_T0);
  for (int64_t q = 0; q < kd; ++q) {
    const __m512bh b0 = (__m512bh)_mm512_loadu_si512(b);
    const __m512bh b1 = (__m512bh)_mm512_loadu_si512(b + 16);
    _mm_prefetch(reinterpret_cast<const char*>(b + 256), _MM_HINT_T0);
#pragma GCC unroll 14
    for (int i = 0; i < 14; ++i) {
      const __m512bh av = (__m512bh)_mm512_set1_epi32(a[i]);
      acc[i][0] = _mm512_dpbf16_ps(acc[i][0], av, b0);
      acc[i][1] = _mm512_dpbf16_ps(acc[i][1], av, b1);
    }
    a += 14;
    b += 32;
  }
  store_tile_14x32(acc, c, ldc, alpha, beta);
}

}  // namespace gemm_detail
}  // namespace nt
