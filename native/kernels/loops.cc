// The engine's loops over buffer contents as CPU kernels (nodetrain/loops.h): the loss of a batch
// and its gradient, one metric's batch sums, the row gather of a shuffled batch, the
// hypergradient direction and the dropout draws. Shapes: [rows, k] row-major. Losses and metrics
// are Keras's (tf.keras.losses / tf.keras.metrics); sums accumulate in double in row order, so
// results are bit-identical to the loops the engine ran before they became Backend slots.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "engine/rng.h"
#include "kernels/philox_fill.h"
#include "nodetrain/backend.h"
#include "nodetrain/loops.h"
#include "nodetrain/parallel.h"

namespace nt {
namespace {

inline float sigmoidf(float z) { return 1.0f / (1.0f + std::exp(-z)); }

constexpr float kProbEps = 1e-7f;  // Keras' epsilon for probability clipping

int64_t argmax_row(const float* p, int64_t k) {
  int64_t best = 0;
  for (int64_t j = 1; j < k; ++j)
    if (p[j] > p[best]) best = j;
  return best;
}

Status bad_label(int64_t r, int64_t k, int32_t c) {
  return InvalidArgument("Expected a class label in [0, " + std::to_string(k) + ") for row " + std::to_string(r) +
                         " but received " + std::to_string(c));
}

// The loss with per-row weights: sum_r w_r * loss_r / rows, each row's gradient scaled by its
// weight. A separate path so that unweighted training keeps its exact arithmetic.
Status weighted_loss(const LossArgs& a, double* out) {
  const int64_t rows = a.rows, k = a.k;
  const float* p = a.p;
  const float* y = a.y;
  const int32_t* labels = a.labels;
  const float* w = a.weights;
  float* g = a.grad;
  const LossKind kind = a.kind;
  const double inv_cnt = 1.0 / static_cast<double>(rows * k);
  const float ginv = static_cast<float>(inv_cnt);
  const float rinv = 1.0f / static_cast<float>(rows);
  const float d = a.huber_delta;
  double loss = 0.0;
  for (int64_t r = 0; r < rows; ++r) {
    const float wr = w[r];
    if (!(wr >= 0.0f) || !std::isfinite(wr))
      return InvalidArgument("Expected finite sample weights >= 0 but received " + std::to_string(wr) + " for row " +
                             std::to_string(r));
    double lr = 0.0;
    const float* pr = p + r * k;
    float* gr = g ? g + r * k : nullptr;
    switch (kind) {
      case LossKind::kMse:
      case LossKind::kMae:
      case LossKind::kHuber:
      case LossKind::kBce:
      case LossKind::kBceLogits:
        for (int64_t j = 0; j < k; ++j) {
          const float yt = y[r * k + j];
          float gv = 0.0f;
          if (kind == LossKind::kMse) {
            const float e = pr[j] - yt;
            lr += static_cast<double>(e) * e;
            gv = 2.0f * e;
          } else if (kind == LossKind::kMae) {
            const float e = pr[j] - yt;
            lr += std::fabs(e);
            gv = e > 0 ? 1.0f : (e < 0 ? -1.0f : 0.0f);
          } else if (kind == LossKind::kHuber) {
            const float e = pr[j] - yt, ae = std::fabs(e);
            lr += ae <= d ? 0.5 * static_cast<double>(e) * e : static_cast<double>(d) * (ae - 0.5 * d);
            gv = ae <= d ? e : (e > 0 ? d : -d);
          } else if (kind == LossKind::kBce) {
            const float q = std::min(std::max(pr[j], kProbEps), 1.0f - kProbEps);
            lr -= yt * std::log(static_cast<double>(q)) + (1.0 - yt) * std::log(1.0 - q);
            gv = (q - yt) / (q * (1.0f - q));
          } else {
            const float z = pr[j];
            lr += std::max(z, 0.0f) - z * yt + std::log1p(std::exp(-std::fabs(static_cast<double>(z))));
            gv = sigmoidf(z) - yt;
          }
          if (gr) gr[j] = wr * gv * ginv;
        }
        loss += wr * lr * inv_cnt;
        break;
      case LossKind::kCce:
      case LossKind::kSparseCce:
        if (gr) std::memset(gr, 0, static_cast<size_t>(k) * sizeof(float));
        if (kind == LossKind::kSparseCce) {
          const int32_t c = labels[r];
          if (c < 0 || c >= k) return bad_label(r, k, c);
          const float q = std::max(pr[c], kProbEps);
          lr = -std::log(static_cast<double>(q));
          if (gr) gr[c] = -wr * rinv / q;
        } else {
          const float* yr = y + r * k;
          for (int64_t j = 0; j < k; ++j) {
            if (yr[j] == 0.0f) continue;
            const float q = std::max(pr[j], kProbEps);
            lr -= yr[j] * std::log(static_cast<double>(q));
            if (gr) gr[j] = -wr * yr[j] * rinv / q;
          }
        }
        loss += wr * lr / static_cast<double>(rows);
        break;
      case LossKind::kCceLogits:
      case LossKind::kSparseCceLogits:
        // One row at a time through the fused kernel: its gradient is grad_scale * (softmax - t).
        NT_RETURN_IF_ERROR(a.softmax_xent(pr, kind == LossKind::kCceLogits ? y + r * k : nullptr,
                                          kind == LossKind::kSparseCceLogits ? labels + r : nullptr, 1, k, &lr, gr,
                                          wr * rinv));
        loss += wr * lr / static_cast<double>(rows);
        break;
    }
  }
  *out = loss;
  return Status::Ok();
}

Status loss_body(const LossArgs& a, double* out);

}  // namespace

Status loss_f32_ref(const LossArgs& a, double* out) {
  NT_RETURN_IF_ERROR(loss_body(a, out));
  if (a.health && !std::isfinite(out[0])) a.health->nonfinite |= kHealthLoss;
  return Status::Ok();
}

namespace {

Status loss_body(const LossArgs& a, double* out) {
  for (int i = 0; i < kLossOutputs; ++i) out[i] = 0.0;
  if ((a.kind == LossKind::kCceLogits || a.kind == LossKind::kSparseCceLogits) && !a.softmax_xent)
    return Internal("the loss slot needs the table's softmax_xent for a cross-entropy on logits");
  if (a.weights) return weighted_loss(a, out);
  const int64_t rows = a.rows, k = a.k, cnt = rows * k;
  const float* p = a.p;
  const float* y = a.y;
  float* g = a.grad;
  double loss = 0.0;
  const double inv_cnt = 1.0 / static_cast<double>(cnt);
  const float ginv = static_cast<float>(inv_cnt);
  switch (a.kind) {
    case LossKind::kMse:
      for (int64_t t = 0; t < cnt; ++t) {
        const float e = p[t] - y[t];
        loss += static_cast<double>(e) * e;
        if (g) g[t] = 2.0f * e * ginv;
      }
      loss *= inv_cnt;
      break;
    case LossKind::kMae:
      for (int64_t t = 0; t < cnt; ++t) {
        const float e = p[t] - y[t];
        loss += std::fabs(e);
        if (g) g[t] = (e > 0 ? 1.0f : (e < 0 ? -1.0f : 0.0f)) * ginv;
      }
      loss *= inv_cnt;
      break;
    case LossKind::kHuber: {
      const float d = a.huber_delta;
      for (int64_t t = 0; t < cnt; ++t) {
        const float e = p[t] - y[t], ae = std::fabs(e);
        if (ae <= d) {
          loss += 0.5 * static_cast<double>(e) * e;
          if (g) g[t] = e * ginv;
        } else {
          loss += static_cast<double>(d) * (ae - 0.5 * d);
          if (g) g[t] = (e > 0 ? d : -d) * ginv;
        }
      }
      loss *= inv_cnt;
      break;
    }
    case LossKind::kBce:
      for (int64_t t = 0; t < cnt; ++t) {
        const float q = std::min(std::max(p[t], kProbEps), 1.0f - kProbEps);
        loss -= y[t] * std::log(static_cast<double>(q)) + (1.0 - y[t]) * std::log(1.0 - q);
        if (g) g[t] = (q - y[t]) / (q * (1.0f - q)) * ginv;
      }
      loss *= inv_cnt;
      break;
    case LossKind::kBceLogits:
      for (int64_t t = 0; t < cnt; ++t) {
        const float z = p[t];
        loss += std::max(z, 0.0f) - z * y[t] + std::log1p(std::exp(-std::fabs(static_cast<double>(z))));
        if (g) g[t] = (sigmoidf(z) - y[t]) * ginv;
      }
      loss *= inv_cnt;
      break;
    case LossKind::kCce:
    case LossKind::kSparseCce: {
      const float rinv = 1.0f / static_cast<float>(rows);
      if (g) std::memset(g, 0, static_cast<size_t>(cnt) * sizeof(float));
      for (int64_t r = 0; r < rows; ++r) {
        const float* pr = p + r * k;
        if (a.kind == LossKind::kSparseCce) {
          const int32_t c = a.labels[r];
          if (c < 0 || c >= k) return bad_label(r, k, c);
          const float q = std::max(pr[c], kProbEps);
          loss -= std::log(static_cast<double>(q));
          if (g) g[r * k + c] = -rinv / q;
        } else {
          const float* yr = y + r * k;
          for (int64_t j = 0; j < k; ++j) {
            if (yr[j] == 0.0f) continue;
            const float q = std::max(pr[j], kProbEps);
            loss -= yr[j] * std::log(static_cast<double>(q));
            if (g) g[r * k + j] = -yr[j] * rinv / q;
          }
        }
      }
      loss /= static_cast<double>(rows);
      break;
    }
    case LossKind::kCceLogits:
      NT_RETURN_IF_ERROR(a.softmax_xent(p, y, nullptr, rows, k, &loss, g, 1.0f));
      break;
    case LossKind::kSparseCceLogits:
      NT_RETURN_IF_ERROR(a.softmax_xent(p, nullptr, a.labels, rows, k, &loss, g, 1.0f));
      break;
  }
  out[0] = loss;
  return Status::Ok();
}

}  // namespace

Status metric_f32_ref(const MetricArgs& a, double* out) {
  const int64_t rows = a.rows, k = a.k, cnt = rows * k;
  const float* p = a.p;
  const float* y = a.y;
  const int32_t* labels = a.labels;
  double acc = 0.0;
  switch (a.kind) {
    case MetricKind::kBinaryAccuracy: {
      const float* q = a.q;
      const float thr = a.threshold;
      for (int64_t t = 0; t < cnt; ++t) acc += ((q[t] > thr) == (y[t] > 0.5f)) ? 1.0 : 0.0;
      acc /= static_cast<double>(k);
      break;
    }
    case MetricKind::kCategoricalAccuracy:
      for (int64_t r = 0; r < rows; ++r) acc += argmax_row(p + r * k, k) == argmax_row(y + r * k, k) ? 1.0 : 0.0;
      break;
    case MetricKind::kSparseCategoricalAccuracy:
      for (int64_t r = 0; r < rows; ++r) acc += argmax_row(p + r * k, k) == labels[r] ? 1.0 : 0.0;
      break;
    case MetricKind::kPrecision:
    case MetricKind::kRecall:
    case MetricKind::kF1: {
      const bool binary = !labels && k == 1;
      const int64_t nc = binary ? 2 : k;
      double* st = out;
      std::fill(st, st + 2 + 3 * nc, 0.0);
      st[0] = static_cast<double>(nc);
      st[1] = binary ? 1.0 : 0.0;
      for (int64_t r = 0; r < rows; ++r) {
        int64_t pred, truth;
        if (binary) {
          pred = p[r] > a.threshold ? 1 : 0;
          truth = y[r] > 0.5f ? 1 : 0;
        } else {
          pred = argmax_row(p + r * k, k);  // argmax of logits is argmax of softmax
          truth = labels ? labels[r] : argmax_row(y + r * k, k);
        }
        // A label outside [0, k) was rejected by the loss; ignore it here rather than write out of range.
        if (truth < 0 || truth >= nc) continue;
        if (pred == truth) {
          st[2 + truth] += 1;
        } else {
          st[2 + nc + pred] += 1;       // false positive for the predicted class
          st[2 + 2 * nc + truth] += 1;  // false negative for the true class
        }
      }
      return Status::Ok();
    }
    case MetricKind::kR2: {
      double* st = out;
      std::fill(st, st + 2 + 3 * k, 0.0);
      st[0] = static_cast<double>(k);
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t j = 0; j < k; ++j) {
          const float pj = a.sigmoid_q ? sigmoidf(a.q[r * k + j]) : a.q[r * k + j];
          const double yt = y[r * k + j], e = yt - pj;
          st[2 + j] += yt;
          st[2 + k + j] += yt * yt;
          st[2 + 2 * k + j] += e * e;
        }
      return Status::Ok();
    }
    case MetricKind::kMse:
    case MetricKind::kRmse:
    case MetricKind::kMae: {
      for (int64_t t = 0; t < cnt; ++t) {
        const float pt = a.sigmoid_q ? sigmoidf(a.q[t]) : a.q[t];
        const double e = pt - y[t];
        acc += a.kind == MetricKind::kMae ? std::fabs(e) : e * e;
      }
      acc /= static_cast<double>(k);
      break;
    }
  }
  out[0] = acc;
  return Status::Ok();
}

