// Normalisation kernels over row-major [rows, cols] activations.
//   layer norm (Ba, Kiros & Hinton 2016, "Layer Normalization"): statistics per row;
//   batch norm (Ioffe & Szegedy 2015, "Batch Normalization"): statistics per column, with Keras'
//   moving-statistics convention moving = momentum * moving + (1 - momentum) * batch.
// Sums run in double (means, variances, the two backward reductions), elementwise maths in float,
// the same arithmetic the engine used before these kernels existed, so training is bit-identical.
// Threads: above kGrain elements per task, rows split across the pool for per-row work (layer
// norm, applying batch statistics, the input gradient) and 64-column tiles for the per-column sums
// (batch statistics, dgamma / dbeta). Each column's sum still runs over rows in order, so every
// result is bit-identical for any thread count; small layers stay on the calling thread.
// Each kernel has a scalar _ref twin computed entirely in double and rounded once, which the
// tests in test/kernels/norm.test.ts compare with a float64 reference on awkward shapes.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "nodetrain/backend.h"
#include "nodetrain/kernels.h"
#include "nodetrain/parallel.h"

namespace nt {
namespace {

constexpr int64_t kGrain = int64_t(1) << 14;  // elements per task (see elementwise.cc's kGrainLayer)
constexpr int64_t kColTile = 64;

// body(r0, r1) over row ranges.
template <class Body>
void rows_parallel(int64_t rows, int64_t w, Body&& body) {
  parallel_for(std::min<int64_t>(rows, tasks_for_work(rows * w, kGrain)), [&](int ith, int nth) {
    int64_t b, e;
    partition(rows, ith, nth, 1, &b, &e);
    if (b < e) body(b, e);
  });
}

// body(j0, j1) over 64-column tiles.
template <class Body>
void cols_parallel(int64_t rows, int64_t w, Body&& body) {
  const int64_t tiles = (w + kColTile - 1) / kColTile;
  parallel_for(std::min<int64_t>(tiles, tasks_for_work(rows * w, kGrain)), [&](int ith, int nth) {
    int64_t b, e;
    partition(w, ith, nth, kColTile, &b, &e);
    if (b < e) body(b, e);
  });
}

Status check_shape(const char* who, int64_t rows, int64_t cols, const void* x, const void* y) {
  if (rows < 0 || cols < 0)
    return InvalidArgument(std::string("Expected sizes >= 0 for ") + who + " but received rows " +
                           std::to_string(rows) + ", cols " + std::to_string(cols));
  if (rows > 0 && cols > 0 && (x == nullptr || y == nullptr))
    return InvalidArgument(std::string("Expected non-null buffers for ") + who + " but received null");
  return Status::Ok();
}

}  // namespace

// ---- layer norm ---------------------------------------------------------------------------------
Status layer_norm_forward_f32(const float* x, int64_t rows, int64_t w, const float* gamma, const float* beta,
                              float eps, float* stats, float* y) {
  NT_RETURN_IF_ERROR(check_shape("layer_norm_forward_f32", rows, w, x, y));
  if (w == 0) return Status::Ok();
  rows_parallel(rows, w, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* xr = x + r * w;
      double mean = 0, var = 0;
      for (int64_t j = 0; j < w; ++j) mean += xr[j];
      mean /= static_cast<double>(w);
      for (int64_t j = 0; j < w; ++j) var += (xr[j] - mean) * (xr[j] - mean);
      var /= static_cast<double>(w);
      const float rstd = static_cast<float>(1.0 / std::sqrt(var + eps));
      const float mu = static_cast<float>(mean);
      stats[2 * r] = mu;
      stats[2 * r + 1] = rstd;
      float* yr = y + r * w;
      for (int64_t j = 0; j < w; ++j) {
        float v = (xr[j] - mu) * rstd;
        if (gamma) v *= gamma[j];
        if (beta) v += beta[j];
        yr[j] = v;
      }
    }
  });
  return Status::Ok();
}

