// Reductions over a contiguous row-major float32 tensor viewed as [outer, axis, inner]:
//   reduce_f32 (sum, mean, max, min -> out[outer*inner]), argmax_f32 (int32 index into axis, first
//   occurrence on ties), sum_squares_f32 / dot_f32 (whole arrays, double result), col_sum_f32
//   (column sums of a strided [rows, cols] matrix: bias gradients).
//
// Numerics: sums accumulate in double (eight independent accumulators so the loop pipelines and
// vectorises without -ffast-math); max/min/argmax are exact. NaN propagates through max/min and
// argmax reports the first NaN (as NumPy and PyTorch do).
//
// Threading is over outer rows or inner column tiles; a long reduction axis is split into a fixed
// number of chunks that depends only on the length, never on the thread count, and the chunk
// partials are combined in order, so results are bit-identical for any thread count.
// Nothing here allocates: partials and column-tile accumulators live on the stack.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

#include "nodetrain/kernels.h"
#include "nodetrain/parallel.h"

namespace nt {
namespace {

constexpr int64_t kGrain = int64_t(1) << 15;     // elements per task below which threads cost more than they save
constexpr int64_t kChunkMin = int64_t(1) << 14;  // minimum chunk of a long reduction axis
constexpr int64_t kMaxChunks = 64;               // chunk partials kept on the stack
constexpr int64_t kTile = 256;                   // inner columns accumulated per stack tile

int64_t tasks_for(int64_t work) { return std::max<int64_t>(1, std::min<int64_t>(work / kGrain, 1024)); }

// Fixed split of [0, n) into chunks: count depends only on n.
struct Chunks {
  int64_t count = 0, size = 0;
  explicit Chunks(int64_t n) {
    if (n <= 0) return;
    int64_t want = std::min<int64_t>(kMaxChunks, std::max<int64_t>(1, n / kChunkMin));
    size = (n + want - 1) / want;
    count = (n + size - 1) / size;
  }
};

// Runs body(c, begin, end) for every chunk, chunks spread over the pool.
template <class Body>
void for_chunks(const Chunks& ch, int64_t n, Body&& body) {
  parallel_for(ch.count, [&](int ith, int nth) {
    int64_t cb, ce;
    partition(ch.count, ith, nth, 1, &cb, &ce);
    for (int64_t c = cb; c < ce; ++c) body(c, c * ch.size, std::min(n, (c + 1) * ch.size));
  });
}

double sum_d(const float* x, int64_t n) {
  double a[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int k = 0; k < 8; ++k) a[k] += static_cast<double>(x[i + k]);
  double t = 0;
  for (; i < n; ++i) t += static_cast<double>(x[i]);
  return ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7])) + t;
}

double sumsq_d(const float* x, int64_t n) {
  double a[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int k = 0; k < 8; ++k) {
      double v = static_cast<double>(x[i + k]);
      a[k] += v * v;
    }
  double t = 0;
  for (; i < n; ++i) t += static_cast<double>(x[i]) * static_cast<double>(x[i]);
  return ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7])) + t;
}

double dot_d(const float* x, const float* y, int64_t n) {
  double a[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int k = 0; k < 8; ++k) a[k] += static_cast<double>(x[i + k]) * static_cast<double>(y[i + k]);
  double t = 0;
  for (; i < n; ++i) t += static_cast<double>(x[i]) * static_cast<double>(y[i]);
  return ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7])) + t;
}

// max (is_max) or min of n >= 1 contiguous values; NaN if any is NaN. A lane takes v when v wins
// or is NaN; a NaN lane then keeps its NaN (no comparison with NaN is true), and the selects map
// onto vector compare/blend instructions.
float extreme(const float* x, int64_t n, bool is_max) {
  float m[8];
  for (int k = 0; k < 8; ++k) m[k] = x[0];
  int64_t i = 0;
  if (is_max) {
    for (; i + 8 <= n; i += 8)
      for (int k = 0; k < 8; ++k) {
        float v = x[i + k];
        m[k] = (v > m[k] || v != v) ? v : m[k];
      }
  } else {
    for (; i + 8 <= n; i += 8)
      for (int k = 0; k < 8; ++k) {
        float v = x[i + k];
        m[k] = (v < m[k] || v != v) ? v : m[k];
      }
  }
  float r = m[0];
  for (int k = 1; k < 8; ++k) r = is_max ? ((m[k] > r || m[k] != m[k]) ? m[k] : r) : ((m[k] < r || m[k] != m[k]) ? m[k] : r);
  for (; i < n; ++i) {
    float v = x[i];
    r = is_max ? ((v > r || v != v) ? v : r) : ((v < r || v != v) ? v : r);
  }
  return r;
}

