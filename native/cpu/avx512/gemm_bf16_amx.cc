// AMX-BF16 microkernel and A packing of the bf16 GEMM (driver: native/kernels/gemm.cc, precision
// 'bf16'). The functions carry their own target attribute, so the rest of the AVX-512 library needs
// no AMX flag; the dispatch puts the AMX table in use only on CPUs reporting AMX-TILE, AMX-BF16 and
// AVX512-BF16, and the driver calls these only after amx_ready() obtained the kernel's permission
// (arch_prctl(ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA), native/cpu/cpu_features.cc).
//
// Tiles (palette 1): tmm0..3 hold the 32x32 fp32 C block as four 16x16 tiles; tmm4/5 the A rows
// 0-15 / 16-31 of a 16-pair k block (16 rows x 64 bytes); tmm6/7 the B columns 0-15 / 16-31 of the
// same k block (16 pair rows x 64 bytes, read with a 128-byte stride from the 32-column pair
// panel). Each k block is four tdpbf16ps (C_ij += A_i B_j, 16 x 16 x 32 multiply-adds each).
// The tile configuration is loaded on every call and released at its end, so any thread may call
// it and no tile state outlives the call. (Once the permission is granted, Linux sizes every
// thread's signal frames for tile data whether or not tiles are in use; that is why it is asked
// only at the first bf16 product, not at start-up.)
// GCC 12's _tile_loadd is an asm statement with no memory input: a compiler barrier at entry keeps
// the packed panels' stores (made by the caller) ahead of the tile loads even if this is inlined.
//
// Not exercised by the test suite on CPUs without AMX (the tests print so): written against the
// Intel SDM's definitions of LDTILECFG, TILELOADD, TDPBF16PS and TILESTORED.
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "kernels/gemm_internal.h"

#define NT_AMX_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512bf16,amx-tile,amx-bf16")))

namespace nt {
namespace gemm_detail {

namespace {

struct alignas(64) TileConfig {
  uint8_t palette_id;
  uint8_t start_row;
  uint8_t reserved[14];
  uint16_t colsb[16];
  uint8_t rows[16];
};
static_assert(sizeof(TileConfig) == 64, "LDTILECFG reads 64 bytes");

}  // namespace

void gemm_pack_a32_amx_f32(const float* a, int64_t lda, int64_t kc, float* dst) {
  for (int64_t p = 0; p < kc; p += 8) {
    const int64_t pe = p + 8 < kc ? p + 8 : kc;
    for (int64_t r = 0; r < kGemmMRAmx; ++r) {
      const float* s = a + r * lda;
      for (int64_t q = p; q < pe; ++q) dst[q * kGemmMRAmx + r] = s[q];
    }
  }
}

// [kc][32] floats -> per block of 16 pair steps, 32 rows x 16 pair words (row r: k pairs of row r).
NT_AMX_TARGET void gemm_bf16_pairs_a_amx(const float* panel, int64_t kc, int64_t kd, float* dst_f) {
  alignas(64) uint32_t block[16 * kGemmMRAmx];  // 16 steps x 32 rows, the vdpbf16ps layout
  uint32_t* dst = reinterpret_cast<uint32_t*>(dst_f);
  for (int64_t q0 = 0; q0 < kd; q0 += 16, dst += 16 * kGemmMRAmx) {
    for (int64_t qq = 0; qq < 16; ++qq) {
      const int64_t p = 2 * (q0 + qq);
      const __m512 z = _mm512_setzero_ps();
      for (int h = 0; h < 2; ++h) {
        const __m512 lo = p < kc ? _mm512_loadu_ps(panel + p * kGemmMRAmx + 16 * h) : z;
        const __m512 hi = p + 1 < kc ? _mm512_loadu_ps(panel + (p + 1) * kGemmMRAmx + 16 * h) : z;
        const __m512i both = (__m512i)_mm512_cvtne2ps_pbh(hi, lo);
        const __m512i idx = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8, 23, 7, 22,
                                             6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
        _mm512_store_si512(block + qq * kGemmMRAmx + 16 * h, _mm512_permutexvar_epi16(idx, both));
      }
    }
    for (int64_t r = 0; r < kGemmMRAmx; ++r)
      for (int64_t qq = 0; qq < 16; ++qq) dst[r * 16 + qq] = block[qq * kGemmMRAmx + r];
  }
}

NT_AMX_TARGET void gemm_bf16_amx_32x32(int64_t kd, const float* a, const float* b, float* c, int64_t ldc, float alpha,
                                       float beta) {
  TileConfig cfg;
  std::memset(&cfg, 0, sizeof cfg);
  cfg.palette_id = 1;
  for (int t = 0; t < 8; ++t) {
    cfg.rows[t] = 16;
    cfg.colsb[t] = 64;
  }
  __asm__ volatile("" ::: "memory");
  _tile_loadconfig(&cfg);
  _tile_zero(0);
  _tile_zero(1);
  _tile_zero(2);
  _tile_zero(3);
  const char* ap = reinterpret_cast<const char*>(a);
  const char* bp = reinterpret_cast<const char*>(b);
  for (int64_t q0 = 0; q0 < kd; q0 += 16) {
    _tile_loadd(4, ap, 64);
    _tile_loadd(5, ap + 16 * 64, 64);
    _tile_loadd(6, bp, 128);
    _tile_loadd(7, bp + 64, 128);
    _tile_dpbf16ps(0, 4, 6);
    _tile_dpbf16ps(1, 4, 7);
    _tile_dpbf16ps(2, 5, 6);
    _tile_dpbf16ps(3, 5, 7);
    ap += 32 * 64;
    bp += 16 * 128;
  }
  alignas(64) float t[32 * 32];
  _tile_stored(0, t, 128);
  _tile_stored(1, t + 16, 128);
  _tile_stored(2, t + 16 * 32, 128);
  _tile_stored(3, t + 16 * 32 + 16, 128);
  _tile_release();
  const __m512 va = _mm512_set1_ps(alpha);
  const __m512 vb = _mm512_set1_ps(beta);
  for (int i = 0; i < 32; ++i) {
    float* ci = c + i * ldc;
    for (int h = 0; h < 2; ++h) {
      const __m512 acc = _mm512_mul_ps(va, _mm512_load_ps(t + i * 32 + 16 * h));
      _mm512_storeu_ps(ci + 16 * h,
                       beta == 0.0f ? acc : _mm512_fmadd_ps(vb, _mm512_loadu_ps(ci + 16 * h), acc));
    }
  }
}

}  // namespace gemm_detail
}  // namespace nt