Status layer_norm_forward_f32_ref(const float* x, int64_t rows, int64_t w, const float* gamma, const float* beta,
                                  float eps, float* stats, float* y) {
  NT_RETURN_IF_ERROR(check_shape("layer_norm_forward_f32_ref", rows, w, x, y));
  for (int64_t r = 0; r < rows && w > 0; ++r) {
    double mean = 0, var = 0;
    for (int64_t j = 0; j < w; ++j) mean += x[r * w + j];
    mean /= static_cast<double>(w);
    for (int64_t j = 0; j < w; ++j) var += (x[r * w + j] - mean) * (x[r * w + j] - mean);
    var /= static_cast<double>(w);
    const double rstd = 1.0 / std::sqrt(var + static_cast<double>(eps));
    stats[2 * r] = static_cast<float>(mean);
    stats[2 * r + 1] = static_cast<float>(rstd);
    for (int64_t j = 0; j < w; ++j) {
      double v = (x[r * w + j] - mean) * rstd;
      if (gamma) v *= gamma[j];
      if (beta) v += beta[j];
      y[r * w + j] = static_cast<float>(v);
    }
  }
  return Status::Ok();
}

Status layer_norm_backward_f32(const float* x, const float* st, const float* dy, int64_t rows, int64_t w,
                               const float* gamma, float* dgamma, float* dbeta, float* dst) {
  NT_RETURN_IF_ERROR(check_shape("layer_norm_backward_f32", rows, w, x, dy));
  if (dgamma) std::memset(dgamma, 0, static_cast<size_t>(w) * sizeof(float));
  if (dbeta) std::memset(dbeta, 0, static_cast<size_t>(w) * sizeof(float));
  if (w == 0) return Status::Ok();
  // dgamma / dbeta: per column over rows in order (column tiles); dst: per row.
  if (dgamma || dbeta) {
    cols_parallel(rows, w, [&](int64_t j0, int64_t j1) {
      for (int64_t r = 0; r < rows; ++r) {
        const float mu = st[2 * r], rstd = st[2 * r + 1];
        const float* xr = x + r * w;
        const float* dyr = dy + r * w;
        for (int64_t j = j0; j < j1; ++j) {
          const float xh = (xr[j] - mu) * rstd;
          if (dgamma) dgamma[j] += dyr[j] * xh;
          if (dbeta) dbeta[j] += dyr[j];
        }
      }
    });
  }
  if (!dst) return Status::Ok();
  rows_parallel(rows, w, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float mu = st[2 * r], rstd = st[2 * r + 1];
      const float* xr = x + r * w;
      const float* dyr = dy + r * w;
      double s1 = 0, s2 = 0;
      for (int64_t j = 0; j < w; ++j) {
        const float xh = (xr[j] - mu) * rstd;
        const float dxh = dyr[j] * (gamma ? gamma[j] : 1.0f);
        s1 += dxh;
        s2 += static_cast<double>(dxh) * xh;
      }
      const float m1 = static_cast<float>(s1 / static_cast<double>(w));
      const float m2 = static_cast<float>(s2 / static_cast<double>(w));
      float* dr = dst + r * w;
      for (int64_t j = 0; j < w; ++j) {
        const float xh = (xr[j] - mu) * rstd;
        const float dxh = dyr[j] * (gamma ? gamma[j] : 1.0f);
        dr[j] = rstd * (dxh - m1 - xh * m2);
      }
    }
  });
  return Status::Ok();
}

