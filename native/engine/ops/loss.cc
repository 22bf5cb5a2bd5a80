// Losses and metrics (Keras definitions, tf.keras.losses / tf.keras.metrics) and the loss-fusion
// rule. Sums are accumulated in double; gradients are of the mean loss over rows * width. The
// loops themselves are Backend slots (loss, metric; CPU: native/kernels/loops.cc), so buffers may
// live on a device: their scalar results form a batch's stats record in backend memory (the
// Scratch's stats buffer, or a slot of the model's record ring), read back by one copy.
#include "engine/ops/loss.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

namespace nt {

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

int64_t LossOp::stats_width(int64_t k, bool labels) const {
  int64_t need = kLossOutputs;
  for (MetricKind mk : metrics_) need += metric_outputs(mk, k, labels);
  return need;
}

Status LossOp::launch(RunContext& ctx, const float* y, const int32_t* labels, float* g, const float* row_weights,
                      double* dev, UpdateHealth* health) const {
  const Backend& be = ctx.be;
  const int64_t rows = ctx.rows;
  const int64_t k = ctx.plan.width[loss_node_];
  const float* p = ctx.s.cur[loss_node_];
  float* scratch = ctx.s.scratch.data();
  LossArgs la;
  la.kind = kind_;
  la.huber_delta = static_cast<float>(spec_.huber_delta);
  la.p = p;
  la.y = y;
  la.labels = labels;
  la.weights = row_weights;
  la.rows = rows;
  la.k = k;
  la.grad = g;
  la.softmax_xent = be.softmax_xent;
  la.health = health;
  NT_RETURN_IF_ERROR(be.loss(la, dev));

  // Metrics on the model's output (probabilities), derived from logits where the loss is fused.
  const bool logits =
      kind_ == LossKind::kBceLogits || kind_ == LossKind::kCceLogits || kind_ == LossKind::kSparseCceLogits;
  bool have_softmax = false;  // scratch holds softmax(p)
  int64_t off = kLossOutputs;
  for (size_t mi = 0; mi < metrics_.size(); ++mi) {
    const MetricKind mk = metrics_[mi];
    MetricArgs ma;
    ma.kind = mk;
    ma.p = p;
    ma.q = p;
    ma.y = y;
    ma.labels = labels;
    ma.rows = rows;
    ma.k = k;
    ma.threshold = kind_ == LossKind::kBceLogits ? 0.0f : 0.5f;  // sigmoid(z) > 0.5 exactly when z > 0
    const bool probs = mk == MetricKind::kBinaryAccuracy || mk == MetricKind::kR2 || mk == MetricKind::kMse ||
                       mk == MetricKind::kRmse || mk == MetricKind::kMae;
    if ((mk == MetricKind::kR2 || mk == MetricKind::kMse || mk == MetricKind::kRmse || mk == MetricKind::kMae) && labels)
      return InvalidArgument(mk == MetricKind::kR2
                                 ? "Expected float targets for the r2 metric but received integer labels"
                                 : "Expected float targets for the mse/mae/rmse metrics but received integer labels");
    if (probs && logits && kind_ != LossKind::kBceLogits) {  // softmax fused into the loss
      if (!have_softmax) NT_RETURN_IF_ERROR(be.softmax(p, rows, k, scratch));
      have_softmax = true;
      ma.q = scratch;
      ma.threshold = 0.5f;
    } else if (probs && kind_ == LossKind::kBceLogits && mk != MetricKind::kBinaryAccuracy) {
      ma.sigmoid_q = true;
    }
    NT_RETURN_IF_ERROR(be.metric(ma, dev + off));
    off += metric_outputs(mk, k, labels != nullptr);
  }
  return Status::Ok();
}

Status LossOp::compute(RunContext& ctx, const float* y, const int32_t* labels, float* g, BatchStats* stats,
                       const float* row_weights) const {
  const Backend& be = ctx.be;
  const int64_t k = ctx.plan.width[loss_node_];
  // The stats buffer: the loss slot's outputs, then each metric's, in order.
  const int64_t need = stats_width(k, labels != nullptr);
  if (ctx.s.stats.size() < static_cast<size_t>(2 * need)) ctx.s.stats.assign(be, static_cast<size_t>(2 * need), 0.0f);
  double* dev = reinterpret_cast<double*>(ctx.s.stats.data());
  NT_RETURN_IF_ERROR(launch(ctx, y, labels, g, row_weights, dev, nullptr));
  // One copy back per batch on a device; host tables read the slots' output in place.
  const double* host = dev;
  if (!be.host_memory) {
    std::vector<double>& h = ctx.s.stats_host;
    h.resize(static_cast<size_t>(need));
    be.copy_to_host(h.data(), dev, static_cast<size_t>(need) * sizeof(double));
    host = h.data();
  }
  return decode(host, ctx.rows, k, labels != nullptr, stats);
}

Status LossOp::decode(const double* host, int64_t rows, int64_t k, bool labels, BatchStats* stats) const {
  if (host[1] != 0)
    return InvalidArgument("Expected a class label in [0, " + std::to_string(k) + ") for row " +
                           std::to_string(static_cast<int64_t>(host[1]) - 1) + " but received " +
                           std::to_string(static_cast<int64_t>(host[2])));
  if (host[3] != 0)
    return InvalidArgument("Expected finite sample weights >= 0 but received " +
                           std::to_string(static_cast<float>(host[4])) + " for row " +
                           std::to_string(static_cast<int64_t>(host[3]) - 1));
  stats->rows = rows;
  stats->loss_sum = host[0] * static_cast<double>(rows);
  // Reused across steps: no allocation once the shapes are set (cleared vectors keep capacity).
  stats->metric_sums.assign(metrics_.size(), 0.0);
  if (stats->metric_state.size() != metrics_.size()) {
    stats->metric_state.assign(metrics_.size(), {});
  } else {
    for (std::vector<double>& st : stats->metric_state) st.clear();
  }
  if (stats->kinds != metrics_) stats->kinds = metrics_;
  int64_t off = kLossOutputs;
  for (size_t mi = 0; mi < metrics_.size(); ++mi) {
    const int64_t n = metric_outputs(metrics_[mi], k, labels);
    if (n == 1)
      stats->metric_sums[mi] = host[off];
    else
      stats->metric_state[mi].assign(host + off, host + off + n);
    off += n;
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
