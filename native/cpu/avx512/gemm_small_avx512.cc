// The direct small-product GEMM (native/kernels/gemm_small.h) on 16-float AVX-512 vectors, tails
// by mask registers. Built into nt_avx512; called only through the AVX-512 kernel set.
#include <immintrin.h>

#include "kernels/gemm_small.h"

namespace nt {
namespace gemm_detail {
namespace {

struct Avx512Vec {
  static constexpr int W = 16;
  using reg = __m512;
  static reg zero() { return _mm512_setzero_ps(); }
  static reg bcast(float x) { return _mm512_set1_ps(x); }
  static reg fma(reg a, reg b, reg c) { return _mm512_fmadd_ps(a, b, c); }
  static reg mul(reg a, reg b) { return _mm512_mul_ps(a, b); }
  static reg load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, reg x) { _mm512_storeu_ps(p, x); }
  static __mmask16 mask(int n) { return static_cast<__mmask16>((1u << n) - 1u); }
  static reg load_tail(const float* p, int n) { return _mm512_maskz_loadu_ps(mask(n), p); }
  static void store_tail(float* p, reg x, int n) { _mm512_mask_storeu_ps(p, mask(n), x); }
};

}  // namespace

void gemm_small_f32_avx512(const GemmArgs& g, float* bt) { gemm_small<Avx512Vec>(g, bt, gemm_epilogue_f32_avx512); }

}  // namespace gemm_detail
}  // namespace nt