Status layer_norm_backward_f32_ref(const float* x, const float* st, const float* dy, int64_t rows, int64_t w,
                                   const float* gamma, float* dgamma, float* dbeta, float* dx) {
  NT_RETURN_IF_ERROR(check_shape("layer_norm_backward_f32_ref", rows, w, x, dy));
  for (int64_t j = 0; j < w; ++j) {
    double sg = 0, sb = 0;
    for (int64_t r = 0; r < rows; ++r) {
      const double xh = (x[r * w + j] - static_cast<double>(st[2 * r])) * st[2 * r + 1];
      sg += dy[r * w + j] * xh;
      sb += dy[r * w + j];
    }
    if (dgamma) dgamma[j] = static_cast<float>(sg);
    if (dbeta) dbeta[j] = static_cast<float>(sb);
  }
  if (!dx) return Status::Ok();
  for (int64_t r = 0; r < rows && w > 0; ++r) {
    const double mu = st[2 * r], rstd = st[2 * r + 1];
    double s1 = 0, s2 = 0;
    for (int64_t j = 0; j < w; ++j) {
      const double xh = (x[r * w + j] - mu) * rstd;
      const double dxh = dy[r * w + j] * (gamma ? static_cast<double>(gamma[j]) : 1.0);
      s1 += dxh;
      s2 += dxh * xh;
    }
    s1 /= static_cast<double>(w);
    s2 /= static_cast<double>(w);
    for (int64_t j = 0; j < w; ++j) {
      const double xh = (x[r * w + j] - mu) * rstd;
      const double dxh = dy[r * w + j] * (gamma ? static_cast<double>(gamma[j]) : 1.0);
      dx[r * w + j] = static_cast<float>(rstd * (dxh - s1 - xh * s2));
    }
  }
  return Status::Ok();
}

// ---- batch norm ---------------------------------------------------------------------------------
Status batch_norm_batch_stats_f32(const float* in, int64_t rows, int64_t w, float eps, double* acc, float* mean_b,
                                  float* rstd_b, float* var_b) {
  NT_RETURN_IF_ERROR(check_shape("batch_norm_batch_stats_f32", rows, w, in, mean_b));
  if (rows < 1) return InvalidArgument("Expected rows >= 1 for batch_norm_batch_stats_f32 but received 0");
  cols_parallel(rows, w, [&](int64_t j0, int64_t j1) {
    for (int64_t j = j0; j < j1; ++j) acc[j] = acc[w + j] = 0.0;
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t j = j0; j < j1; ++j) acc[j] += in[r * w + j];
    for (int64_t j = j0; j < j1; ++j) acc[j] /= static_cast<double>(rows);
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t j = j0; j < j1; ++j) {
        const double d = in[r * w + j] - acc[j];
        acc[w + j] += d * d;
      }
    for (int64_t j = j0; j < j1; ++j) {
      const double var = acc[w + j] / static_cast<double>(rows);
      mean_b[j] = static_cast<float>(acc[j]);
      rstd_b[j] = static_cast<float>(1.0 / std::sqrt(var + eps));
      var_b[j] = static_cast<float>(var);
    }
  });
  return Status::Ok();
}

Status batch_norm_batch_stats_f32_ref(const float* x, int64_t rows, int64_t w, float eps, double* work, float* mean,
                                      float* rstd, float* var) {
  NT_RETURN_IF_ERROR(check_shape("batch_norm_batch_stats_f32_ref", rows, w, x, mean));
  if (rows < 1) return InvalidArgument("Expected rows >= 1 for batch_norm_batch_stats_f32_ref but received 0");
  for (int64_t j = 0; j < w; ++j) {
    double m = 0, v = 0;
    for (int64_t r = 0; r < rows; ++r) m += x[r * w + j];
    m /= static_cast<double>(rows);
    for (int64_t r = 0; r < rows; ++r) v += (x[r * w + j] - m) * (x[r * w + j] - m);
    v /= static_cast<double>(rows);
    mean[j] = static_cast<float>(m);
    rstd[j] = static_cast<float>(1.0 / std::sqrt(v + static_cast<double>(eps)));
    var[j] = static_cast<float>(v);
  }
  return Status::Ok();
}

Status batch_norm_moving_stats_f32(const float* mm, const float* mv, int64_t w, float eps, float* mean_b,
                                   float* rstd_b) {
  NT_RETURN_IF_ERROR(check_shape("batch_norm_moving_stats_f32", 1, w, mm, mean_b));
  for (int64_t j = 0; j < w; ++j) {
    mean_b[j] = mm[j];
    rstd_b[j] = 1.0f / std::sqrt(mv[j] + eps);
  }
  return Status::Ok();
}

Status batch_norm_moving_stats_f32_ref(const float* mm, const float* mv, int64_t w, float eps, float* mean,
                                       float* rstd) {
  NT_RETURN_IF_ERROR(check_shape("batch_norm_moving_stats_f32_ref", 1, w, mm, mean));
  for (int64_t j = 0; j < w; ++j) {
    mean[j] = mm[j];
    rstd[j] = static_cast<float>(1.0 / std::sqrt(static_cast<double>(mv[j]) + static_cast<double>(eps)));
  }
  return Status::Ok();
}