// Index of the first maximum (or first NaN) of n >= 1 contiguous values: a vectorisable max pass,
// then a scan for the first element equal to it.
int64_t argmax_row(const float* x, int64_t n) {
  float m = extreme(x, n, true);
  if (m != m) {
    for (int64_t i = 0; i < n; ++i)
      if (x[i] != x[i]) return i;
  }
  for (int64_t i = 0; i < n; ++i)
    if (x[i] == m) return i;
  return 0;
}

// "a beats b" for argmax: strictly greater, or the first NaN.
inline bool beats(float a, float b) { return a > b || (a != a && b == b); }

Status check_reduce_args(const void* x, int64_t outer, int64_t axis, int64_t inner, const void* out, bool needs_axis) {
  if (outer < 0 || axis < 0 || inner < 0) return InvalidArgument("reduce: sizes must be non-negative");
  if (outer > 0 && inner > 0) {
    if (axis == 0 && needs_axis) return InvalidArgument("reduce: max, min and argmax need a non-empty axis");
    if (out == nullptr || (axis > 0 && x == nullptr)) return InvalidArgument("reduce: null pointer");
  }
  return Status::Ok();
}

// Reduces columns [j0, j0 + w) (w <= kTile) of a strided [axis, *] block into out[0, w).
void tile_reduce(ReduceOp op, const float* x, int64_t axis, int64_t ld, int64_t w, float* out) {
  if (op == ReduceOp::kSum || op == ReduceOp::kMean) {
    double acc[kTile];
    for (int64_t j = 0; j < w; ++j) acc[j] = 0;
    for (int64_t a = 0; a < axis; ++a) {
      const float* r = x + a * ld;
      for (int64_t j = 0; j < w; ++j) acc[j] += static_cast<double>(r[j]);
    }
    if (op == ReduceOp::kMean) {
      double d = static_cast<double>(axis);
      for (int64_t j = 0; j < w; ++j) out[j] = static_cast<float>(acc[j] / d);
    } else {
      for (int64_t j = 0; j < w; ++j) out[j] = static_cast<float>(acc[j]);
    }
    return;
  }
  float m[kTile];
  int bad[kTile];
  for (int64_t j = 0; j < w; ++j) {
    m[j] = x[j];
    bad[j] = 0;
  }
  for (int64_t a = 0; a < axis; ++a) {
    const float* r = x + a * ld;
    if (op == ReduceOp::kMax) {
      for (int64_t j = 0; j < w; ++j) {
        float v = r[j];
        m[j] = v > m[j] ? v : m[j];
        bad[j] |= (v != v);
      }
    } else {
      for (int64_t j = 0; j < w; ++j) {
        float v = r[j];
        m[j] = v < m[j] ? v : m[j];
        bad[j] |= (v != v);
      }
    }
  }
  for (int64_t j = 0; j < w; ++j) out[j] = bad[j] ? std::numeric_limits<float>::quiet_NaN() : m[j];
}

float row_reduce(ReduceOp op, const float* x, int64_t n) {
  switch (op) {
    case ReduceOp::kSum: return static_cast<float>(sum_d(x, n));
    case ReduceOp::kMean: return static_cast<float>(sum_d(x, n) / static_cast<double>(n));
    case ReduceOp::kMax: return extreme(x, n, true);
    case ReduceOp::kMin: return extreme(x, n, false);
  }
  return 0;
}

bool long_axis(int64_t outer, int64_t axis) { return outer < 16 && axis >= 4 * kChunkMin; }

}  // namespace