Status gather_rows_f32_ref(const float* src, int64_t cols, const uint32_t* idx, int64_t n, float* dst) {
  for (int64_t r = 0; r < n; ++r)
    std::memcpy(dst + r * cols, src + static_cast<int64_t>(idx[r]) * cols, static_cast<size_t>(cols) * sizeof(float));
  return Status::Ok();
}

// Split over the pool by rows once a batch is large (a 128 x 784 batch is 400 KB of scattered
// reads), on the calling thread below that.
Status gather_rows_f32(const float* src, int64_t cols, const uint32_t* idx, int64_t n, float* dst) {
  constexpr int64_t kGrain = int64_t(1) << 15;  // floats per task
  parallel_for(std::min(n, tasks_for_work(n * cols, kGrain)), [&](int ith, int nth) {
    int64_t b, e;
    partition(n, ith, nth, 1, &b, &e);
    if (cols > 16) {
      (void)gather_rows_f32_ref(src, cols, idx + b, e - b, dst + b * cols);
      return;
    }
    // Short rows (a few features, or a label): element copies with an early exit, where a
    // memcpy call per row would cost several times the copy.
    for (int64_t r = b; r < e; ++r) {
      const float* s = src + static_cast<int64_t>(idx[r]) * cols;
      float* d = dst + r * cols;
      for (int64_t j = 0; j < 16; ++j) {
        if (j >= cols) break;
        d[j] = s[j];
      }
    }
  });
  return Status::Ok();
}

