// Losses and metrics (Keras definitions, tf.keras.losses / tf.keras.metrics) and the loss-fusion
// rule. Sums are accumulated in double; gradients are of the mean loss over rows * width.
#include "engine/ops/loss.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

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

}  // namespace

Status LossOp::build(const LossSpec& loss, const std::vector<MetricKind>& metrics, const Op& output_op, int output,
                     const std::vector<int>& output_inputs, int64_t output_width, int64_t target_width,
                     bool sparse_labels) {
  spec_ = loss;
  metrics_ = metrics;
  kind_ = loss.kind;
  loss_node_ = output;
  fused_ = false;
  on_input_ = false;
  LossFusion f;
  if (output_op.fuse_loss(loss.kind, &f)) {
    if (f.on_input && output_inputs.size() != 1) return Internal("a fused output op must have one input");
    kind_ = f.kind;
    fused_ = true;
    on_input_ = f.on_input;
    if (f.on_input) loss_node_ = output_inputs[0];
  }
  const bool sparse = kind_ == LossKind::kSparseCce || kind_ == LossKind::kSparseCceLogits;
  if (sparse != sparse_labels)
    return InvalidArgument(sparse ? "Expected integer class labels for sparse categorical cross-entropy but received float targets"
                                  : "Expected float targets for this loss but received integer class labels");
  if (!sparse && target_width != output_width)
    return InvalidArgument("Expected targets with " + std::to_string(output_width) +
                           " columns (the model's output width) but received " + std::to_string(target_width));
  for (MetricKind mk : metrics_) {
    const bool label_metric = mk == MetricKind::kSparseCategoricalAccuracy;
    // Precision, recall and F1 take either kind of target.
    if (mk == MetricKind::kPrecision || mk == MetricKind::kRecall || mk == MetricKind::kF1) continue;
    if (label_metric != sparse)
      return InvalidArgument(std::string("Expected ") + (sparse ? "float targets" : "integer class labels") +
                             " for metric '" + kMetricNames[static_cast<int>(mk)] + "' but received " +
                             (sparse ? "integer class labels" : "float targets"));
  }
  return Status::Ok();
}