// ---- reduce ---------------------------------------------------------------------------------------
Status reduce_f32_ref(ReduceOp op, const float* x, int64_t outer, int64_t axis, int64_t inner, float* out) {
  if (static_cast<int>(op) < 0 || static_cast<int>(op) > 3) return InvalidArgument("reduce: unknown op");
  NT_RETURN_IF_ERROR(check_reduce_args(x, outer, axis, inner, out, op == ReduceOp::kMax || op == ReduceOp::kMin));
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t j = 0; j < inner; ++j) {
      const float* p = x + o * axis * inner + j;
      if (op == ReduceOp::kSum || op == ReduceOp::kMean) {
        double s = 0;
        for (int64_t a = 0; a < axis; ++a) s += static_cast<double>(p[a * inner]);
        if (op == ReduceOp::kMean) s = axis == 0 ? std::numeric_limits<double>::quiet_NaN() : s / static_cast<double>(axis);
        out[o * inner + j] = static_cast<float>(s);
      } else {
        float m = p[0];
        bool nan = false;
        for (int64_t a = 0; a < axis; ++a) {
          float v = p[a * inner];
          if (v != v) nan = true;
          if (op == ReduceOp::kMax ? v > m : v < m) m = v;
        }
        out[o * inner + j] = nan ? std::numeric_limits<float>::quiet_NaN() : m;
      }
    }
  }
  return Status::Ok();
}

Status reduce_f32(ReduceOp op, const float* x, int64_t outer, int64_t axis, int64_t inner, float* out) {
  if (static_cast<int>(op) < 0 || static_cast<int>(op) > 3) return InvalidArgument("reduce: unknown op");
  NT_RETURN_IF_ERROR(check_reduce_args(x, outer, axis, inner, out, op == ReduceOp::kMax || op == ReduceOp::kMin));
  if (outer == 0 || inner == 0) return Status::Ok();
  if (axis == 0) {  // only sum / mean get here
    float v = op == ReduceOp::kSum ? 0.0f : std::numeric_limits<float>::quiet_NaN();
    std::fill(out, out + outer * inner, v);
    return Status::Ok();
  }
  if (inner == 1) {
    if (long_axis(outer, axis)) {
      // Few long rows: split each row into fixed chunks, combine the partials in order.
      Chunks ch(axis);
      for (int64_t o = 0; o < outer; ++o) {
        const float* row = x + o * axis;
        if (op == ReduceOp::kSum || op == ReduceOp::kMean) {
          double part[kMaxChunks];
          for_chunks(ch, axis, [&](int64_t c, int64_t b, int64_t e) { part[c] = sum_d(row + b, e - b); });
          double s = 0;
          for (int64_t c = 0; c < ch.count; ++c) s += part[c];
          out[o] = static_cast<float>(op == ReduceOp::kMean ? s / static_cast<double>(axis) : s);
        } else {
          float part[kMaxChunks];
          bool is_max = op == ReduceOp::kMax;
          for_chunks(ch, axis, [&](int64_t c, int64_t b, int64_t e) { part[c] = extreme(row + b, e - b, is_max); });
          out[o] = extreme(part, ch.count, is_max);
        }
      }
      return Status::Ok();
    }
    parallel_for(tasks_for(outer * axis), [&](int ith, int nth) {
      int64_t b, e;
      partition(outer, ith, nth, 1, &b, &e);
      for (int64_t o = b; o < e; ++o) out[o] = row_reduce(op, x + o * axis, axis);
    });
    return Status::Ok();
  }
  // inner > 1: accumulate column tiles of each outer block; units = (outer block, tile).
  int64_t tiles = (inner + kTile - 1) / kTile;
  int64_t units = outer * tiles;
  parallel_for(std::min(units, tasks_for(outer * axis * inner)), [&](int ith, int nth) {
    int64_t b, e;
    partition(units, ith, nth, 1, &b, &e);
    for (int64_t u = b; u < e; ++u) {
      int64_t o = u / tiles, j0 = (u % tiles) * kTile;
      int64_t w = std::min(kTile, inner - j0);
      tile_reduce(op, x + o * axis * inner + j0, axis, inner, w, out + o * inner + j0);
    }
  });
  return Status::Ok();
}

