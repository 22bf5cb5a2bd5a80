// The AMX-BF16 32x32 microkernel (gemm_bf16_amx_body.h, the same source as the hardware one in
// gemm_bf16_amx.cc) compiled over the software tile unit of amx_emulated.h, so that the kernel's
// tile configuration, its packed layouts (A pairs as 64-byte tile rows, B pairs read with a
// 128-byte stride), and its use by the GEMM driver (kd padded to 16 pair steps, KC 512, edge
// tiles, alpha/beta, epilogue) run and are tested on CPUs with AVX512-BF16 but no AMX. Reached only
// through the test hook set_amx_emulation(true) (nodetrain/cpu_features.h); never dispatched
// otherwise. Scalar and slow (about 1 ns per multiply-add): for tests, not for training.
//
// Also the kernel "amx_tile_emulated" (kernelCall, for the tile model's own unit tests): runs a
// short program of tile instructions over a byte buffer on the calling thread. It is registered
// from native/kernels/gemm.cc: this file is built with AVX-512 enabled, so it must have no static
// initialiser (one would run at load time, on every CPU).
#include "cpu/avx512/amx_emulated.h"

#include <immintrin.h>

#include <cstdint>
#include <cstring>
#include <string>

#include "kernels/gemm_internal.h"
#include "nodetrain/backend.h"
#include "nodetrain/cpu_features.h"

namespace nt {
namespace gemm_detail {

#define NT_AMX_FN
#define NT_AMX_KERNEL gemm_bf16_amx_32x32_emulated
#define NT_TILE_LOADCONFIG(cfg) ::nt::amx_emu::ldtilecfg(cfg)
#define NT_TILE_ZERO(t) ::nt::amx_emu::tilezero(t)
#define NT_TILE_LOADD(t, base, stride) ::nt::amx_emu::tileloadd(t, base, stride)
#define NT_TILE_DPBF16PS(d, a, b) ::nt::amx_emu::tdpbf16ps(d, a, b)
#define NT_TILE_STORED(t, base, stride) ::nt::amx_emu::tilestored(t, base, stride)
#define NT_TILE_RELEASE() ::nt::amx_emu::tilerelease()
#include "cpu/avx512/gemm_bf16_amx_body.h"

uint64_t amx_emulated_faults() { return amx_emu::faults(); }
uint64_t amx_emulated_dot_products() { return amx_emu::dp_counter().load(std::memory_order_relaxed); }

}  // namespace gemm_detail

// amx_tile_emulated: buffers [mem, program, out]; mem is a byte area (its floats' storage), program
// a list of instructions of 4 numbers each [op, x, y, z]:
//   1 LDTILECFG  [mem + x]           2 TILEZERO tmm<x>       3 TILELOADD tmm<x>, [mem + y], stride z
//   4 TDPBF16PS  tmm<x>, tmm<y>, tmm<z>                      5 TILESTORED [mem + y], stride z, tmm<x>
//   6 TILERELEASE
// The thread's tile state is released before and after the program; out[0] receives the number
// of faults the program raised. Offsets and strides are checked against mem (16 rows x 64 bytes).
namespace gemm_detail {

Status amx_tile_emulated_kernel(const KernelArgs& a) {
  if (a.nbuf < 3 || !a.buf[0] || !a.buf[1] || !a.buf[2] || a.len[2] < 1)
    return InvalidArgument("amx_tile_emulated: expected buffers mem, program, out");
  if (!cpu_features().avx512_all()) return InvalidArgument("amx_tile_emulated: needs the AVX-512 kernels");
  const int64_t bytes = a.len[0] * 4;
  char* mem = reinterpret_cast<char*>(a.buf[0]);
  const float* prog = a.buf[1];
  const int64_t n = a.len[1] / 4;
  const auto span_ok = [bytes](int64_t off, int64_t stride) {
    return off >= 0 && stride >= 0 && off + 15 * stride + amx_emu::kMaxColsb <= bytes;
  };
  const uint64_t before = amx_emu::faults();
  amx_emu::tilerelease();
  Status st = Status::Ok();
  for (int64_t i = 0; i < n && st.ok(); ++i) {
    const int op = static_cast<int>(prog[4 * i]);
    const int64_t x = static_cast<int64_t>(prog[4 * i + 1]), y = static_cast<int64_t>(prog[4 * i + 2]),
                  z = static_cast<int64_t>(prog[4 * i + 3]);
    switch (op) {
      case 1:
        if (!span_ok(x, 0)) st = InvalidArgument("amx_tile_emulated: LDTILECFG outside mem");
        else amx_emu::ldtilecfg(mem + x);
        break;
      case 2: amx_emu::tilezero(static_cast<int>(x)); break;
      case 3:
        if (!span_ok(y, z)) st = InvalidArgument("amx_tile_emulated: TILELOADD outside mem");
        else amx_emu::tileloadd(static_cast<int>(x), mem + y, z);
        break;
      case 4: amx_emu::tdpbf16ps(static_cast<int>(x), static_cast<int>(y), static_cast<int>(z)); break;
      case 5:
        if (!span_ok(y, z)) st = InvalidArgument("amx_tile_emulated: TILESTORED outside mem");
        else amx_emu::tilestored(static_cast<int>(x), mem + y, z);
        break;
      case 6: amx_emu::tilerelease(); break;
      default: st = InvalidArgument("amx_tile_emulated: unknown instruction " + std::to_string(op));
    }
  }
  amx_emu::tilerelease();
  a.buf[2][0] = static_cast<float>(amx_emu::faults() - before);
  return st;
}

}  // namespace gemm_detail
}  // namespace nt
