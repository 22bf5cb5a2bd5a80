// A software model of the AMX tile unit (palette 1), for running the AMX-BF16 GEMM microkernel
// (gemm_bf16_amx_body.h) on CPUs without AMX: 8 tiles of up to 16 rows x 64 bytes and the tile
// configuration, with LDTILECFG, TILEZERO, TILELOADD, TDPBF16PS, TILESTORED and TILERELEASE as the
// Intel SDM (Vol. 2, "TDPBF16PS", "TILELOADD", "LDTILECFG"; Intel Architecture Instruction Set
// Extensions Programming Reference, ch. 3) defines them:
//   - rows and colsb of each tile come from the loaded configuration; a load or a store moves
//     colsb bytes of each of rows rows, rows below start_row untouched by the loop, and zeroes
//     the bytes above colsb and the rows above rows (write_row_and_zero, zero_upper_rows);
//   - TDPBF16PS, per row m of the destination: two fp32 temporaries per output column n, one per
//     half of each bf16 pair, accumulate FMA(make_fp32(a.bf16[2k+h]), make_fp32(b.row[k].bf16[2n+h]))
//     over k < a.colsb/4; then dst[m][n] += temp[2n] + temp[2n+1]. Every operation: inputs
//     subnormal -> zero (DAZ), outputs subnormal -> zero (FTZ), round to nearest even; MXCSR is
//     neither read nor written (the model uses fmaf and float adds in the default rounding mode).
// What the hardware would fault on (#UD for the instructions, #GP for LDTILECFG) is COUNTED instead
// (faults(), process-wide and atomic, since the GEMM driver runs microkernels on pool threads; so is
// the count of TDPBF16PS executed, dp_counter()) and
// the instruction does nothing. The conditions modelled:
//   every instruction but LDTILECFG/TILERELEASE: tiles not configured (no LDTILECFG, or released);
//   a tile number outside 0..7; a tile whose configured rows or colsb is 0;
//   TDPBF16PS: dst.rows != a.rows, a.colsb / 4 != b.rows, dst.colsb != b.colsb, the three tiles not
//     distinct, dst.colsb or a.colsb over 64 bytes or b.rows over 16 (TMUL limits);
//   LDTILECFG: palette other than 0 or 1, reserved bytes not zero, rows over 16 or colsb over 64, a
//     tile with exactly one of rows/colsb zero, tiles 8..15 configured.
// Memory faults (#GP/#PF on the addresses) are not modelled: the accesses are plain loads/stores.
//
// The state is per thread (thread_local), as real tile registers are.
#pragma once
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstring>