// ---- argmax ---------------------------------------------------------------------------------------
Status argmax_f32_ref(const float* x, int64_t outer, int64_t axis, int64_t inner, int32_t* out) {
  NT_RETURN_IF_ERROR(check_reduce_args(x, outer, axis, inner, out, true));
  if (axis > std::numeric_limits<int32_t>::max()) return InvalidArgument("argmax: axis too long for int32 indices");
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t j = 0; j < inner; ++j) {
      const float* p = x + o * axis * inner + j;
      int64_t best = 0;
      for (int64_t a = 1; a < axis; ++a)
        if (beats(p[a * inner], p[best * inner])) best = a;
      out[o * inner + j] = static_cast<int32_t>(best);
    }
  return Status::Ok();
}

Status argmax_f32(const float* x, int64_t outer, int64_t axis, int64_t inner, int32_t* out) {
  NT_RETURN_IF_ERROR(check_reduce_args(x, outer, axis, inner, out, true));
  if (axis > std::numeric_limits<int32_t>::max()) return InvalidArgument("argmax: axis too long for int32 indices");
  if (outer == 0 || inner == 0) return Status::Ok();
  if (inner == 1) {
    if (long_axis(outer, axis)) {
      Chunks ch(axis);
      for (int64_t o = 0; o < outer; ++o) {
        const float* row = x + o * axis;
        int64_t part[kMaxChunks] = {};  // every chunk writes its slot; {} for the compiler
        for_chunks(ch, axis, [&](int64_t c, int64_t b, int64_t e) { part[c] = b + argmax_row(row + b, e - b); });
        int64_t best = part[0];
        for (int64_t c = 1; c < ch.count; ++c)
          if (beats(row[part[c]], row[best])) best = part[c];
        out[o] = static_cast<int32_t>(best);
      }
      return Status::Ok();
    }
    parallel_for(tasks_for(outer * axis), [&](int ith, int nth) {
      int64_t b, e;
      partition(outer, ith, nth, 1, &b, &e);
      for (int64_t o = b; o < e; ++o) out[o] = static_cast<int32_t>(argmax_row(x + o * axis, axis));
    });
    return Status::Ok();
  }
  int64_t tiles = (inner + kTile - 1) / kTile;
  int64_t units = outer * tiles;
  parallel_for(std::min(units, tasks_for(outer * axis * inner)), [&](int ith, int nth) {
    int64_t b, e;
    partition(units, ith, nth, 1, &b, &e);
    for (int64_t u = b; u < e; ++u) {
      int64_t o = u / tiles, j0 = (u % tiles) * kTile;
      int64_t w = std::min(kTile, inner - j0);
      const float* p = x + o * axis * inner + j0;
      float best[kTile];
      int32_t idx[kTile];
      for (int64_t j = 0; j < w; ++j) {
        best[j] = p[j];
        idx[j] = 0;
      }
      for (int64_t a = 1; a < axis; ++a) {
        const float* r = p + a * inner;
        for (int64_t j = 0; j < w; ++j) {
          bool take = beats(r[j], best[j]);
          best[j] = take ? r[j] : best[j];
          idx[j] = take ? static_cast<int32_t>(a) : idx[j];
        }
      }
      for (int64_t j = 0; j < w; ++j) out[o * inner + j0 + j] = idx[j];
    }
  });
  return Status::Ok();
}

// ---- sum of squares, dot ----------------------------------------------------------------------------
Status sum_squares_f32_ref(const float* x, int64_t n, double* out) {
  if (n < 0 || out == nullptr || (n > 0 && x == nullptr)) return InvalidArgument("sum_squares: bad arguments");
  double s = 0;
  for (int64_t i = 0; i < n; ++i) s += static_cast<double>(x[i]) * static_cast<double>(x[i]);
  *out = s;
  return Status::Ok();
}

Status sum_squares_f32(const float* x, int64_t n, double* out) {
  if (n < 0 || out == nullptr || (n > 0 && x == nullptr)) return InvalidArgument("sum_squares: bad arguments");
  Chunks ch(n);
  double part[kMaxChunks];
  for_chunks(ch, n, [&](int64_t c, int64_t b, int64_t e) { part[c] = sumsq_d(x + b, e - b); });
  double s = 0;
  for (int64_t c = 0; c < ch.count; ++c) s += part[c];
  *out = s;
  return Status::Ok();
}

