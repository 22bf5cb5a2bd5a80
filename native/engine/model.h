// The compiled training plan of a model: a topologically ordered list of nodes over preallocated
// buffers. Parameters (and non-trainable state such as batch-norm moving statistics) live in one
// contiguous arena, laid out group by group so that one fused optimizer call per parameter group
// updates the whole model; gradients and optimizer state are arenas of the same layout.
// All activations are [batch, features] matrices (dense networks). Pure C++: no napi.h.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/rng.h"
#include "engine/schedule.h"
#include "nodetrain/kernels.h"
#include "nodetrain/status.h"

namespace nt {

enum class NodeKind : int {
  kInput = 0,
  kDense = 1,
  kActivation = 2,
  kDropout = 3,
  kLayerNorm = 4,
  kBatchNorm = 5,
  kAdd = 6,
  kConcat = 7,
  kSoftmax = 8,
};

struct NodeSpec {
  NodeKind kind = NodeKind::kInput;
  std::string name;
  std::vector<int> inputs;  // indices of earlier nodes
  int64_t units = 0;        // input: features; dense: output units
  bool use_bias = true;     // dense
  Act act = Act::kNone;     // activation node, or the dense layer's activation
  float alpha = 0.0f;       // leaky ReLU slope / ELU alpha
  float rate = 0.0f;        // dropout
  float eps = 1e-3f;        // layer/batch norm
  float momentum = 0.99f;   // batch norm: moving = momentum * moving + (1 - momentum) * batch (Keras)
  bool center = true, scale = true;  // norm layers: beta / gamma present
  int group = 0;            // parameter group
  bool trainable = true;
};

enum class LossKind : int {
  kMse = 0,
  kMae = 1,
  kHuber = 2,
  kBce = 3,             // binary cross-entropy from probabilities
  kBceLogits = 4,       // from logits
  kCce = 5,             // categorical cross-entropy from probabilities (one-hot / soft targets)
  kSparseCce = 6,       // from probabilities with int32 labels
  kCceLogits = 7,       // from logits
  kSparseCceLogits = 8,
};

enum class MetricKind : int {
  kBinaryAccuracy = 0,
  kCategoricalAccuracy = 1,
  kSparseCategoricalAccuracy = 2,
  kMse = 3,
  kMae = 4,
};

enum class OptKind : int { kSgd = 0, kAdam = 1, kAdamW = 2, kRmsprop = 3, kAdagrad = 4 };

struct GroupSpec {
  bool has_lr = false;
  double lr = 0;
  bool has_weight_decay = false;
  double weight_decay = 0;
  bool has_schedule = false;
  ScheduleSpec schedule;
};

struct OptimizerSpec {
  OptKind kind = OptKind::kAdam;
  double lr = 1e-3;
  bool has_schedule = false;
  ScheduleSpec schedule;
  double momentum = 0, dampening = 0, weight_decay = 0;
  bool nesterov = false;
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  bool amsgrad = false;
  double alpha = 0.99;  // rmsprop
  bool centered = false;
  double lr_decay = 0, initial_accumulator = 0;  // adagrad
  double clip_norm = 0;   // 0: off. Clip by global norm of all trainable gradients.
  double clip_value = 0;  // 0: off. Clamp each gradient element to [-v, v].
  // Online learning-rate adaptation by hypergradient descent (Baydin et al. 2018, "Online Learning
  // Rate Adaptation with Hypergradient Descent", ICLR): alpha_t = alpha_{t-1} + beta * g_t . u_{t-1},
  // with u_{t-1} the previous update direction (theta_{t-2} - theta_{t-1}) / alpha_{t-1}, which is
  // g_{t-1} for SGD, the momentum buffer for momentum SGD, and m_hat / (sqrt(v_hat) + eps) for Adam.
  bool hypergradient = false;
  double hyper_lr = 0;            // beta
  double hyper_min_lr = 0, hyper_max_lr = 1e9;
  // Multiplicative rule (the paper's scale-free variant): alpha_t = alpha_{t-1} (1 + beta cos(g_t, u_{t-1})).
  bool hyper_multiplicative = false;
  std::vector<GroupSpec> groups;  // indexed by NodeSpec::group; missing groups use the defaults
};

struct LossSpec {
  LossKind kind = LossKind::kMse;
  double huber_delta = 1.0;
};

struct ModelSpec {
  std::vector<NodeSpec> nodes;  // topological order; exactly one kInput node
  int output = -1;              // output node index
  LossSpec loss;
  std::vector<MetricKind> metrics;
  OptimizerSpec optimizer;
  int64_t target_width = 1;     // y columns (ignored for sparse labels)
  bool sparse_labels = false;   // y is int32 [n]
  uint64_t seed = 0;            // dropout masks
};

struct ParamInfo {
  int node = -1;
  std::string name;   // "<node name>/<kernel|bias|gamma|beta|moving_mean|moving_variance>"
  int64_t offset = 0, size = 0;
  std::vector<int64_t> shape;
  int group = 0;
  bool trainable = true;  // false: frozen weights or non-trainable state (moving statistics)
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

class Model {
 public:
  // Validates the spec and builds the plan for batches of up to max_batch rows.
  static Status Create(const ModelSpec& spec, int64_t max_batch, std::unique_ptr<Model>* out);