Status batch_norm_apply_f32(const float* in, int64_t rows, int64_t w, const float* mean_b, const float* rstd_b,
                            const float* gamma, const float* beta, float* y) {
  NT_RETURN_IF_ERROR(check_shape("batch_norm_apply_f32", rows, w, in, y));
  rows_parallel(rows, w, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r)
      for (int64_t j = 0; j < w; ++j) {
        float v = (in[r * w + j] - mean_b[j]) * rstd_b[j];
        if (gamma) v *= gamma[j];
        if (beta) v += beta[j];
        y[r * w + j] = v;
      }
  });
  return Status::Ok();
}

Status batch_norm_apply_f32_ref(const float* x, int64_t rows, int64_t w, const float* mean, const float* rstd,
                                const float* gamma, const float* beta, float* y) {
  NT_RETURN_IF_ERROR(check_shape("batch_norm_apply_f32_ref", rows, w, x, y));
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < w; ++j) {
      double v = (static_cast<double>(x[r * w + j]) - mean[j]) * rstd[j];
      if (gamma) v *= gamma[j];
      if (beta) v += beta[j];
      y[r * w + j] = static_cast<float>(v);
    }
  return Status::Ok();
}

Status batch_norm_backward_f32(const float* x, const float* dy, int64_t rows, int64_t w, const float* mean_b,
                               const float* rstd_b, const float* gamma, double* acc, float* dgamma, float* dbeta,
                               float* dst) {
  NT_RETURN_IF_ERROR(check_shape("batch_norm_backward_f32", rows, w, x, dy));
  if (rows < 1) return InvalidArgument("Expected rows >= 1 for batch_norm_backward_f32 but received 0");
  cols_parallel(rows, w, [&](int64_t j0, int64_t j1) {
    for (int64_t j = j0; j < j1; ++j) acc[j] = acc[w + j] = 0.0;  // sum(dy), sum(dy * xhat)
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t j = j0; j < j1; ++j) {
        const float xh = (x[r * w + j] - mean_b[j]) * rstd_b[j];
        acc[j] += dy[r * w + j];
        acc[w + j] += static_cast<double>(dy[r * w + j]) * xh;
      }
    if (dgamma)
      for (int64_t j = j0; j < j1; ++j) dgamma[j] = static_cast<float>(acc[w + j]);
    if (dbeta)
      for (int64_t j = j0; j < j1; ++j) dbeta[j] = static_cast<float>(acc[j]);
  });
  if (!dst) return Status::Ok();
  const double inv_n = 1.0 / static_cast<double>(rows);
  rows_parallel(rows, w, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r)
      for (int64_t j = 0; j < w; ++j) {
        const float g = gamma ? gamma[j] : 1.0f;
        const float xh = (x[r * w + j] - mean_b[j]) * rstd_b[j];
        // dx = gamma * rstd * (dy - mean(dy) - xhat * mean(dy * xhat))
        dst[r * w + j] = g * rstd_b[j] * static_cast<float>(dy[r * w + j] - acc[j] * inv_n - xh * acc[w + j] * inv_n);
      }
  });
  return Status::Ok();
}

Status batch_norm_backward_f32_ref(const float* x, const float* dy, int64_t rows, int64_t w, const float* mean,
                                   const float* rstd, const float* gamma, double* work, float* dgamma, float* dbeta,
                                   float* dx) {
  NT_RETURN_IF_ERROR(check_shape("batch_norm_backward_f32_ref", rows, w, x, dy));
  if (rows < 1) return InvalidArgument("Expected rows >= 1 for batch_norm_backward_f32_ref but received 0");
  for (int64_t j = 0; j < w; ++j) {
    double sd = 0, sdx = 0;
    for (int64_t r = 0; r < rows; ++r) {
      const double xh = (static_cast<double>(x[r * w + j]) - mean[j]) * rstd[j];
      sd += dy[r * w + j];
      sdx += dy[r * w + j] * xh;
    }
    if (dgamma) dgamma[j] = static_cast<float>(sdx);
    if (dbeta) dbeta[j] = static_cast<float>(sd);
    if (!dx) continue;
    const double g = gamma ? static_cast<double>(gamma[j]) : 1.0;
    for (int64_t r = 0; r < rows; ++r) {
      const double xh = (static_cast<double>(x[r * w + j]) - mean[j]) * rstd[j];
      dx[r * w + j] = static_cast<float>(g * rstd[j] * (dy[r * w + j] - sd / rows - xh * sdx / rows));
    }
  }
  return Status::Ok();
}