// The loss with per-row weights: sum_r w_r * loss_r / rows (Keras's sample weights with the
// sum-over-batch-size reduction), each row's gradient scaled by its weight. A separate path so
// that unweighted training keeps its exact arithmetic.
Status LossOp::weighted_loss(RunContext& ctx, const float* y, const int32_t* labels, float* g, const float* w,
                             double* out) const {
  const int64_t rows = ctx.rows;
  const int64_t k = ctx.plan.width[loss_node_];
  const float* p = ctx.s.cur[loss_node_];
  const double inv_cnt = 1.0 / static_cast<double>(rows * k);
  const float ginv = static_cast<float>(inv_cnt);
  const float rinv = 1.0f / static_cast<float>(rows);
  const float d = static_cast<float>(spec_.huber_delta);
  double loss = 0.0;
  for (int64_t r = 0; r < rows; ++r) {
    const float wr = w[r];
    if (!(wr >= 0.0f) || !std::isfinite(wr))
      return InvalidArgument("Expected finite sample weights >= 0 but received " + std::to_string(wr) + " for row " +
                             std::to_string(r));
    double lr = 0.0;
    const float* pr = p + r * k;
    float* gr = g ? g + r * k : nullptr;
    switch (kind_) {
      case LossKind::kMse:
      case LossKind::kMae:
      case LossKind::kHuber:
      case LossKind::kBce:
      case LossKind::kBceLogits:
        for (int64_t j = 0; j < k; ++j) {
          const float yt = y[r * k + j];
          float gv = 0.0f;
          if (kind_ == LossKind::kMse) {
            const float e = pr[j] - yt;
            lr += static_cast<double>(e) * e;
            gv = 2.0f * e;
          } else if (kind_ == LossKind::kMae) {
            const float e = pr[j] - yt;
            lr += std::fabs(e);
            gv = e > 0 ? 1.0f : (e < 0 ? -1.0f : 0.0f);
          } else if (kind_ == LossKind::kHuber) {
            const float e = pr[j] - yt, a = std::fabs(e);
            lr += a <= d ? 0.5 * static_cast<double>(e) * e : static_cast<double>(d) * (a - 0.5 * d);
            gv = a <= d ? e : (e > 0 ? d : -d);
          } else if (kind_ == LossKind::kBce) {
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
        if (kind_ == LossKind::kSparseCce) {
          const int32_t c = labels[r];
          if (c < 0 || c >= k)
            return InvalidArgument("Expected a class label in [0, " + std::to_string(k) + ") for row " +
                                   std::to_string(r) + " but received " + std::to_string(c));
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
        NT_RETURN_IF_ERROR(ctx.be.softmax_xent(pr, kind_ == LossKind::kCceLogits ? y + r * k : nullptr,
                                               kind_ == LossKind::kSparseCceLogits ? labels + r : nullptr, 1, k, &lr,
                                               gr, wr * rinv));
        loss += wr * lr / static_cast<double>(rows);
        break;
    }
  }
  *out = loss;
  return Status::Ok();
}

Status LossOp::compute(RunContext& ctx, const float* y, const int32_t* labels, float* g, BatchStats* stats,
                       const float* row_weights) const {
  const int64_t rows = ctx.rows;
  const int64_t k = ctx.plan.width[loss_node_];
  const float* p = ctx.s.cur[loss_node_];
  const int64_t cnt = rows * k;
  float* scratch = ctx.s.scratch.data();
  double loss = 0.0;
  const double inv_cnt = 1.0 / static_cast<double>(cnt);
  const float ginv = static_cast<float>(inv_cnt);
  if (row_weights) {
    NT_RETURN_IF_ERROR(weighted_loss(ctx, y, labels, g, row_weights, &loss));
  } else {
    switch (kind_) {
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
        const float d = static_cast<float>(spec_.huber_delta);
        for (int64_t t = 0; t < cnt; ++t) {
          const float e = p[t] - y[t], a = std::fabs(e);
          if (a <= d) {
            loss += 0.5 * static_cast<double>(e) * e;
            if (g) g[t] = e * ginv;
          } else {
            loss += static_cast<double>(d) * (a - 0.5 * d);
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
          if (kind_ == LossKind::kSparseCce) {
            const int32_t c = labels[r];
            if (c < 0 || c >= k)
              return InvalidArgument("Expected a class label in [0, " + std::to_string(k) + ") for row " +
                                     std::to_string(r) + " but received " + std::to_string(c));
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
        NT_RETURN_IF_ERROR(ctx.be.softmax_xent(p, y, nullptr, rows, k, &loss, g, 1.0f));
        break;
      case LossKind::kSparseCceLogits:
        NT_RETURN_IF_ERROR(ctx.be.softmax_xent(p, nullptr, labels, rows, k, &loss, g, 1.0f));
        break;
    }
  }
  stats->rows = rows;
  stats->loss_sum = loss * static_cast<double>(rows);
  // Reused across steps: no allocation once the shapes are set (cleared vectors keep capacity).
  stats->metric_sums.assign(metrics_.size(), 0.0);
  if (stats->metric_state.size() != metrics_.size()) {
    stats->metric_state.assign(metrics_.size(), {});
  } else {
    for (std::vector<double>& st : stats->metric_state) st.clear();
  }
  if (stats->kinds != metrics_) stats->kinds = metrics_;

  // Metrics on the model's output (probabilities), derived from logits where the loss is fused.
  const bool logits =
      kind_ == LossKind::kBceLogits || kind_ == LossKind::kCceLogits || kind_ == LossKind::kSparseCceLogits;
  const float* prob = p;
  bool have_prob = !logits;
  for (size_t mi = 0; mi < metrics_.size(); ++mi) {
    double acc = 0.0;
    switch (metrics_[mi]) {
      case MetricKind::kBinaryAccuracy: {
        const float* q = p;
        float thr = 0.5f;
        if (kind_ == LossKind::kBceLogits) {
          thr = 0.0f;  // sigmoid(z) > 0.5 exactly when z > 0
        } else if (logits) {  // softmax fused into the loss: threshold probabilities
          NT_RETURN_IF_ERROR(ctx.be.softmax(p, rows, k, scratch));
          q = scratch;
        }
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
        // Confusion counts per class: [classes, binary, tp[classes], fp[classes], fn[classes]].
        const bool binary = !labels && k == 1;
        const int64_t nc = binary ? 2 : k;
        std::vector<double>& st = stats->metric_state[mi];
        st.assign(static_cast<size_t>(2 + 3 * nc), 0.0);
        st[0] = static_cast<double>(nc);
        st[1] = binary ? 1.0 : 0.0;
        const float thr = kind_ == LossKind::kBceLogits ? 0.0f : 0.5f;  // logits > 0 iff sigmoid > 0.5
        for (int64_t r = 0; r < rows; ++r) {
          int64_t pred, truth;
          if (binary) {
            pred = p[r] > thr ? 1 : 0;
            truth = y[r] > 0.5f ? 1 : 0;
          } else {
            pred = argmax_row(p + r * k, k);  // argmax of logits is argmax of softmax
            truth = labels ? labels[r] : argmax_row(y + r * k, k);
          }
          if (pred == truth) {
            st[2 + truth] += 1;
          } else {
            st[2 + nc + pred] += 1;      // false positive for the predicted class
            st[2 + 2 * nc + truth] += 1;  // false negative for the true class
          }
        }
        break;
      }
      case MetricKind::kR2: {
        if (labels) return InvalidArgument("Expected float targets for the r2 metric but received integer labels");
        if (!have_prob) {
          float* q = scratch;
          if (kind_ == LossKind::kBceLogits) {
            for (int64_t t = 0; t < cnt; ++t) q[t] = sigmoidf(p[t]);
          } else {
            NT_RETURN_IF_ERROR(ctx.be.softmax(p, rows, k, q));
          }
          prob = q;
          have_prob = true;
        }
        // Per column: [columns, 0, sum y[k], sum y^2[k], sum (y - p)^2[k]].
        std::vector<double>& st = stats->metric_state[mi];
        st.assign(static_cast<size_t>(2 + 3 * k), 0.0);
        st[0] = static_cast<double>(k);
        for (int64_t r = 0; r < rows; ++r)
          for (int64_t j = 0; j < k; ++j) {
            const double yt = y[r * k + j], e = yt - prob[r * k + j];
            st[2 + j] += yt;
            st[2 + k + j] += yt * yt;
            st[2 + 2 * k + j] += e * e;
          }
        break;
      }
      case MetricKind::kMse:
      case MetricKind::kRmse:
      case MetricKind::kMae: {
        if (labels) return InvalidArgument("Expected float targets for the mse/mae/rmse metrics but received integer labels");
        if (!have_prob) {
          float* q = scratch;
          if (kind_ == LossKind::kBceLogits) {
            for (int64_t t = 0; t < cnt; ++t) q[t] = sigmoidf(p[t]);
          } else {
            NT_RETURN_IF_ERROR(ctx.be.softmax(p, rows, k, q));
          }
          prob = q;
          have_prob = true;
        }
        for (int64_t t = 0; t < cnt; ++t) {
          const double e = prob[t] - y[t];
          acc += metrics_[mi] == MetricKind::kMae ? std::fabs(e) : e * e;
        }
        acc /= static_cast<double>(k);
        break;
      }
    }
    stats->metric_sums[mi] = acc;
  }
  return Status::Ok();
}

std::vector<double> BatchStats::values() const {
  std::vector<double> out;
  values_into(&out);
  return out;
}

void BatchStats::values_into(std::vector<double>* dst) const {
  std::vector<double>& out = *dst;
  out.assign(metric_sums.size(), 0.0);
  const double n = static_cast<double>(rows);
  for (size_t i = 0; i < out.size(); ++i) {
    const MetricKind mk = i < kinds.size() ? kinds[i] : MetricKind::kMse;
    const std::vector<double>* st = i < metric_state.size() ? &metric_state[i] : nullptr;
    switch (mk) {
      case MetricKind::kRmse:
        out[i] = std::sqrt(metric_sums[i] / n);
        break;
      case MetricKind::kR2: {
        // scikit-learn's r2_score, uniform average over columns; a constant column scores 1 when
        // predicted exactly and 0 otherwise.
        if (!st || st->size() < 2) break;
        const int64_t k = static_cast<int64_t>((*st)[0]);
        double total = 0;
        for (int64_t j = 0; j < k; ++j) {
          const double sy = (*st)[2 + j], syy = (*st)[2 + k + j], res = (*st)[2 + 2 * k + j];
          const double tot = syy - sy * sy / n;
          total += tot > 1e-12 * syy ? 1.0 - res / tot : (res == 0 ? 1.0 : 0.0);
        }
        out[i] = k > 0 ? total / static_cast<double>(k) : 0.0;
        break;
      }
      case MetricKind::kPrecision:
      case MetricKind::kRecall:
      case MetricKind::kF1: {
        if (!st || st->size() < 2) break;
        const int64_t nc = static_cast<int64_t>((*st)[0]);
        const bool binary = (*st)[1] != 0.0;
        auto score = [&](int64_t c) {
          const double tp = (*st)[2 + c], fp = (*st)[2 + nc + c], fn = (*st)[2 + 2 * nc + c];
          const double prec = tp + fp > 0 ? tp / (tp + fp) : 0.0, rec = tp + fn > 0 ? tp / (tp + fn) : 0.0;
          if (mk == MetricKind::kPrecision) return prec;
          if (mk == MetricKind::kRecall) return rec;
          return prec + rec > 0 ? 2 * prec * rec / (prec + rec) : 0.0;
        };
        if (binary) {
          out[i] = score(1);
        } else {  // macro average over the classes that occur or are predicted
          double sum = 0;
          int64_t present = 0;
          for (int64_t c = 0; c < nc; ++c) {
            if ((*st)[2 + c] + (*st)[2 + nc + c] + (*st)[2 + 2 * nc + c] == 0) continue;
            sum += score(c);
            ++present;
          }
          out[i] = present ? sum / static_cast<double>(present) : 0.0;
        }
        break;
      }
      default:
        out[i] = metric_sums[i] / n;
    }
  }
}

}  // namespace nt