  const ModelSpec& spec() const { return spec_; }
  const std::vector<ParamInfo>& params() const { return params_; }
  int64_t num_params() const { return static_cast<int64_t>(arena_.size()); }
  int64_t num_trainable() const { return n_trainable_; }
  float* arena() { return arena_.data(); }
  const float* grads() const { return grad_.data(); }
  int64_t input_width() const { return spec_.nodes[input_].units; }
  int64_t output_width() const { return width_[spec_.output]; }
  int64_t max_batch() const { return max_batch_; }

  // Optimizer: replaces the configuration; state is kept unless reset_state.
  Status set_optimizer(const OptimizerSpec& opt, bool reset_state);
  const OptimizerSpec& optimizer() const { return spec_.optimizer; }
  void reset_optimizer_state();
  int64_t step_count() const { return step_; }
  void set_step_count(int64_t s) { step_ = s; }
  // Optimizer state arenas (each num_trainable() long): names "m", "v", "vmax" (meaning depends on
  // the optimizer: SGD momentum in m; RMSProp square average in v, momentum in m, grad average in
  // vmax; AdaGrad accumulator in v).
  std::vector<float>& state(int i) { return state_[i]; }
  // Learning rate a group uses at optimizer step `step` (0-based).
  double group_lr(int group, int64_t step) const;
  int num_groups() const { return static_cast<int>(group_ranges_.size()); }
  // Multiplier applied to every group's learning rate (adaptive controllers).
  void set_lr_multiplier(double m) { lr_mult_ = m; }
  double lr_multiplier() const { return lr_mult_; }

  // One optimisation step on a batch: forward, loss, backward, clipping, update.
  // x: [rows, input_width]; y: [rows, target_width] floats or labels [rows].
  // Returns kNonFinite (and leaves the parameters untouched) when the loss or gradient is not
  // finite. stats receives the batch's loss/metric sums.
  Status train_step(const float* x, const float* y, const int32_t* labels, int64_t rows, BatchStats* stats,
                    double* lr_used);
  // Forward + loss + metrics without updating (inference mode).
  Status eval_batch(const float* x, const float* y, const int32_t* labels, int64_t rows, BatchStats* stats);
  // Inference forward; writes [rows, output_width] to out.
  Status predict_batch(const float* x, int64_t rows, float* out);
  // Global L2 norm of the last computed gradients (trainable arena).
  double last_grad_norm() const { return last_grad_norm_; }
  // Hypergradient multiplier on the learning rate (1 when hypergradient descent is off).
  double hyper_multiplier() const { return hd_mult_; }
  // Hypergradient state, part of the optimizer state: multiplier, whether a previous direction
  // exists, its norm, and the direction itself (num_trainable() long when hypergradient is on).
  struct HyperState {
    double mult = 1.0;
    bool have_dir = false;
    double dir_norm = 0;
  };
  HyperState hyper_state() const { return {hd_mult_, hd_have_dir_, hd_dir_norm_}; }
  std::vector<float>& hyper_dir() { return hd_dir_; }
  void set_hyper_state(const HyperState& h) {
    hd_mult_ = h.mult;
    hd_have_dir_ = h.have_dir && !hd_dir_.empty();
    hd_dir_norm_ = h.dir_norm;
  }

