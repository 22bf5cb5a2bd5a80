// AVX2/FMA microkernel and epilogue of the packed float32 GEMM (driver: native/kernels/gemm.cc).
//
// gemm_f32_avx2_6x16: C[6x16] = alpha * A~ B~ + beta * C over packed micro-panels of depth kc.
// Twelve ymm accumulators hold the 6x16 tile (6 rows x 2 vectors of 8), two registers hold the
// current row of B~ and one the broadcast A~ element: 15 of the 16 ymm registers, the BLIS Haswell
// / Zen choice ("BLIS: A Framework for Rapidly Instantiating BLAS Functionality", Van Zee & van de
// Geijn 2015; blis/kernels/haswell/3/bli_gemm_haswell_asm_d6x8.c uses the same 6x16 sgemm shape).
// Each k step issues 12 FMAs against 2 loads + 6 broadcasts, enough to keep both FMA pipes busy.
//
// gemm_epilogue_f32_avx2: c = act(c + bias) on a block of C that is still in L1 when the driver
// calls it right after the last k block of a tile. exp follows Cephes expf (range reduction by
// ln2 split in two constants, degree-5 minimax polynomial, about 1 ulp); tanh uses the Cephes
// tanhf polynomial for |x| < 0.625 and 1 - 2/(exp(2|x|)+1) above; GELU (tanh approximation) uses
// the identity 0.5*(1 + tanh(u)) = sigmoid(2u), which avoids the cancellation of 1 + tanh(u) for
// large negative x.
#include <immintrin.h>

#include <cstring>

#include "kernels/gemm_internal.h"

namespace nt {
namespace gemm_detail {

void gemm_f32_avx2_6x16(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, float alpha, float beta) {
  __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps();
  __m256 c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
  __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps();
  __m256 c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
  __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps();
  __m256 c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();

  // The C tile is touched only after the k loop; start pulling it in now.
  for (int i = 0; i < 6; ++i) {
    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc + 15), _MM_HINT_T0);
  }

#define NT_GEMM_STEP(u)                                         \
  {                                                             \
    const __m256 b0 = _mm256_load_ps(b + (u) * 16);             \
    const __m256 b1 = _mm256_load_ps(b + (u) * 16 + 8);         \
    __m256 av = _mm256_broadcast_ss(a + (u) * 6 + 0);           \
    c00 = _mm256_fmadd_ps(av, b0, c00);                         \
    c01 = _mm256_fmadd_ps(av, b1, c01);                         \
    av = _mm256_broadcast_ss(a + (u) * 6 + 1);                  \
    c10 = _mm256_fmadd_ps(av, b0, c10);                         \
    c11 = _mm256_fmadd_ps(av, b1, c11);                         \
    av = _mm256_broadcast_ss(a + (u) * 6 + 2);                  \
    c20 = _mm256_fmadd_ps(av, b0, c20);                         \
    c21 = _mm256_fmadd_ps(av, b1, c21);                         \
    av = _mm256_broadcast_ss(a + (u) * 6 + 3);                  \
    c30 = _mm256_fmadd_ps(av, b0, c30);                         \
    c31 = _mm256_fmadd_ps(av, b1, c31);                         \
    av = _mm256_broadcast_ss(a + (u) * 6 + 4);                  \
    c40 = _mm256_fmadd_ps(av, b0, c40);                         \
    c41 = _mm256_fmadd_ps(av, b1, c41);                         \
    av = _mm256_broadcast_ss(a + (u) * 6 + 5);                  \
    c50 = _mm256_fmadd_ps(av, b0, c50);                         \
    c51 = _mm256_fmadd_ps(av, b1, c51);                         \
  }

  int64_t p = 0;
  for (; p + 4 <= kc; p += 4) {
    _mm_prefetch(reinterpret_cast<const char*>(a + 96), _MM_HINT_T0);
    NT_GEMM_STEP(0)
    NT_GEMM_STEP(1)
    NT_GEMM_STEP(2)
    NT_GEMM_STEP(3)
    a += 24;
    b += 64;
  }
  for (; p < kc; ++p) {
    NT_GEMM_STEP(0)
    a += 6;
    b += 16;
  }
#undef NT_GEMM_STEP

