// The direct small-product GEMM (native/kernels/gemm_small.h) on 8-float AVX2/FMA vectors, tails
// by vmaskmovps. Built into nt_avx2 with -mavx2 -mfma; called only through the AVX2 kernel set.
#include <immintrin.h>

#include "kernels/gemm_small.h"

namespace nt {
namespace gemm_detail {
namespace {

struct Avx2Vec {
  static constexpr int W = 8;
  using reg = __m256;
  static reg zero() { return _mm256_setzero_ps(); }
  static reg bcast(float x) { return _mm256_set1_ps(x); }
  static reg fma(reg a, reg b, reg c) { return _mm256_fmadd_ps(a, b, c); }
  static reg mul(reg a, reg b) { return _mm256_mul_ps(a, b); }
  static reg load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, reg x) { _mm256_storeu_ps(p, x); }
  static __m256i mask(int n) { return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7)); }
  static reg load_tail(const float* p, int n) { return _mm256_maskload_ps(p, mask(n)); }
  static void store_tail(float* p, reg x, int n) { _mm256_maskstore_ps(p, mask(n), x); }
};

}  // namespace

void gemm_small_f32_avx2(const GemmArgs& g, float* bt) { gemm_small<Avx2Vec>(g, bt, gemm_epilogue_f32_avx2); }

}  // namespace gemm_detail
}  // namespace nt
