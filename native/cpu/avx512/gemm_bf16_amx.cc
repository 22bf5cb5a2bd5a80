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
// The microkernel's body (gemm_bf16_amx_body.h) is also compiled over a software model of the tile
// unit (gemm_bf16_amx_emulated.cc, amx_emulated.h, written against the Intel SDM's definitions of
// LDTILECFG, TILELOADD, TDPBF16PS and TILESTORED), so that on CPUs without AMX the tests run this
// packing, tile configuration and loop through the driver on emulated tiles (the setAmxEmulation
// test hook). The tile instructions themselves run only on AMX hardware (the tests print which).
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "kernels/gemm_internal.h"

#define NT_AMX_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512bf16,amx-tile,amx-bf16")))

namespace nt {
namespace gemm_detail {

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

// The microkernel: its body is shared with the emulated build (gemm_bf16_amx_emulated.cc).
#define NT_AMX_FN NT_AMX_TARGET
#define NT_AMX_KERNEL gemm_bf16_amx_32x32
#define NT_TILE_LOADCONFIG(cfg) _tile_loadconfig(cfg)
#define NT_TILE_ZERO(t) _tile_zero(t)
#define NT_TILE_LOADD(t, base, stride) _tile_loadd(t, base, stride)
#define NT_TILE_DPBF16PS(d, a, b) _tile_dpbf16ps(d, a, b)
#define NT_TILE_STORED(t, base, stride) _tile_stored(t, base, stride)
#define NT_TILE_RELEASE() _tile_release()
#include "cpu/avx512/gemm_bf16_amx_body.h"

}  // namespace gemm_detail
}  // namespace nt
