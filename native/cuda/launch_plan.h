// Launch-configuration arithmetic of the CUDA kernels, in plain C++ (no CUDA headers) so host-side
// tests check it without a GPU (test/device/launch-plan.test.ts compiles it with the host compiler).
#pragma once
#include <cstddef>
#include <cstdint>

namespace nt {
namespace cuda {

// The largest gridDim.y (and .z) a launch may have; gridDim.x goes to 2^31 - 1.
constexpr int64_t kMaxGridY = 65535;

// A GEMM with the tile's rows on gridDim.y covers at most kMaxGridY tiles of rows per launch: larger
// M runs as consecutive launches over row ranges [begin, begin + rows) (the operands offset by
// begin rows of op(A) and of C).
struct RowRange {
  int64_t begin = 0, rows = 0;
};
inline int64_t gemm_rows_per_launch(int64_t tile_rows) { return kMaxGridY * tile_rows; }
inline int64_t gemm_row_launches(int64_t m, int64_t tile_rows) {
  if (m <= 0) return 0;
  const int64_t per = gemm_rows_per_launch(tile_rows);
  return (m + per - 1) / per;
}
inline RowRange gemm_row_launch(int64_t m, int64_t tile_rows, int64_t i) {
  const int64_t per = gemm_rows_per_launch(tile_rows);
  RowRange r;
  r.begin = i * per;
  r.rows = m - r.begin < per ? m - r.begin : per;
  return r;
}
// Element offset of row `begin` of op(A) in A's storage: the row of A, or its column when A is
// stored transposed (A^T is [K, M], row-major with leading dimension lda).
inline int64_t gemm_a_row_offset(bool trans_a, int64_t begin, int64_t lda) { return trans_a ? begin : begin * lda; }

// The FP32 FMA kernel's square tile: 128 (8x8 per thread) when C is at least 128 on both sides
// and that grid of one block per tile still gives three quarters of the multiprocessors a block,
// else 64 (4x4 per thread), whose four times as many tiles spread a small C over more of the chip
// and waste less of a tile on a narrow one.
inline int64_t simt_tile(int64_t m, int64_t n, int multiprocessors) {
  if (m < 128 || n < 128) return 64;
  const int64_t tiles = ((m + 127) / 128) * ((n + 127) / 128);
  return 4 * tiles >= 3 * static_cast<int64_t>(multiprocessors) ? 128 : 64;
}

// Which GEMM runs: impl 0 (auto: cuBLAS when it was loaded, the project's kernels otherwise), 1 (the
// project's kernels), 2 (cuBLAS, an error when it is not loaded). An empty sum (k = 0) always takes
// the project's kernels: cuBLAS rejects the zero leading dimensions such a product may have, and
// the result (beta C, then the epilogue) needs no library.
enum class GemmRoute : int { kOwn = 0, kCublas = 1, kCublasMissing = 2 };
inline GemmRoute gemm_route(int impl, bool cublas_loaded, int64_t k) {
  if (impl == 2 && !cublas_loaded) return GemmRoute::kCublasMissing;
  if (k <= 0 || impl == 1) return GemmRoute::kOwn;
  return cublas_loaded ? GemmRoute::kCublas : GemmRoute::kOwn;
}

// The device-to-device copy the fused-Adam benchmark compares with: the bytes one Adam step moves
// over n parameters (read p, g, m, v and write p, m, v: 7 n floats) as one copy of 3.5 n floats
// read and written. Both of the copy's buffers hold this many bytes.
inline size_t copy_bench_bytes(int64_t n) { return static_cast<size_t>(n) * sizeof(float) * 7 / 2; }

}  // namespace cuda
}  // namespace nt