  // Divergence guard support: a copy of the parameters, optimizer state and step counter.
  void take_snapshot();
  bool has_snapshot() const { return have_snapshot_; }
  void restore_snapshot();
  // Test hook: the gradient of these optimizer steps (0-based) is replaced by NaN.
  void inject_nonfinite_at(std::vector<int64_t> steps) { inject_steps_ = std::move(steps); }

  void reseed(uint64_t seed) { rng_.reseed(seed); }

 private:
  Model() = default;
  Status build(const ModelSpec& spec, int64_t max_batch);
  Status forward(const float* x, int64_t rows, bool training, bool logits_out);
  Status loss_and_grad(const float* y, const int32_t* labels, int64_t rows, bool want_grad, BatchStats* stats);
  Status backward(int64_t rows);
  Status apply_update(double* lr_used);
  void commit_moving_statistics();
  float* out(int node) { return acts_[node].data(); }
  float* dout(int node) { return dacts_[node].data(); }

  ModelSpec spec_;
  int input_ = -1;
  int64_t max_batch_ = 0;
  std::vector<int64_t> width_;                  // output features of each node
  std::vector<std::vector<float>> acts_, dacts_;  // [max_batch, width] per node (dacts only where needed)
  std::vector<std::vector<float>> pre_;         // dense pre-activation when the activation needs it
  std::vector<std::vector<float>> aux_;         // dropout masks, norm statistics
  std::vector<bool> needs_grad_;                // node output gradient is needed
  struct NodeParams {  // arena offsets of a node's parameters (-1: absent)
    int64_t w = -1, b = -1, gamma = -1, beta = -1, mean = -1, var = -1;
  };
  std::vector<NodeParams> node_params_;
  std::vector<int> consumers_;                  // how many nodes read each node's output
  std::vector<const float*> cur_;               // forward output of each node for the current batch
  std::vector<float> scratch_;                  // [max_batch, max width]
  std::vector<double> dscratch_;
  std::vector<ParamInfo> params_;
  std::vector<float> arena_, grad_;
  std::vector<float> state_[3];
  std::vector<std::pair<int64_t, int64_t>> group_ranges_;  // [begin, end) of each group in arena_
  int64_t n_trainable_ = 0;
  int64_t step_ = 0;
  double lr_mult_ = 1.0;
  double last_grad_norm_ = 0;
  double hd_mult_ = 1.0;
  bool hd_have_dir_ = false;
  double hd_dir_norm_ = 0;
  std::vector<float> hd_dir_, hd_old_;
  bool have_snapshot_ = false;
  std::vector<float> snap_params_, snap_state_[3];
  int64_t snap_step_ = 0;
  double snap_hd_mult_ = 1.0;
  bool snap_hd_have_dir_ = false;
  double snap_hd_dir_norm_ = 0;
  std::vector<float> snap_hd_dir_;
  std::vector<int64_t> inject_steps_;
  // Loss fusion: the node whose output holds logits when the loss is computed from logits.
  int loss_node_ = -1;
  LossKind loss_kind_ = LossKind::kMse;
  bool fused_output_ = false;  // output activation folded into the loss
  Rng rng_;
};

}  // namespace nt
