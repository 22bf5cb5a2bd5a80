// AVX512-BF16 path of the bf16 x bf16 -> fp32 GEMM (native/kernels/gemm_bf16.cc): reached only when
// cpu_features() reports AVX512-BF16 (the function carries its own target attribute, so the rest
// of the AVX-512 library needs no BF16 flag).
//
// B is packed once into k/2 rows of n bf16 pairs (B[2q][j], B[2q+1][j]) converted with
// vcvtne2ps2bf16 (round to nearest even; an odd k is padded with a zero row). For each row i of A
// and each pair q, the pair (A[i][2q], A[i][2q+1]) is broadcast and vdpbf16ps adds both products
// to 16 fp32 column accumulators at once; column tails use masks. A first, simple kernel: one row
// of C at a time, 4 x 16 columns in registers (no cache blocking).
#include <immintrin.h>

#include <cstdint>
#include <cstdlib>
#include <vector>

namespace nt {
namespace bf16_detail {

namespace {
__attribute__((target("avx512f,avx512bw,avx512bf16"))) inline __m512i pack_pair(__m512 lo, __m512 hi) {
  // vcvtne2ps2bf16(hi, lo): lanes 0..15 from lo, 16..31 from hi; then interleave so that each
  // 32-bit lane holds (lo[j], hi[j]).
  const __m512i both = (__m512i)_mm512_cvtne2ps_pbh(hi, lo);
  const __m512i idx = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8, 23, 7, 22, 6, 21,
                                       5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
  return _mm512_permutexvar_epi16(idx, both);
}
}  // namespace

__attribute__((target("avx512f,avx512bw,avx512bf16"))) void gemm_bf16_f32_avx512bf16(const float* a, const float* b,
                                                                                       float* c, int64_t m, int64_t n,
                                                                                       int64_t k) {
  if (m == 0 || n == 0) return;
  const int64_t kp = (k + 1) / 2;         // bf16 pairs along k
  const int64_t nb = (n + 15) / 16;       // 16-column blocks
  std::vector<uint32_t> bp(static_cast<size_t>(kp * nb * 16));
  for (int64_t q = 0; q < kp; ++q) {
    const float* r0 = b + (2 * q) * n;
    const float* r1 = 2 * q + 1 < k ? b + (2 * q + 1) * n : nullptr;
    for (int64_t jb = 0; jb < nb; ++jb) {
      const int64_t j = jb * 16, rem = n - j;
      const __mmask16 mk = rem >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << rem) - 1u);
      const __m512 lo = _mm512_maskz_loadu_ps(mk, r0 + j);
      const __m512 hi = r1 ? _mm512_maskz_loadu_ps(mk, r1 + j) : _mm512_setzero_ps();
      _mm512_storeu_si512(bp.data() + (q * nb + jb) * 16, pack_pair(lo, hi));
    }
  }
  for (int64_t i = 0; i < m; ++i) {
    const float* ai = a + i * k;
    float* ci = c + i * n;
    for (int64_t jb0 = 0; jb0 < nb; jb0 += 4) {
      const int64_t cnt = nb - jb0 < 4 ? nb - jb0 : 4;
      __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
      for (int64_t q = 0; q < kp; ++q) {
        const __m512 a0 = _mm512_set1_ps(ai[2 * q]);
        const __m512 a1 = _mm512_set1_ps(2 * q + 1 < k ? ai[2 * q + 1] : 0.0f);
        const __m512i av = pack_pair(a0, a1);  // every lane: (A[i][2q], A[i][2q+1])
        const uint32_t* row = bp.data() + (q * nb + jb0) * 16;
        for (int64_t t = 0; t < cnt; ++t)
          acc[t] = _mm512_dpbf16_ps(acc[t], (__m512bh)av, (__m512bh)_mm512_loadu_si512(row + t * 16));
      }
      for (int64_t t = 0; t < cnt; ++t) {
        const int64_t j = (jb0 + t) * 16, rem = n - j;
        const __mmask16 mk = rem >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << rem) - 1u);
        _mm512_mask_storeu_ps(ci + j, mk, acc[t]);
      }
    }
  }
}

}  // namespace bf16_detail
}  // namespace nt
