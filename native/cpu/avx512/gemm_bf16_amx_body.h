// The body of the AMX-BF16 32x32 microkernel, written once and compiled twice:
//   gemm_bf16_amx.cc           over the tile instructions (_tile_* intrinsics, amx-tile/amx-bf16);
//   gemm_bf16_amx_emulated.cc  over the software tile unit (amx_emulated.h), for CPUs without AMX.
// GCC's _tile_* intrinsics are macros that paste the tile number into the instruction text, so the
// tile numbers must stay literal tokens: the including file defines, before including this once,
//   NT_AMX_FN                         the function's attributes (target)
//   NT_AMX_KERNEL                     the function's name
//   NT_TILE_LOADCONFIG(cfg)           LDTILECFG from a 64-byte TileConfig
//   NT_TILE_ZERO(t)                   TILEZERO tmm<t>
//   NT_TILE_LOADD(t, base, stride)    TILELOADD tmm<t>, [base + row * stride]
//   NT_TILE_DPBF16PS(d, a, b)         TDPBF16PS tmm<d>, tmm<a>, tmm<b>
//   NT_TILE_STORED(t, base, stride)   TILESTORED [base + row * stride], tmm<t>
//   NT_TILE_RELEASE()                 TILERELEASE
// and includes it inside namespace nt::gemm_detail. See gemm_bf16_amx.cc for the layouts.
#if !defined(NT_AMX_FN) || !defined(NT_AMX_KERNEL) || !defined(NT_TILE_LOADCONFIG) || !defined(NT_TILE_ZERO) || \
    !defined(NT_TILE_LOADD) || !defined(NT_TILE_DPBF16PS) || !defined(NT_TILE_STORED) || !defined(NT_TILE_RELEASE)
#error "define the NT_AMX_* and NT_TILE_* macros before including gemm_bf16_amx_body.h"
#endif

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

NT_AMX_FN void NT_AMX_KERNEL(int64_t kd, const float* a, const float* b, float* c, int64_t ldc, float alpha,
                             float beta) {
  TileConfig cfg;
  std::memset(&cfg, 0, sizeof cfg);
  cfg.palette_id = 1;
  for (int t = 0; t < 8; ++t) {
    cfg.rows[t] = 16;
    cfg.colsb[t] = 64;
  }
  __asm__ volatile("" ::: "memory");
  NT_TILE_LOADCONFIG(&cfg);
  NT_TILE_ZERO(0);
  NT_TILE_ZERO(1);
  NT_TILE_ZERO(2);
  NT_TILE_ZERO(3);
  const char* ap = reinterpret_cast<const char*>(a);
  const char* bp = reinterpret_cast<const char*>(b);
  for (int64_t q0 = 0; q0 < kd; q0 += 16) {
    NT_TILE_LOADD(4, ap, 64);
    NT_TILE_LOADD(5, ap + 16 * 64, 64);
    NT_TILE_LOADD(6, bp, 128);
    NT_TILE_LOADD(7, bp + 64, 128);
    NT_TILE_DPBF16PS(0, 4, 6);
    NT_TILE_DPBF16PS(1, 4, 7);
    NT_TILE_DPBF16PS(2, 5, 6);
    NT_TILE_DPBF16PS(3, 5, 7);
    ap += 32 * 64;
    bp += 16 * 128;
  }
  alignas(64) float t[32 * 32];
  NT_TILE_STORED(0, t, 128);
  NT_TILE_STORED(1, t + 16, 128);
  NT_TILE_STORED(2, t + 16 * 32, 128);
  NT_TILE_STORED(3, t + 16 * 32 + 16, 128);
  NT_TILE_RELEASE();
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
