// The loss and the metrics of a plan, and the loss-fusion rule: when the model's output op can
// hand the loss its logits (Op::fuse_loss), the loss runs on logits (one fused, stable kernel)
// and the output activation is skipped while training. Keras definitions (tf.keras.losses).
#pragma once
#include <cstdint>
#include <vector>

#include "engine/op.h"

namespace nt {

struct LossSpec {
  LossKind kind = LossKind::kMse;
  double huber_delta = 1.0;
};

// Per-batch loss and metric sums (weighted by rows) for epoch averages. Metrics that are not
// means over rows (RMSE, R², precision, recall, F1) also keep sufficient statistics in
// metric_state, summed across batches, so an epoch's value is exact, not a mean of batch values.
struct BatchStats {
  double loss_sum = 0;
  std::vector<double> metric_sums;
  std::vector<std::vector<double>> metric_state;
  std::vector<MetricKind> kinds;
  int64_t rows = 0;
  void reset(size_t n_metrics) {
    loss_sum = 0;
    rows = 0;
    metric_sums.assign(n_metrics, 0.0);
    metric_state.assign(n_metrics, {});
  }
  void add(const BatchStats& o) {
    loss_sum += o.loss_sum;
    rows += o.rows;
    if (kinds.empty()) kinds = o.kinds;
    for (size_t i = 0; i < metric_sums.size() && i < o.metric_sums.size(); ++i) metric_sums[i] += o.metric_sums[i];
    if (metric_state.size() < o.metric_state.size()) metric_state.resize(o.metric_state.size());
    for (size_t i = 0; i < o.metric_state.size(); ++i) {
      std::vector<double>& s = metric_state[i];
      const std::vector<double>& t = o.metric_state[i];
      if (s.empty()) {
        s = t;
      } else {
        for (size_t j = 2; j < s.size() && j < t.size(); ++j) s[j] += t[j];  // [0], [1]: layout header
      }
    }
  }
  // The metric values: means over rows, or computed from the summed statistics.
  std::vector<double> values() const;
  void values_into(std::vector<double>* out) const;  // the same, reusing out's storage
};

class LossOp {
 public:
  // Decides fusion with the output op and validates targets and metrics against the loss.
  Status build(const LossSpec& loss, const std::vector<MetricKind>& metrics, const Op& output_op, int output,
               const std::vector<int>& output_inputs, int64_t output_width, int64_t target_width, bool sparse_labels);
  int loss_node() const { return loss_node_; }  // the node whose output the loss reads
  bool fused() const { return fused_; }
  bool fused_on_input() const { return fused_ && on_input_; }
  // Loss (and dL/d(loss node output) into grad when non-null) and metric sums for the batch.
  // row_weights (null: all 1) weigh each row's loss and gradient: loss = sum(w_r * loss_r) / rows.
  Status compute(RunContext& ctx, const float* y, const int32_t* labels, float* grad, BatchStats* stats,
                 const float* row_weights = nullptr) const;
  // compute() in two halves, for a caller that reads records later (the device-resident fit loop):
  // launch runs the loss and metric slots and leaves the batch's stats record, stats_width(k,
  // labels) doubles, in backend memory at `out` (health: LossArgs::health); decode reads a record
  // copied to the host. k is the loss node's width.
  int64_t stats_width(int64_t k, bool labels) const;
  Status launch(RunContext& ctx, const float* y, const int32_t* labels, float* grad, const float* row_weights,
                double* out, UpdateHealth* health) const;
  Status decode(const double* record, int64_t rows, int64_t k, bool labels, BatchStats* stats) const;

 private:
  LossSpec spec_;
  std::vector<MetricKind> metrics_;
  LossKind kind_ = LossKind::kMse;
  int loss_node_ = -1;
  bool fused_ = false, on_input_ = false;
};

}  // namespace nt