Status batch_norm_frozen_backward_f32(const float* dy, int64_t rows, int64_t w, const float* rstd_b,
                                      const float* gamma, float* dst) {
  NT_RETURN_IF_ERROR(check_shape("batch_norm_frozen_backward_f32", rows, w, dy, dst));
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < w; ++j) dst[r * w + j] = (gamma ? gamma[j] : 1.0f) * rstd_b[j] * dy[r * w + j];
  return Status::Ok();
}

Status batch_norm_frozen_backward_f32_ref(const float* dy, int64_t rows, int64_t w, const float* rstd,
                                          const float* gamma, float* dx) {
  NT_RETURN_IF_ERROR(check_shape("batch_norm_frozen_backward_f32_ref", rows, w, dy, dx));
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < w; ++j)
      dx[r * w + j] =
          static_cast<float>((gamma ? static_cast<double>(gamma[j]) : 1.0) * rstd[j] * static_cast<double>(dy[r * w + j]));
  return Status::Ok();
}

Status batch_norm_update_moving_f32(const float* mean_b, const float* var_b, int64_t w, float mom, float* mm,
                                    float* mv) {
  NT_RETURN_IF_ERROR(check_shape("batch_norm_update_moving_f32", 1, w, mean_b, mm));
  for (int64_t j = 0; j < w; ++j) {
    mm[j] = mom * mm[j] + (1.0f - mom) * mean_b[j];
    mv[j] = mom * mv[j] + (1.0f - mom) * var_b[j];
  }
  return Status::Ok();
}

Status batch_norm_update_moving_f32_ref(const float* mean, const float* var, int64_t w, float mom, float* mm,
                                        float* mv) {
  NT_RETURN_IF_ERROR(check_shape("batch_norm_update_moving_f32_ref", 1, w, mean, mm));
  const double m = mom;
  for (int64_t j = 0; j < w; ++j) {
    mm[j] = static_cast<float>(m * mm[j] + (1.0 - m) * mean[j]);
    mv[j] = static_cast<float>(m * mv[j] + (1.0 - m) * var[j]);
  }
  return Status::Ok();
}

