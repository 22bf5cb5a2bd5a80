// Fused softmax cross-entropy from logits [rows, cols], mean over rows:
//   loss_r = sum_j t_rj (lse_r - x_rj),   lse_r = m_r + log sum_j e^(x_rj - m_r)   (m_r = row max)
//   with targets t (one-hot or probabilities) or int32 labels (t = one-hot(label)).
//   grad_rj = grad_scale / rows * (p_rj * sum_j t_rj - t_rj),  p = softmax(x)
// The gradient is exact for targets that do not sum to one (sum_j t_rj multiplies p), which keeps
// it the true derivative of the loss as computed. Labels outside [0, cols) are rejected before
// anything is written. The mean is accumulated in double: per-row losses are summed within
// fixed row chunks (independent of the thread count) and the chunk partials combined in order.
// Reference: the log-sum-exp form as in PyTorch's cross_entropy / tfjs softmaxCrossEntropy.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

#include "kernels/act_detail.h"
#include "kernels/variants.h"
#include "nodetrain/backend.h"
#include "nodetrain/kernels.h"
#include "nodetrain/parallel.h"

// The per-row loops are kernels/act_loops.h's xent_rows, compiled here at the baseline level and
// by the AVX2 / AVX-512 libraries (act_detail::xent_rows_*), dispatched through the Backend table.
#define NT_ACT_NS act_base
#include "kernels/act_loops.h"
#undef NT_ACT_NS