namespace nt {
namespace amx_emu {

constexpr int kTiles = 8, kMaxRows = 16, kMaxColsb = 64;

// The 64-byte LDTILECFG operand (palette 1 layout).
struct alignas(64) TileCfg {
  uint8_t palette_id;
  uint8_t start_row;
  uint8_t reserved[14];
  uint16_t colsb[16];
  uint8_t rows[16];
};
static_assert(sizeof(TileCfg) == 64, "LDTILECFG reads 64 bytes");

struct TileUnit {
  bool configured = false;
  uint8_t start_row = 0;
  uint8_t rows[kTiles] = {};
  uint16_t colsb[kTiles] = {};
  alignas(64) uint8_t data[kTiles][kMaxRows][kMaxColsb] = {};
};

inline TileUnit& unit() {
  static thread_local TileUnit u;
  return u;
}

inline std::atomic<uint64_t>& fault_counter() {
  static std::atomic<uint64_t> n{0};
  return n;
}
inline uint64_t faults() { return fault_counter().load(std::memory_order_relaxed); }
inline void fault() { fault_counter().fetch_add(1, std::memory_order_relaxed); }
// TDPBF16PS instructions executed (without fault), so that tests can tell the model really ran.
inline std::atomic<uint64_t>& dp_counter() {
  static std::atomic<uint64_t> n{0};
  return n;
}

inline float bits_to_float(uint32_t x) {
  float f;
  std::memcpy(&f, &x, sizeof f);
  return f;
}
inline uint32_t float_to_bits(float f) {
  uint32_t x;
  std::memcpy(&x, &f, sizeof x);
  return x;
}
// DAZ on an input / FTZ on an output: a subnormal becomes a zero of the same sign.
inline float flush(float f) {
  const uint32_t x = float_to_bits(f);
  return (x & 0x7F800000u) == 0 ? bits_to_float(x & 0x80000000u) : f;
}
// make_fp32: the bf16 bit pattern in the upper half of a dword (then DAZ).
inline float make_fp32(uint16_t h) { return flush(bits_to_float(static_cast<uint32_t>(h) << 16)); }

inline bool usable(const TileUnit& u, int t) {
  return u.configured && t >= 0 && t < kTiles && u.rows[t] != 0 && u.colsb[t] != 0;
}

// The state TILERELEASE leaves: tiles unconfigured, data zero.
inline void tilerelease() {
  TileUnit& u = unit();
  u.configured = false;
  u.start_row = 0;
  std::memset(u.rows, 0, sizeof u.rows);
  std::memset(u.colsb, 0, sizeof u.colsb);
  std::memset(u.data, 0, sizeof u.data);
}

inline void ldtilecfg(const void* mem) {
  TileCfg c;
  std::memcpy(&c, mem, sizeof c);
  TileUnit& u = unit();
  if (c.palette_id == 0) {  // palette 0: the init state
    tilerelease();
    return;
  }
  bool ok = c.palette_id == 1;
  for (uint8_t r : c.reserved) ok = ok && r == 0;
  for (int t = 0; t < 16; ++t) {
    const bool zr = c.rows[t] == 0, zc = c.colsb[t] == 0;
    if (t >= kTiles) {
      ok = ok && zr && zc;
      continue;
    }
    ok = ok && c.rows[t] <= kMaxRows && c.colsb[t] <= kMaxColsb && zr == zc;
  }
  if (!ok) {
    fault();
    return;
  }
  u.configured = true;
  u.start_row = c.start_row;
  for (int t = 0; t < kTiles; ++t) {
    u.rows[t] = c.rows[t];
    u.colsb[t] = c.colsb[t];
  }
  std::memset(u.data, 0, sizeof u.data);
}

inline void tilezero(int t) {
  TileUnit& u = unit();
  if (!usable(u, t)) {
    fault();
    return;
  }
  std::memset(u.data[t], 0, sizeof u.data[t]);
  u.start_row = 0;
}

// zero_upper_rows / write_row_and_zero for tile t after rows [0, rows) were written.
inline void zero_beyond(TileUnit& u, int t) {
  for (int r = 0; r < kMaxRows; ++r) {
    const int from = r < u.rows[t] ? u.colsb[t] : 0;
    std::memset(u.data[t][r] + from, 0, static_cast<size_t>(kMaxColsb - from));
  }
}

inline void tileloadd(int t, const void* base, int64_t stride) {
  TileUnit& u = unit();
  if (!usable(u, t)) {
    fault();
    return;
  }
  const char* p = static_cast<const char*>(base);
  for (int r = u.start_row; r < u.rows[t]; ++r) std::memcpy(u.data[t][r], p + r * stride, u.colsb[t]);
  zero_beyond(u, t);
  u.start_row = 0;
}

inline void tilestored(int t, void* base, int64_t stride) {
  TileUnit& u = unit();
  if (!usable(u, t)) {
    fault();
    return;
  }
  char* p = static_cast<char*>(base);
  for (int r = u.start_row; r < u.rows[t]; ++r) std::memcpy(p + r * stride, u.data[t][r], u.colsb[t]);
  u.start_row = 0;
}

inline void tdpbf16ps(int d, int a, int b) {
  TileUnit& u = unit();
  if (!usable(u, d) || !usable(u, a) || !usable(u, b) || d == a || d == b || a == b || u.rows[d] != u.rows[a] ||
      u.colsb[a] / 4 != u.rows[b] || u.colsb[d] != u.colsb[b] || u.colsb[d] > kMaxColsb ||
      u.colsb[a] > kMaxColsb || u.rows[b] > kMaxRows) {
    fault();
    return;
  }
  dp_counter().fetch_add(1, std::memory_order_relaxed);
  const int kk = u.colsb[a] / 4, nn = u.colsb[d] / 4;
  for (int m = 0; m < u.rows[d]; ++m) {
    float temp[2 * kMaxColsb / 4] = {};
    uint16_t arow[kMaxColsb / 2];
    std::memcpy(arow, u.data[a][m], sizeof arow);
    for (int k = 0; k < kk; ++k) {
      uint16_t brow[kMaxColsb / 2];
      std::memcpy(brow, u.data[b][k], sizeof brow);
      for (int n = 0; n < nn; ++n)
        for (int h = 0; h < 2; ++h)
          temp[2 * n + h] = flush(std::fma(make_fp32(arow[2 * k + h]), make_fp32(brow[2 * n + h]), temp[2 * n + h]));
    }
    float drow[kMaxColsb / 4];
    std::memcpy(drow, u.data[d][m], sizeof drow);
    for (int n = 0; n < nn; ++n) {
      const float pair = flush(temp[2 * n] + temp[2 * n + 1]);
      drow[n] = flush(flush(drow[n]) + pair);
    }
    std::memcpy(u.data[d][m], drow, static_cast<size_t>(nn) * 4);
  }
  zero_beyond(u, d);
  u.start_row = 0;
}

}  // namespace amx_emu
}  // namespace nt