Status hyper_direction_f32_ref(const float* old, const float* param, float inv_lr, int64_t n, float* dir,
                               double* sum_sq) {
  double sq = 0;
  for (int64_t i = 0; i < n; ++i) {
    const float d = (old[i] - param[i]) * inv_lr;
    dir[i] = d;
    sq += static_cast<double>(d) * d;
  }
  *sum_sq = sq;
  return Status::Ok();
}

Status uniform_philox_f32_ref(uint32_t* state, float* out, int64_t n) {
  if (n > 0 && out == nullptr) return InvalidArgument("Expected an output array for the dropout draws but received null");
  philox_fill(take_philox_key(state), out, n);
  return Status::Ok();
}
#if defined(NT_HAVE_AVX2_KERNELS)
Status uniform_philox_f32_avx2(uint32_t* state, float* out, int64_t n) {
  if (n > 0 && out == nullptr) return InvalidArgument("Expected an output array for the dropout draws but received null");
  philox_fill_avx2(take_philox_key(state), out, n);
  return Status::Ok();
}
#endif

// ---- the same loops by name (NT_REGISTER_KERNEL), for the parity tests. Int32/uint32 buffers
// travel as Float32Array bit patterns; double results come back rounded to float.
//   loop_loss_f32:   buffers p, y|null, labels|null, weights|null, grad|null, out[5]; ints rows, k, kind; f huber_delta
//   loop_metric_f32: buffers p, q, y|null, labels|null, out; ints rows, k, kind, sigmoid_q; f threshold
//   loop_gather_rows_f32: buffers src, idx, dst; ints cols, n
//   loop_hyper_direction_f32: buffers old, param, dir, out[1]; ints n; f inv_lr
//   loop_uniform_f32: buffers state[4], out; ints n
namespace {

Status need(const KernelArgs& a, int i, int64_t n, const char* what) {
  if (a.buf[i] && a.len[i] >= n) return Status::Ok();
  return InvalidArgument(std::string("Expected a buffer of at least ") + std::to_string(n) + " elements for " + what +
                         " but received " + (a.buf[i] ? std::to_string(a.len[i]) : std::string("none")));
}
Status counts(const KernelArgs& a, int ni, int nf) {
  if (a.nbuf < 1 || a.ni < ni || a.nf < nf)
    return InvalidArgument("Expected " + std::to_string(ni) + " ints and " + std::to_string(nf) +
                           " numbers for the loop kernel but received " + std::to_string(a.ni) + " and " +
                           std::to_string(a.nf));
  return Status::Ok();
}

Status loss_call(const KernelArgs& a, bool ref) {
  NT_RETURN_IF_ERROR(counts(a, 3, 1));
  const int64_t rows = a.i[0], k = a.i[1];
  if (rows < 1 || k < 1 || a.i[2] < 0 || a.i[2] > static_cast<int64_t>(LossKind::kSparseCceLogits))
    return InvalidArgument("Expected rows, k >= 1 and a loss kind for loop_loss_f32 but received " +
                           std::to_string(rows) + ", " + std::to_string(k) + ", " + std::to_string(a.i[2]));
  LossArgs la;
  la.kind = static_cast<LossKind>(a.i[2]);
  la.huber_delta = static_cast<float>(a.f[0]);
  la.rows = rows;
  la.k = k;
  NT_RETURN_IF_ERROR(need(a, 0, rows * k, "p"));
  la.p = a.buf[0];
  const bool sparse = la.kind == LossKind::kSparseCce || la.kind == LossKind::kSparseCceLogits;
  NT_RETURN_IF_ERROR(sparse ? need(a, 2, rows, "labels") : need(a, 1, rows * k, "y"));
  la.y = sparse ? nullptr : a.buf[1];
  la.labels = sparse ? reinterpret_cast<const int32_t*>(a.buf[2]) : nullptr;
  if (a.nbuf > 3 && a.buf[3]) {
    NT_RETURN_IF_ERROR(need(a, 3, rows, "weights"));
    la.weights = a.buf[3];
  }
  if (a.nbuf > 4 && a.buf[4]) {
    NT_RETURN_IF_ERROR(need(a, 4, rows * k, "grad"));
    la.grad = a.buf[4];
  }
  NT_RETURN_IF_ERROR(need(a, 5, kLossOutputs, "out"));
  la.softmax_xent = ref ? softmax_xent_f32_ref : cpu_backend().softmax_xent;
  double out[kLossOutputs];
  NT_RETURN_IF_ERROR(loss_f32_ref(la, out));
  for (int i = 0; i < kLossOutputs; ++i) a.buf[5][i] = static_cast<float>(out[i]);
  return Status::Ok();
}
Status loss_call_fast(const KernelArgs& a) { return loss_call(a, false); }
Status loss_call_ref(const KernelArgs& a) { return loss_call(a, true); }

Status metric_call(const KernelArgs& a) {
  NT_RETURN_IF_ERROR(counts(a, 4, 1));
  const int64_t rows = a.i[0], k = a.i[1];
  if (rows < 1 || k < 1 || a.i[2] < 0 || a.i[2] > static_cast<int64_t>(MetricKind::kF1))
    return InvalidArgument("Expected rows, k >= 1 and a metric kind for loop_metric_f32 but received " +
                           std::to_string(rows) + ", " + std::to_string(k) + ", " + std::to_string(a.i[2]));
  MetricArgs ma;
  ma.kind = static_cast<MetricKind>(a.i[2]);
  ma.rows = rows;
  ma.k = k;
  ma.sigmoid_q = a.i[3] != 0;
  ma.threshold = static_cast<float>(a.f[0]);
  NT_RETURN_IF_ERROR(need(a, 0, rows * k, "p"));
  NT_RETURN_IF_ERROR(need(a, 1, rows * k, "q"));
  ma.p = a.buf[0];
  ma.q = a.buf[1];
  if (a.nbuf > 3 && a.buf[3]) {
    NT_RETURN_IF_ERROR(need(a, 3, rows, "labels"));
    ma.labels = reinterpret_cast<const int32_t*>(a.buf[3]);
    for (int64_t r = 0; r < rows; ++r)
      if (ma.labels[r] < 0 || ma.labels[r] >= k)
        return InvalidArgument("Expected class labels in [0, " + std::to_string(k) + ") for loop_metric_f32 but received " +
                               std::to_string(ma.labels[r]));
  } else {
    NT_RETURN_IF_ERROR(need(a, 2, rows * k, "y"));
    ma.y = a.buf[2];
  }
  const int64_t n = metric_outputs(ma.kind, k, ma.labels != nullptr);
  NT_RETURN_IF_ERROR(need(a, 4, n, "out"));
  std::vector<double> out(static_cast<size_t>(n));
  NT_RETURN_IF_ERROR(metric_f32_ref(ma, out.data()));
  for (int64_t i = 0; i < n; ++i) a.buf[4][i] = static_cast<float>(out[i]);
  return Status::Ok();
}

Status gather_call(const KernelArgs& a, bool ref) {
  NT_RETURN_IF_ERROR(counts(a, 2, 0));
  const int64_t cols = a.i[0], n = a.i[1];
  if (cols < 1 || n < 0) return InvalidArgument("Expected cols >= 1 and n >= 0 for loop_gather_rows_f32 but received " +
                                                std::to_string(cols) + ", " + std::to_string(n));
  NT_RETURN_IF_ERROR(need(a, 1, n, "idx"));
  NT_RETURN_IF_ERROR(need(a, 2, n * cols, "dst"));
  const uint32_t* idx = reinterpret_cast<const uint32_t*>(a.buf[1]);
  for (int64_t r = 0; r < n; ++r)
    if ((static_cast<int64_t>(idx[r]) + 1) * cols > a.len[0])
      return InvalidArgument("Expected row indices inside src for loop_gather_rows_f32 but received " + std::to_string(idx[r]));
  return ref ? gather_rows_f32_ref(a.buf[0], cols, idx, n, a.buf[2]) : gather_rows_f32(a.buf[0], cols, idx, n, a.buf[2]);
}
Status gather_call_fast(const KernelArgs& a) { return gather_call(a, false); }
Status gather_call_ref(const KernelArgs& a) { return gather_call(a, true); }

Status hyper_call(const KernelArgs& a) {
  NT_RETURN_IF_ERROR(counts(a, 1, 1));
  const int64_t n = a.i[0];
  if (n < 0) return InvalidArgument("Expected n >= 0 for loop_hyper_direction_f32 but received " + std::to_string(n));
  for (int i = 0; i < 3; ++i) NT_RETURN_IF_ERROR(need(a, i, n, "old, param and dir"));
  NT_RETURN_IF_ERROR(need(a, 3, 1, "out"));
  double sq = 0;
  NT_RETURN_IF_ERROR(hyper_direction_f32_ref(a.buf[0], a.buf[1], static_cast<float>(a.f[0]), n, a.buf[2], &sq));
  a.buf[3][0] = static_cast<float>(sq);
  return Status::Ok();
}

Status uniform_call(const KernelArgs& a, bool ref) {
  NT_RETURN_IF_ERROR(counts(a, 1, 0));
  const int64_t n = a.i[0];
  if (n < 0) return InvalidArgument("Expected n >= 0 for loop_uniform_f32 but received " + std::to_string(n));
  NT_RETURN_IF_ERROR(need(a, 0, 4, "state"));
  NT_RETURN_IF_ERROR(need(a, 1, n, "out"));
  uint32_t* state = reinterpret_cast<uint32_t*>(a.buf[0]);
  return ref ? uniform_philox_f32_ref(state, a.buf[1], n) : cpu_backend().uniform(state, a.buf[1], n);
}
Status uniform_call_fast(const KernelArgs& a) { return uniform_call(a, false); }
Status uniform_call_ref(const KernelArgs& a) { return uniform_call(a, true); }

}  // namespace

NT_REGISTER_KERNEL(KernelVariants{"loop_loss_f32", loss_call_fast, loss_call_ref});
NT_REGISTER_KERNEL(KernelVariants{"loop_metric_f32", metric_call, metric_call});
NT_REGISTER_KERNEL(KernelVariants{"loop_gather_rows_f32", gather_call_fast, gather_call_ref});
NT_REGISTER_KERNEL(KernelVariants{"loop_hyper_direction_f32", hyper_call, hyper_call});
NT_REGISTER_KERNEL(KernelVariants{"loop_uniform_f32", uniform_call_fast, uniform_call_ref});

}  // namespace nt