  const __m256 va = _mm256_set1_ps(alpha);
#define NT_GEMM_STORE(i, x0, x1)                                                                      \
  {                                                                                                   \
    float* ci = c + (i) * ldc;                                                                        \
    if (beta == 0.0f) {                                                                               \
      _mm256_storeu_ps(ci, _mm256_mul_ps(va, x0));                                                    \
      _mm256_storeu_ps(ci + 8, _mm256_mul_ps(va, x1));                                                \
    } else if (beta == 1.0f) {                                                                        \
      _mm256_storeu_ps(ci, _mm256_fmadd_ps(va, x0, _mm256_loadu_ps(ci)));                             \
      _mm256_storeu_ps(ci + 8, _mm256_fmadd_ps(va, x1, _mm256_loadu_ps(ci + 8)));                     \
    } else {                                                                                          \
      const __m256 vb = _mm256_set1_ps(beta);                                                         \
      _mm256_storeu_ps(ci, _mm256_fmadd_ps(va, x0, _mm256_mul_ps(vb, _mm256_loadu_ps(ci))));          \
      _mm256_storeu_ps(ci + 8, _mm256_fmadd_ps(va, x1, _mm256_mul_ps(vb, _mm256_loadu_ps(ci + 8))));  \
    }                                                                                                 \
  }
  NT_GEMM_STORE(0, c00, c01)
  NT_GEMM_STORE(1, c10, c11)
  NT_GEMM_STORE(2, c20, c21)
  NT_GEMM_STORE(3, c30, c31)
  NT_GEMM_STORE(4, c40, c41)
  NT_GEMM_STORE(5, c50, c51)
#undef NT_GEMM_STORE
}

namespace {

// Act values (nodetrain/kernels.h): kNone 0, kRelu 1, kGelu 4, kSigmoid 5, kTanh 6.
constexpr int kActRelu = 1, kActGelu = 4, kActSigmoid = 5, kActTanh = 6;

inline __m256 exp256(__m256 x) {
  // |x| <= 87 keeps 2^n a normal float for both signs.
  x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.0f)), _mm256_set1_ps(87.0f));
  const __m256 fx = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(fx, _mm256_set1_ps(0.693359375f), x);
  r = _mm256_fnmadd_ps(fx, _mm256_set1_ps(-2.12194440e-4f), r);
  __m256 y = _mm256_set1_ps(1.9875691500E-4f);
  y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(1.3981999507E-3f));
  y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(8.3334519073E-3f));
  y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(4.1665795894E-2f));
  y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(1.6666665459E-1f));
  y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(5.0000001201E-1f));
  y = _mm256_fmadd_ps(y, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
  const __m256i n = _mm256_cvtps_epi32(fx);
  const __m256 pow2n = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n, _mm256_set1_epi32(127)), 23));
  return _mm256_mul_ps(y, pow2n);
}

inline __m256 sigmoid256(__m256 x) {
  const __m256 one = _mm256_set1_ps(1.0f);
  return _mm256_div_ps(one, _mm256_add_ps(one, exp256(_mm256_sub_ps(_mm256_setzero_ps(), x))));
}

inline __m256 tanh256(__m256 x) {
  const __m256 sign = _mm256_set1_ps(-0.0f);
  const __m256 ax = _mm256_andnot_ps(sign, x);
  // Large |x|: 1 - 2 / (exp(2|x|) + 1), sign restored.
  const __m256 one = _mm256_set1_ps(1.0f);
  const __m256 e = exp256(_mm256_add_ps(ax, ax));
  __m256 big = _mm256_sub_ps(one, _mm256_div_ps(_mm256_set1_ps(2.0f), _mm256_add_ps(e, one)));
  big = _mm256_or_ps(big, _mm256_and_ps(sign, x));
  // Small |x|: Cephes tanhf odd polynomial.
  const __m256 z = _mm256_mul_ps(x, x);
  __m256 p = _mm256_set1_ps(-5.70498872745E-3f);
  p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(2.06390887954E-2f));
  p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(-5.37397155531E-2f));
  p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(1.33314422036E-1f));
  p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(-3.33332819422E-1f));
  const __m256 small = _mm256_fmadd_ps(_mm256_mul_ps(p, z), x, x);
  const __m256 is_small = _mm256_cmp_ps(ax, _mm256_set1_ps(0.625f), _CMP_LT_OQ);
  return _mm256_blendv_ps(big, small, is_small);
}

