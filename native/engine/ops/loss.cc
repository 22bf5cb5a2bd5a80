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
    if (label_metric != sparse)
      return InvalidArgument(std::string("Expected ") + (sparse ? "float targets" : "integer class labels") +
                             " for metric '" + kMetricNames[static_cast<int>(mk)] + "' but received " +
                             (sparse ? "integer class labels" : "float targets"));
  }
  return Status::Ok();
}

Status LossOp::compute(RunContext& ctx, const float* y, const int32_t* labels, float* g, BatchStats* stats) const {
  const int64_t rows = ctx.rows;
  const int64_t k = ctx.plan.width[loss_node_];
  const float* p = ctx.s.cur[loss_node_];
  const int64_t cnt = rows * k;
  float* scratch = ctx.s.scratch.data();
  double loss = 0.0;
  const double inv_cnt = 1.0 / static_cast<double>(cnt);
  const float ginv = static_cast<float>(inv_cnt);
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
  stats->rows = rows;
  stats->loss_sum = loss * static_cast<double>(rows);
  stats->metric_sums.assign(metrics_.size(), 0.0);

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
      case MetricKind::kMse:
      case MetricKind::kMae: {
        if (labels) return InvalidArgument("Expected float targets for the mse/mae metrics but received integer labels");
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
          acc += metrics_[mi] == MetricKind::kMse ? e * e : std::fabs(e);
        }
        acc /= static_cast<double>(k);
        break;
      }
    }
    stats->metric_sums[mi] = acc;
  }
  return Status::Ok();
}

}  // namespace nt