Status dot_f32_ref(const float* x, const float* y, int64_t n, double* out) {
  if (n < 0 || out == nullptr || (n > 0 && (x == nullptr || y == nullptr))) return InvalidArgument("dot: bad arguments");
  double s = 0;
  for (int64_t i = 0; i < n; ++i) s += static_cast<double>(x[i]) * static_cast<double>(y[i]);
  *out = s;
  return Status::Ok();
}

Status dot_f32(const float* x, const float* y, int64_t n, double* out) {
  if (n < 0 || out == nullptr || (n > 0 && (x == nullptr || y == nullptr))) return InvalidArgument("dot: bad arguments");
  Chunks ch(n);
  double part[kMaxChunks];
  for_chunks(ch, n, [&](int64_t c, int64_t b, int64_t e) { part[c] = dot_d(x + b, y + b, e - b); });
  double s = 0;
  for (int64_t c = 0; c < ch.count; ++c) s += part[c];
  *out = s;
  return Status::Ok();
}

// ---- column sums ------------------------------------------------------------------------------------
namespace {
Status check_col_sum(const float* x, int64_t rows, int64_t cols, int64_t ldx, const float* out) {
  if (rows < 0 || cols < 0) return InvalidArgument("col_sum: sizes must be non-negative");
  if (ldx < cols) return InvalidArgument("col_sum: ldx must be >= cols");
  if (cols > 0 && (out == nullptr || (rows > 0 && x == nullptr))) return InvalidArgument("col_sum: null pointer");
  return Status::Ok();
}
}  // namespace

Status col_sum_f32_ref(const float* x, int64_t rows, int64_t cols, int64_t ldx, float* out, bool accumulate) {
  NT_RETURN_IF_ERROR(check_col_sum(x, rows, cols, ldx, out));
  for (int64_t j = 0; j < cols; ++j) {
    double s = 0;
    for (int64_t i = 0; i < rows; ++i) s += static_cast<double>(x[i * ldx + j]);
    out[j] = accumulate ? static_cast<float>(static_cast<double>(out[j]) + s) : static_cast<float>(s);
  }
  return Status::Ok();
}

Status col_sum_f32(const float* x, int64_t rows, int64_t cols, int64_t ldx, float* out, bool accumulate) {
  NT_RETURN_IF_ERROR(check_col_sum(x, rows, cols, ldx, out));
  if (cols == 0) return Status::Ok();
  // Narrower tiles than reduce_f32 so that typical layer widths still split across threads, and a
  // smaller grain: bias gradients run between a step's GEMMs, while the pool's workers are awake.
  // Each column is summed by one task in row order: results never depend on the thread count.
  constexpr int64_t kColTile = 64;
  constexpr int64_t kColGrain = int64_t(1) << 13;
  int64_t tiles = (cols + kColTile - 1) / kColTile;
  parallel_for(std::min(tiles, tasks_for_work(rows * cols, kColGrain)), [&](int ith, int nth) {
    int64_t b, e;
    partition(tiles, ith, nth, 1, &b, &e);
    for (int64_t t = b; t < e; ++t) {
      const int64_t j0 = t * kColTile, w = std::min(kColTile, cols - j0);
      // Blocks of 8 columns with a fixed-width accumulator (vectorised), then single columns;
      // either way each column is summed in row order.
      int64_t j = j0;
      for (; j + 8 <= j0 + w; j += 8) {
        double acc[8];
        for (int q = 0; q < 8; ++q) acc[q] = accumulate ? static_cast<double>(out[j + q]) : 0.0;
        for (int64_t i = 0; i < rows; ++i) {
          const float* r = x + i * ldx + j;
          for (int q = 0; q < 8; ++q) acc[q] += static_cast<double>(r[q]);
        }
        for (int q = 0; q < 8; ++q) out[j + q] = static_cast<float>(acc[q]);
      }
      for (; j < j0 + w; ++j) {
        double acc = accumulate ? static_cast<double>(out[j]) : 0.0;
        for (int64_t i = 0; i < rows; ++i) acc += static_cast<double>(x[i * ldx + j]);
        out[j] = static_cast<float>(acc);
      }
    }
  });
  return Status::Ok();
}

}  // namespace nt
