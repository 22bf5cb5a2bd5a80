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

// Per-batch loss and metric sums (weighted by rows) for epoch averages.
struct BatchStats {
  double loss_sum = 0;
  std::vector<double> metric_sums;
  int64_t rows = 0;
  void reset(size_t n_metrics) {
    loss_sum = 0;
    rows = 0;
    metric_sums.assign(n_metrics, 0.0);
  }
  void add(const BatchStats& o) {
    loss_sum += o.loss_sum;
    rows += o.rows;
    for (size_t i = 0; i < metric_sums.size() && i < o.metric_sums.size(); ++i) metric_sums[i] += o.metric_sums[i];
  }
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
  Status compute(RunContext& ctx, const float* y, const int32_t* labels, float* grad, BatchStats* stats) const;

 private:
  LossSpec spec_;
  std::vector<MetricKind> metrics_;
  LossKind kind_ = LossKind::kMse;
  int loss_node_ = -1;
  bool fused_ = false, on_input_ = false;
};

}  // namespace nt
