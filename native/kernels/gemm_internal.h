// Internal interface between the packed GEMM driver (native/kernels/gemm.cc) and its ISA-specific
// microkernels (native/cpu/x86/gemm_f32_avx2_6x16.cc, native/cpu/avx512/gemm_f32_avx512_14x32.cc).
// The driver is generic over the tile shape (MR x NR); the pack functions below pack a full sliver
// of MR rows of A (or NR rows of a transposed B) for the kernel set they belong to. Not part of the public kernel API.
//
// Packed layouts (BLIS, "Anatomy of High-Performance Matrix Multiplication", Goto & van de Geijn
// 2008; BLIS "BLIS: A Framework for Rapidly Instantiating BLAS Functionality", 2015):
//   A micro-panel: kc steps of kGemmMR consecutive floats (column p of the 6-row sliver), zero-padded.
//   B micro-panel: kc steps of kGemmNR consecutive floats (row p of the 16-column sliver), zero-padded.
#pragma once
#include <cstdint>

#include "nodetrain/backend.h"
#include "nodetrain/kernels.h"

namespace nt {
namespace gemm_detail {

constexpr int kGemmMR = 6;
constexpr int kGemmNR = 16;

// C[6x16] = alpha * Apanel * Bpanel + beta * C (beta == 0: C is write-only; NaNs there are ignored).
// c has row stride ldc. a/b are packed micro-panels of depth kc (kc >= 1). Always a full tile: the
// driver routes edge tiles through a temporary 6x16 tile.
using MicroKernelFn = void (*)(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, float alpha,
                               float beta);

// Epilogue over a rows x cols block of C (row stride ldc): c += bias[j] (bias may be null), then
// the activation (act is an nt::Act value limited to kNone, kRelu, kGelu, kSigmoid, kTanh).
using EpilogueFn = void (*)(float* c, int64_t ldc, int64_t rows, int64_t cols, const float* bias, int act);

// Packs a full 6-row sliver of a row-major A (row stride lda) over kc columns into an A micro-panel.
using PackA6Fn = void (*)(const float* a, int64_t lda, int64_t kc, float* dst);
// Packs 16 full rows of a row-major B stored transposed (row stride ldb, kc columns each) into a
// B micro-panel: dst[p*16 + j] = b[j*ldb + p].
using PackBT16Fn = void (*)(const float* b, int64_t ldb, int64_t kc, float* dst);

// bf16 operands. A pair kernel's micro-panels hold, per step q along k, the bf16 values of k = 2q
// and 2q+1 in one 32-bit word (low half: 2q), rounded to nearest even; an odd k is padded with
// zero, and the step count kd may be padded further (zero pairs) to the kernel's alignment.
// The converters read the float32 panel the kernel set's packers produced ([kc][w] floats, w the
// tile width) and write kd steps (kd >= ceil(kc/2)) of the kernel's bf16 layout.
using PairsAFn = void (*)(const float* panel, int64_t kc, int64_t kd, float* dst);
using PairsBFn = void (*)(const float* panel, int64_t kc, int64_t kd, float* dst);
// The B converter without the float32 panel, for a B stored as is: row p of op(B)'s block at
// src + p * ld, its first `cols` floats (<= the tile width) valid; writes the same kd steps of the
// tile width as PairsBFn over the panel the packer would have made (zero beyond cols and kc).
using PairsBRowsFn = void (*)(const float* src, int64_t ld, int64_t kc, int64_t kd, int64_t cols, float* dst);
// The A converter without the float32 panel, for a full sliver (the tile height's rows, row r at
// a + r * lda) of an A stored as is: the same kd steps as PairsAFn over the packer's panel.
using PairsARowsFn = void (*)(const float* a, int64_t lda, int64_t kc, int64_t kd, float* dst);

// The direct GEMM for small products (native/kernels/gemm_small.h): the whole validated product
// (m, n, k >= 1, bias + activation included) without packing; bt is scratch of k*n floats for a
// transposed B.
using SmallFn = void (*)(const GemmArgs& g, float* bt);

#if defined(NT_HAVE_AVX2_KERNELS)
// AVX2/FMA versions; call only when nt::use_avx2() is true.
void gemm_f32_avx2_6x16(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, float alpha, float beta);
void gemm_epilogue_f32_avx2(float* c, int64_t ldc, int64_t rows, int64_t cols, const float* bias, int act);
void gemm_pack_a6_avx2(const float* a, int64_t lda, int64_t kc, float* dst);
void gemm_pack_bt16_avx2(const float* b, int64_t ldb, int64_t kc, float* dst);
void gemm_small_f32_avx2(const GemmArgs& g, float* bt);
#endif

#if defined(NT_HAVE_AVX512_KERNELS)
// AVX-512 F/BW/VL/DQ versions (native/cpu/avx512/): 14x32 tiles; call only through the dispatch
// table's AVX-512 entry.
constexpr int kGemmMR512 = 14;
constexpr int kGemmNR512 = 32;
void gemm_f32_avx512_14x32(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, float alpha,
                           float beta);
void gemm_epilogue_f32_avx512(float* c, int64_t ldc, int64_t rows, int64_t cols, const float* bias, int act);
void gemm_pack_a14_avx512(const float* a, int64_t lda, int64_t kc, float* dst);
void gemm_pack_bt32_avx512(const float* b, int64_t ldb, int64_t kc, float* dst);
void gemm_small_f32_avx512(const GemmArgs& g, float* bt);

// AVX512-BF16 (native/cpu/avx512/gemm_bf16_avx512.cc; call only when cpu_features().avx512_bf16):
// C[14x32] = alpha * A~ B~ + beta * C over kd bf16 pair steps (A~: kd x 14 words, B~: kd x 32 words).
void gemm_bf16_avx512_14x32(int64_t kd, const float* a, const float* b, float* c, int64_t ldc, float alpha,
                            float beta);
// [kc][14] floats -> kd x 14 pairs; [kc][32] floats -> kd x 32 pairs (w taken from the kernel set).
void gemm_bf16_pairs_a_avx512(const float* panel, int64_t kc, int64_t kd, float* dst);
void gemm_bf16_pairs_b_avx512(const float* panel, int64_t kc, int64_t kd, float* dst);
void gemm_bf16_pairs_b_rows_avx512(const float* src, int64_t ld, int64_t kc, int64_t kd, int64_t cols, float* dst);
void gemm_bf16_pairs_a_rows_avx512(const float* a, int64_t lda, int64_t kc, int64_t kd, float* dst);
// The same two layouts from transposed operands (row p of a transposed A holds k value p of the
// sliver's rows; row j of a transposed B holds column j's k run): PairsBRowsFn's signature, the
// count being the sliver's valid rows (A) or the tile's valid columns (B).
void gemm_bf16_pairs_at_rows_avx512(const float* at, int64_t lda, int64_t kc, int64_t kd, int64_t rows, float* dst);
void gemm_bf16_pairs_bt_rows_avx512(const float* bt, int64_t ldb, int64_t kc, int64_t kd, int64_t cols, float* dst);

// AMX-BF16 (native/cpu/avx512/gemm_bf16_amx.cc; call only after amx_ready() returned true):
// C[32x32] = alpha * A~ B~ + beta * C, kd a multiple of 16 pair steps. A~ holds, per block of 16
// steps, 32 rows x 16 words (one 64-byte tile row per row of C); B~ is the pair layout above with
// 32 columns (two 16-column tiles side by side, row stride 128 bytes).
constexpr int kGemmMRAmx = 32;
constexpr int kGemmNRAmx = 32;
void gemm_bf16_amx_32x32(int64_t kd, const float* a, const float* b, float* c, int64_t ldc, float alpha,
                         float beta);
void gemm_pack_a32_amx_f32(const float* a, int64_t lda, int64_t kc, float* dst);  // [kc][32] floats
void gemm_bf16_pairs_a_amx(const float* panel, int64_t kc, int64_t kd, float* dst);
// The same microkernel over the software tile unit (native/cpu/avx512/gemm_bf16_amx_emulated.cc,
// amx_emulated.h); needs AVX512-BF16 only (the pair converters). For tests (set_amx_emulation).
void gemm_bf16_amx_32x32_emulated(int64_t kd, const float* a, const float* b, float* c, int64_t ldc, float alpha,
                                  float beta);
// Faults (#UD/#GP conditions) the software tile unit counted, process-wide.
uint64_t amx_emulated_faults();
// TDPBF16PS instructions the software tile unit executed, process-wide.
uint64_t amx_emulated_dot_products();
// The "amx_tile_emulated" test kernel (registered by native/kernels/gemm.cc).
Status amx_tile_emulated_kernel(const KernelArgs& a);
#endif

}  // namespace gemm_detail
}  // namespace nt
