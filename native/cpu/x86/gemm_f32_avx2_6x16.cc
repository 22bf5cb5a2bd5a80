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
// calls it right after the last k block of a tile: kernels/vec_math.h on the AVX2 trait
// (cpu/x86/vec_avx2.h), the same code the AVX-512 epilogue instantiates.
#include <immintrin.h>

#include "cpu/x86/vec_avx2.h"
#include "kernels/gemm_internal.h"
#include "kernels/vec_math.h"

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

void gemm_pack_bt16_avx2(const float* b, int64_t ldb, int64_t kc, float* dst) { pack_bt_8x<2>(b, ldb, kc, dst); }

void gemm_epilogue_f32_avx2(float* c, int64_t ldc, int64_t rows, int64_t cols, const float* bias, int act) {
  vec::epilogue<Avx2Vec>(c, ldc, rows, cols, bias, act);
}

}  // namespace gemm_detail
}  // namespace nt