inline __m256 gelu256(__m256 x) {
  // x * sigmoid(2u), u = sqrt(2/pi) * (x + 0.044715 x^3)
  const __m256 x3 = _mm256_mul_ps(_mm256_mul_ps(x, x), x);
  const __m256 u2 = _mm256_mul_ps(_mm256_set1_ps(2.0f * 0.7978845608028654f),
                                  _mm256_fmadd_ps(_mm256_set1_ps(0.044715f), x3, x));
  return _mm256_mul_ps(x, sigmoid256(u2));
}

template <int kAct>
inline __m256 apply(__m256 v) {
  if (kAct == kActRelu) return _mm256_max_ps(v, _mm256_setzero_ps());
  if (kAct == kActGelu) return gelu256(v);
  if (kAct == kActSigmoid) return sigmoid256(v);
  if (kAct == kActTanh) return tanh256(v);
  return v;
}

template <int kAct>
void epilogue(float* c, int64_t ldc, int64_t rows, int64_t cols, const float* bias) {
  for (int64_t i = 0; i < rows; ++i) {
    float* ci = c + i * ldc;
    int64_t j = 0;
    for (; j + 8 <= cols; j += 8) {
      __m256 v = _mm256_loadu_ps(ci + j);
      if (bias) v = _mm256_add_ps(v, _mm256_loadu_ps(bias + j));
      _mm256_storeu_ps(ci + j, apply<kAct>(v));
    }
    if (j < cols) {
      // Masked tail (the same vector code, and rounding, for every column; masked-off lanes are
      // neither read nor written).
      const __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(cols - j)),
                                              _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
      __m256 v = _mm256_maskload_ps(ci + j, mask);
      if (bias) v = _mm256_add_ps(v, _mm256_maskload_ps(bias + j, mask));
      _mm256_maskstore_ps(ci + j, mask, apply<kAct>(v));
    }
  }
}

}  // namespace

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
}  // namespace

// Packing by 8x8 register transposes: the scalar gathers of a row-major A and a transposed B are
// the most expensive part of packing (one element per load), which matters for the thin products
// of MLP training where packing is O(1/16) of the FMA work per dimension.
void gemm_pack_a6_avx2(const float* a, int64_t lda, int64_t kc, float* dst) {
  int64_t p = 0;
  for (; p + 8 <= kc; p += 8) {
    __m256 r[8];
    for (int i = 0; i < 6; ++i) r[i] = _mm256_loadu_ps(a + i * lda + p);
    r[6] = r[7] = _mm256_setzero_ps();
    transpose8x8(r);
    float* d = dst + p * 6;
    // Column q goes to d + 6q; each 8-wide store spills 2 lanes that the next store overwrites.
    for (int q = 0; q < 7; ++q) _mm256_storeu_ps(d + 6 * q, r[q]);
    _mm_storeu_ps(d + 42, _mm256_castps256_ps128(r[7]));
    _mm_storel_pi(reinterpret_cast<__m64*>(d + 46), _mm256_extractf128_ps(r[7], 1));
  }
  for (; p < kc; ++p)
    for (int i = 0; i < 6; ++i) dst[p * 6 + i] = a[i * lda + p];
}

void gemm_pack_bt16_avx2(const float* b, int64_t ldb, int64_t kc, float* dst) {
  int64_t p = 0;
  for (; p + 8 <= kc; p += 8) {
    for (int h = 0; h < 2; ++h) {
      __m256 r[8];
      for (int j = 0; j < 8; ++j) r[j] = _mm256_loadu_ps(b + (h * 8 + j) * ldb + p);
      transpose8x8(r);
      for (int q = 0; q < 8; ++q) _mm256_store_ps(dst + (p + q) * 16 + h * 8, r[q]);
    }
  }
  for (; p < kc; ++p)
    for (int j = 0; j < 16; ++j) dst[p * 16 + j] = b[j * ldb + p];
}

void gemm_epilogue_f32_avx2(float* c, int64_t ldc, int64_t rows, int64_t cols, const float* bias, int act) {
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