namespace nt {
namespace {

constexpr int64_t kMaxChunks = 64;
constexpr int64_t kChunkRows = 64;
constexpr int64_t kGrain = 4096;  // logits per task: each costs an exp, so threads pay off early

Status check_xent(const float* logits, const float* targets, const int32_t* labels, int64_t rows, int64_t cols,
                  const double* loss) {
  if (rows < 0 || cols < 0) return InvalidArgument("softmax_xent: sizes must be non-negative");
  if (loss == nullptr) return InvalidArgument("softmax_xent: null loss pointer");
  if ((targets == nullptr) == (labels == nullptr))
    return InvalidArgument("softmax_xent: pass exactly one of targets and labels");
  if (rows > 0 && cols == 0) return InvalidArgument("softmax_xent: cols must be positive");
  if (rows > 0 && logits == nullptr) return InvalidArgument("softmax_xent: null logits");
  if (labels != nullptr) {
    for (int64_t r = 0; r < rows; ++r)
      if (labels[r] < 0 || labels[r] >= cols)
        return InvalidArgument("softmax_xent: label " + std::to_string(labels[r]) + " at row " + std::to_string(r) +
                               " is outside [0, " + std::to_string(cols) + ")");
  }
  return Status::Ok();
}

}  // namespace

Status softmax_xent_f32_ref(const float* logits, const float* targets, const int32_t* labels, int64_t rows,
                            int64_t cols, double* loss, float* grad, float grad_scale) {
  NT_RETURN_IF_ERROR(check_xent(logits, targets, labels, rows, cols, loss));
  if (rows == 0) {
    *loss = std::numeric_limits<double>::quiet_NaN();  // mean over no rows
    return Status::Ok();
  }
  const double inv_rows = 1.0 / static_cast<double>(rows);
  double total = 0;
  for (int64_t r = 0; r < rows; ++r) {
    const float* x = logits + r * cols;
    double m = x[0];
    for (int64_t j = 1; j < cols; ++j) m = std::max(m, static_cast<double>(x[j]));
    double s = 0;
    for (int64_t j = 0; j < cols; ++j) s += std::exp(static_cast<double>(x[j]) - m);
    double lse = m + std::log(s);
    double tsum = 0, l = 0;
    for (int64_t j = 0; j < cols; ++j) {
      double tj = targets != nullptr ? targets[r * cols + j] : (j == labels[r] ? 1.0 : 0.0);
      l += tj * (lse - static_cast<double>(x[j]));
      tsum += tj;
    }
    total += l;
    if (grad != nullptr) {
      for (int64_t j = 0; j < cols; ++j) {
        double tj = targets != nullptr ? targets[r * cols + j] : (j == labels[r] ? 1.0 : 0.0);
        double p = std::exp(static_cast<double>(x[j]) - m) / s;
        grad[r * cols + j] = static_cast<float>(static_cast<double>(grad_scale) * inv_rows * (p * tsum - tj));
      }
    }
  }
  *loss = total * inv_rows;
  return Status::Ok();
}

namespace {
using XentRowsFn = double (*)(const float* logits, const float* targets, const int32_t* labels, int64_t r0, int64_t r1,
                              int64_t cols, float* grad, float gscale);

Status softmax_xent_impl(XentRowsFn xent_rows, const float* logits, const float* targets, const int32_t* labels,
                         int64_t rows, int64_t cols, double* loss, float* grad, float grad_scale) {
  NT_RETURN_IF_ERROR(check_xent(logits, targets, labels, rows, cols, loss));
  if (rows == 0) {
    *loss = std::numeric_limits<double>::quiet_NaN();
    return Status::Ok();
  }
  const float gscale = static_cast<float>(static_cast<double>(grad_scale) / static_cast<double>(rows));
  // Fixed row chunks: at least kChunkRows rows each, at most kMaxChunks of them.
  int64_t want = std::min<int64_t>(kMaxChunks, std::max<int64_t>(1, rows / kChunkRows));
  int64_t per = (rows + want - 1) / want;
  int64_t nchunks = (rows + per - 1) / per;
  double part[kMaxChunks];
  // One chunk (a batch under kChunkRows * 2 rows): the calling thread, no pool.
  if (nchunks == 1) {
    *loss = xent_rows(logits, targets, labels, 0, rows, cols, grad, gscale) / static_cast<double>(rows);
    return Status::Ok();
  }
  parallel_for(std::min<int64_t>(nchunks, tasks_for_work(rows * cols, kGrain)), [&](int ith, int nth) {
    int64_t cb, ce;
    partition(nchunks, ith, nth, 1, &cb, &ce);
    for (int64_t c = cb; c < ce; ++c)
      part[c] = xent_rows(logits, targets, labels, c * per, std::min(rows, (c + 1) * per), cols, grad, gscale);
  });
  double total = 0;
  for (int64_t c = 0; c < nchunks; ++c) total += part[c];
  *loss = total / static_cast<double>(rows);
  return Status::Ok();
}

}  // namespace

Status softmax_xent_f32_portable(const float* logits, const float* targets, const int32_t* labels, int64_t rows,
                                 int64_t cols, double* loss, float* grad, float grad_scale) {
  return softmax_xent_impl(act_base::xent_rows, logits, targets, labels, rows, cols, loss, grad, grad_scale);
}
#if defined(NT_HAVE_AVX2_KERNELS)
Status softmax_xent_f32_avx2(const float* logits, const float* targets, const int32_t* labels, int64_t rows,
                             int64_t cols, double* loss, float* grad, float grad_scale) {
  return softmax_xent_impl(act_detail::xent_rows_avx2, logits, targets, labels, rows, cols, loss, grad, grad_scale);
}
#endif
#if defined(NT_HAVE_AVX512_KERNELS)
Status softmax_xent_f32_avx512(const float* logits, const float* targets, const int32_t* labels, int64_t rows,
                               int64_t cols, double* loss, float* grad, float grad_scale) {
  return softmax_xent_impl(act_detail::xent_rows_avx512, logits, targets, labels, rows, cols, loss, grad, grad_scale);
}
#endif
Status softmax_xent_f32(const float* logits, const float* targets, const int32_t* labels, int64_t rows, int64_t cols,
                        double* loss, float* grad, float grad_scale) {
  return cpu_backend().softmax_xent(logits, targets, labels, rows, cols, loss, grad, grad_scale);
}

}  // namespace nt