// ---- generic entries for the binding's kernelCall (tests) ---------------------------------------
// Buffer extents are checked here, since the generic entry knows nothing of these shapes.
namespace {

Status need(const KernelArgs& a, int nbuf, int ni, int nf) {
  if (a.nbuf < nbuf || a.ni < ni || a.nf < nf)
    return InvalidArgument("Expected " + std::to_string(nbuf) + " buffers, " + std::to_string(ni) + " integers and " +
                           std::to_string(nf) + " numbers for this kernel but received " + std::to_string(a.nbuf) +
                           ", " + std::to_string(a.ni) + " and " + std::to_string(a.nf));
  return Status::Ok();
}
Status extent(const KernelArgs& a, int b, int64_t n, bool optional = false) {
  if (optional && a.buf[b] == nullptr) return Status::Ok();
  if (a.buf[b] == nullptr || a.len[b] < n)
    return InvalidArgument("Expected at least " + std::to_string(n) + " elements for buffer " + std::to_string(b) +
                           " but received " + std::to_string(a.buf[b] ? a.len[b] : 0));
  return Status::Ok();
}

// layer_norm_forward: buf x, gamma?, beta?, stats, y; i rows, cols; f eps
template <bool kRef>
Status ln_fwd(const KernelArgs& a) {
  NT_RETURN_IF_ERROR(need(a, 5, 2, 1));
  const int64_t r = a.i[0], c = a.i[1];
  if (r < 0 || c < 0) return InvalidArgument("Expected sizes >= 0 for layer_norm_forward");
  NT_RETURN_IF_ERROR(extent(a, 0, r * c));
  NT_RETURN_IF_ERROR(extent(a, 1, c, true));
  NT_RETURN_IF_ERROR(extent(a, 2, c, true));
  NT_RETURN_IF_ERROR(extent(a, 3, 2 * r));
  NT_RETURN_IF_ERROR(extent(a, 4, r * c));
  auto f = kRef ? layer_norm_forward_f32_ref : layer_norm_forward_f32;
  return f(a.buf[0], r, c, a.buf[1], a.buf[2], static_cast<float>(a.f[0]), a.buf[3], a.buf[4]);
}
// layer_norm_backward: buf x, stats, dy, gamma?, dgamma?, dbeta?, dx?; i rows, cols
template <bool kRef>
Status ln_bwd(const KernelArgs& a) {
  NT_RETURN_IF_ERROR(need(a, 7, 2, 0));
  const int64_t r = a.i[0], c = a.i[1];
  if (r < 0 || c < 0) return InvalidArgument("Expected sizes >= 0 for layer_norm_backward");
  NT_RETURN_IF_ERROR(extent(a, 0, r * c));
  NT_RETURN_IF_ERROR(extent(a, 1, 2 * r));
  NT_RETURN_IF_ERROR(extent(a, 2, r * c));
  for (int b = 3; b < 6; ++b) NT_RETURN_IF_ERROR(extent(a, b, c, true));
  NT_RETURN_IF_ERROR(extent(a, 6, r * c, true));
  auto f = kRef ? layer_norm_backward_f32_ref : layer_norm_backward_f32;
  return f(a.buf[0], a.buf[1], a.buf[2], r, c, a.buf[3], a.buf[4], a.buf[5], a.buf[6]);
}
// batch_norm_forward (training statistics, then apply): buf x, gamma?, beta?, mean, rstd, var, y;
// i rows, cols; f eps
template <bool kRef>
Status bn_fwd(const KernelArgs& a) {
  NT_RETURN_IF_ERROR(need(a, 7, 2, 1));
  const int64_t r = a.i[0], c = a.i[1];
  if (r < 1 || c < 0) return InvalidArgument("Expected rows >= 1 and cols >= 0 for batch_norm_forward");
  NT_RETURN_IF_ERROR(extent(a, 0, r * c));
  NT_RETURN_IF_ERROR(extent(a, 1, c, true));
  NT_RETURN_IF_ERROR(extent(a, 2, c, true));
  for (int b = 3; b < 6; ++b) NT_RETURN_IF_ERROR(extent(a, b, c));
  NT_RETURN_IF_ERROR(extent(a, 6, r * c));
  std::string work_bytes;
  work_bytes.resize(static_cast<size_t>(2 * c) * sizeof(double));
  double* work = reinterpret_cast<double*>(&work_bytes[0]);
  auto stats = kRef ? batch_norm_batch_stats_f32_ref : batch_norm_batch_stats_f32;
  auto apply = kRef ? batch_norm_apply_f32_ref : batch_norm_apply_f32;
  NT_RETURN_IF_ERROR(stats(a.buf[0], r, c, static_cast<float>(a.f[0]), work, a.buf[3], a.buf[4], a.buf[5]));
  return apply(a.buf[0], r, c, a.buf[3], a.buf[4], a.buf[1], a.buf[2], a.buf[6]);
}
// batch_norm_inference: buf x, gamma?, beta?, moving_mean, moving_var, mean, rstd, y; i rows, cols; f eps
template <bool kRef>
Status bn_inf(const KernelArgs& a) {
  NT_RETURN_IF_ERROR(need(a, 8, 2, 1));
  const int64_t r = a.i[0], c = a.i[1];
  if (r < 0 || c < 0) return InvalidArgument("Expected sizes >= 0 for batch_norm_inference");
  NT_RETURN_IF_ERROR(extent(a, 0, r * c));
  NT_RETURN_IF_ERROR(extent(a, 1, c, true));
  NT_RETURN_IF_ERROR(extent(a, 2, c, true));
  for (int b = 3; b < 7; ++b) NT_RETURN_IF_ERROR(extent(a, b, c));
  NT_RETURN_IF_ERROR(extent(a, 7, r * c));
  auto stats = kRef ? batch_norm_moving_stats_f32_ref : batch_norm_moving_stats_f32;
  auto apply = kRef ? batch_norm_apply_f32_ref : batch_norm_apply_f32;
  NT_RETURN_IF_ERROR(stats(a.buf[3], a.buf[4], c, static_cast<float>(a.f[0]), a.buf[5], a.buf[6]));
  return apply(a.buf[0], r, c, a.buf[5], a.buf[6], a.buf[1], a.buf[2], a.buf[7]);
}
// batch_norm_backward: buf x, dy, mean, rstd, gamma?, dgamma?, dbeta?, dx?; i rows, cols, frozen
template <bool kRef>
Status bn_bwd(const KernelArgs& a) {
  NT_RETURN_IF_ERROR(need(a, 8, 3, 0));
  const int64_t r = a.i[0], c = a.i[1];
  if (r < 1 || c < 0) return InvalidArgument("Expected rows >= 1 and cols >= 0 for batch_norm_backward");
  NT_RETURN_IF_ERROR(extent(a, 0, r * c));
  NT_RETURN_IF_ERROR(extent(a, 1, r * c));
  NT_RETURN_IF_ERROR(extent(a, 2, c));
  NT_RETURN_IF_ERROR(extent(a, 3, c));
  for (int b = 4; b < 7; ++b) NT_RETURN_IF_ERROR(extent(a, b, c, true));
  NT_RETURN_IF_ERROR(extent(a, 7, r * c, a.i[2] == 0));
  if (a.i[2] != 0) {
    auto f = kRef ? batch_norm_frozen_backward_f32_ref : batch_norm_frozen_backward_f32;
    return f(a.buf[1], r, c, a.buf[3], a.buf[4], a.buf[7]);
  }
  std::string work_bytes;
  work_bytes.resize(static_cast<size_t>(2 * c) * sizeof(double));
  double* work = reinterpret_cast<double*>(&work_bytes[0]);
  auto f = kRef ? batch_norm_backward_f32_ref : batch_norm_backward_f32;
  return f(a.buf[0], a.buf[1], r, c, a.buf[2], a.buf[3], a.buf[4], work, a.buf[5], a.buf[6], a.buf[7]);
}
// batch_norm_update_moving: buf mean, var, moving_mean, moving_var; i cols; f momentum
template <bool kRef>
Status bn_mov(const KernelArgs& a) {
  NT_RETURN_IF_ERROR(need(a, 4, 1, 1));
  const int64_t c = a.i[0];
  if (c < 0) return InvalidArgument("Expected cols >= 0 for batch_norm_update_moving");
  for (int b = 0; b < 4; ++b) NT_RETURN_IF_ERROR(extent(a, b, c));
  auto f = kRef ? batch_norm_update_moving_f32_ref : batch_norm_update_moving_f32;
  return f(a.buf[0], a.buf[1], c, static_cast<float>(a.f[0]), a.buf[2], a.buf[3]);
}

}  // namespace

NT_REGISTER_KERNEL(KernelVariants{"layer_norm_forward_f32", ln_fwd<false>, ln_fwd<true>});
NT_REGISTER_KERNEL(KernelVariants{"layer_norm_backward_f32", ln_bwd<false>, ln_bwd<true>});
NT_REGISTER_KERNEL(KernelVariants{"batch_norm_forward_f32", bn_fwd<false>, bn_fwd<true>});
NT_REGISTER_KERNEL(KernelVariants{"batch_norm_inference_f32", bn_inf<false>, bn_inf<true>});
NT_REGISTER_KERNEL(KernelVariants{"batch_norm_backward_f32", bn_bwd<false>, bn_bwd<true>});
NT_REGISTER_KERNEL(KernelVariants{"batch_norm_update_moving_f32", bn_mov<false>, bn_mov<true>});

}  // namespace nt
