// The compiled training plan of a model: one Op per node (native/engine/ops/), in topological
// order, over preallocated backend buffers. Parameters (and non-trainable state such as batch-norm
// moving statistics) live in one contiguous arena, laid out group by group so that one fused
// optimizer call per parameter group updates the whole model; gradients and optimizer state are
// arenas of the same layout. All activations are [batch, features] matrices (dense networks).
// Files: build.cc (validation, layout, buffers), run.cc (forward, loss, backward, entry points),
// update.cc (optimizer configuration, state, the fused update). Pure C++: no napi.h.
#pragma once
#include <cstdint>
#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "engine/op.h"
#include "engine/ops/loss.h"
#include "engine/optimizer.h"
#include "nodetrain/backend.h"
#include "nodetrain/status.h"

namespace nt {

struct ModelSpec {
  std::vector<NodeSpec> nodes;  // topological order; exactly one input op
  int output = -1;              // output node index
  LossSpec loss;
  std::vector<MetricKind> metrics;
  OptimizerSpec optimizer;
  int64_t target_width = 1;     // y columns (ignored for sparse labels)
  bool sparse_labels = false;   // y is int32 [n]
  uint64_t seed = 0;            // dropout masks
  Precision precision = Precision::kFloat32;  // of the matrix products (dense layers)
  Device device = Device::kCpu;  // the backend the plan is built on (device_backend())
};

// The Backend table of a device: the active CPU table, or the CUDA one when this build has the
// CUDA backend and the machine a usable device; null otherwise, with *why saying which is missing.
const Backend* device_backend(Device d, std::string* why);

struct ParamInfo {
  int node = -1;
  std::string name;   // "<node name>/<role>"
  int64_t offset = 0, size = 0;
  std::vector<int64_t> shape;
  int group = 0;
  bool trainable = true;  // false: frozen weights or non-trainable state (moving statistics)
};

class Model {
 public:
  // Validates the spec and builds the plan for batches of up to max_batch rows.
  static Status Create(const ModelSpec& spec, int64_t max_batch, std::unique_ptr<Model>* out);

  const ModelSpec& spec() const { return spec_; }
  // The model's backend: the device table chosen at Create (CPU models follow the active CPU
  // table, so forcing the portable kernels applies to them at once).
  const Backend& backend() const { return device_ ? *device_ : cpu_backend(); }
  const std::vector<ParamInfo>& params() const { return params_; }
  int64_t num_params() const { return static_cast<int64_t>(arena_.size()); }
  int64_t num_trainable() const { return n_trainable_; }
  float* arena() { return arena_.data(); }
  const float* grads() const { return grad_.data(); }
  int64_t input_width() const { return plan_.width[input_]; }
  int64_t output_width() const { return plan_.width[spec_.output]; }
  int64_t max_batch() const { return plan_.max_batch; }

  // Optimizer: replaces the configuration; state is kept unless reset_state (or its layout changes).
  Status set_optimizer(const OptimizerSpec& opt, bool reset_state);
  const OptimizerSpec& optimizer() const { return spec_.optimizer; }
  void reset_optimizer_state();
  // The whole optimizer state (step, moments, hypergradient state): snapshots are plain copies.
  OptimizerState& optimizer_state() { return opt_; }
  int64_t step_count() const { return opt_.step; }
  // Learning rate a group's schedule (or fixed rate) gives at optimizer step `step` (0-based).
  double group_lr(int group, int64_t step) const;
  // The rate a group's update uses: group_lr x the controllers' multiplier x the hypergradient
  // multiplier. The one definition used by the update, the overflow check and hypergradient descent.
  double effective_lr(int group, int64_t step) const { return base_lr(group, step) * opt_.hd_mult; }
  int num_groups() const { return static_cast<int>(group_ranges_.size()); }
  // Multiplier applied to every group's learning rate (adaptive controllers).
  void set_lr_multiplier(double m) { lr_mult_ = m; }
  double lr_multiplier() const { return lr_mult_; }

  // One optimisation step on a batch: forward, loss, backward, clipping, update.
  // x: [rows, input_width]; y: [rows, target_width] floats or labels [rows].
  // Returns kNonFinite (and leaves the parameters untouched) when the loss or gradient is not
  // finite. stats receives the batch's loss/metric sums.
  // Every pointer is in the backend's memory (the fit loop's resident data set).
  Status train_step(const float* x, const float* y, const int32_t* labels, int64_t rows, BatchStats* stats,
                    double* lr_used, const float* row_weights = nullptr);
  // The same from host arrays (trainBatch): staged into backend memory first on a device backend.
  Status train_step_host(const float* x, const float* y, const int32_t* labels, int64_t rows, BatchStats* stats,
                         double* lr_used, const float* row_weights = nullptr);
  // Forward + loss + metrics without updating (inference mode), over the parameter arena `params`
  // (the live arena or a serving snapshot) with the caller's Scratch. Const: concurrent calls are
  // safe as long as each brings its own Scratch.
  Status eval_batch(const float* params, Scratch& s, const float* x, const float* y, const int32_t* labels,
                    int64_t rows, BatchStats* stats) const;
  // eval_batch in two halves (evaluate's loop: no host read per batch on a device): the batch's
  // stats record, stats_width(labels) doubles, left in backend memory at `record`; decode_stats
  // reads one copied to the host.
  Status eval_batch_record(const float* params, Scratch& s, const float* x, const float* y, const int32_t* labels,
                           int64_t rows, double* record) const;
  int64_t stats_width(bool labels) const;
  Status decode_stats(const double* record, int64_t rows, bool labels, BatchStats* stats) const;
  // Inference forward; writes [rows, output_width] to out.
  Status predict_batch(const float* params, Scratch& s, const float* x, int64_t rows, float* out) const;

  // ---- serving (DESIGN.md rule 15) ----
  // The serving snapshot: an immutable copy of the parameter arena that inference reads. publish()
  // makes one copy of the arena and swaps it in under a lock; calls in flight keep the copy they
  // started with (shared ownership), so a reader never sees a mix of two steps. Only the thread
  // that may write the arena (the training thread during fit, else the main thread) publishes.
  void publish();
  std::shared_ptr<const DeviceArray> serving() const;
  uint64_t serving_version() const { return serving_version_.load(); }
  // Asks the training thread to publish after its current step (any thread).
  void request_publish() { publish_requested_.store(true); }
  bool take_publish_request() { return publish_requested_.exchange(false); }
  // Per-call inference scratch, pooled: acquire gives a free one (or builds one), release returns it.
  std::unique_ptr<Scratch> acquire_scratch() const;
  void release_scratch(std::unique_ptr<Scratch> s) const;
  // Bytes held by the plan (arenas, optimizer state, the training scratch, one serving snapshot).
  size_t bytes() const;
  // Global L2 norm of the last computed gradients (trainable arena). With the device-resident
  // update it is the norm as of the latest read_update_health().
  double last_grad_norm() const { return last_grad_norm_; }
  // Whether steps run the device-resident update (Backend::fused_update) with its checks deferred
  // to read_update_health(). Decided per step: false on host backends and for configurations the
  // fused update does not cover (hypergradient descent, more than kMaxUpdateGroups groups, groups
  // with different cyclic momenta), which take the per-tensor path with host checks.
  bool update_deferred() const { return !health_.empty(); }
  // Reads the device update record (one copy to the host): refreshes last_grad_norm() and returns
  // kNonFinite when a step was skipped since the previous read (a non-finite gradient or
  // statistic, or an SGD update that would overflow). Ok at once on host backends.
  Status read_update_health();
  // 1-based optimizer step of the first step the device skipped between the two latest reads of
  // the update record (0: none yet).
  int64_t first_skipped_step() const { return first_skipped_; }

  // ---- the stats ring (the device-resident fit loop) ----
  // Steps that run the device-resident update leave their batch stats record (loss and metric
  // sums, bad-label and bad-weight checks) in a ring in backend memory instead of copying it back,
  // and their loss vetoes the update through the update record: train_step then does not fill
  // *stats, and the fit loop reads the records back in batches with read_stats. So a step never
  // waits for the device.
  bool defers_stats() const { return fused_eligible(); }
  bool stats_ring_full() const { return ring_count_ >= ring_capacity(); }
  // Copies the pending records to the host (one copy) and decodes them in step order into *out
  // (resized to their count); the ring is empty afterwards, whatever the outcome. The first
  // record with a bad label or weight fails with InvalidArgument (its step was not applied), its
  // index in *bad; the records before it are decoded.
  Status read_stats(std::vector<BatchStats>* out, int64_t* bad = nullptr);
  // After a step: reads the pending records (the last one into *stats when given) and the update
  // record; the first failure, a bad label or weight before a skipped step.
  Status read_step_records(BatchStats* stats);
  void drop_stats() { ring_count_ = 0; }
  // Test hook: the ring's capacity in batches (0: the default, 4 MiB of records, at most 1024).
  void set_stats_ring_capacity(int64_t n) { ring_cap_override_ = n; }
  // Hypergradient multiplier on the learning rate (1 when hypergradient descent is off).
  double hyper_multiplier() const { return opt_.hd_mult; }

  // Divergence guard support: a copy of the parameters and the optimizer state.
  void take_snapshot();
  bool has_snapshot() const { return have_snapshot_; }
  void restore_snapshot();
  // Test hook: the gradient of these optimizer steps (0-based) is replaced by NaN.
  void inject_nonfinite_at(std::vector<int64_t> steps) { inject_steps_ = std::move(steps); }

  void reseed(uint64_t seed) { train_.rng.reseed(seed); }
  // The training step's dropout generator (the fit loop rewinds it with a deferred rollback).
  const Rng& train_rng() const { return train_.rng; }
  void set_train_rng(const Rng& r) { train_.rng = r; }
  // Marks every skip in the update record as reported (a failed fit may leave some unread).
  void sync_update_health();

  // Test hook: the device-memory budget for data sets in bytes, applied on every backend (the CPU
  // included, so the streamed fit loop runs here); 0: the backend's own (device backends only:
  // NODETRAIN_CUDA_DATA_BUDGET, else 3/4 of the free device memory).
  void set_data_budget(uint64_t bytes) { data_budget_ = bytes; }
  // Test hook: a CPU model runs the device-resident update's deferred path, with the host twins of
  // its slots (nodetrain/loops.h) in a copy of the active CPU table. InvalidArgument on a device.
  Status use_host_deferred_update();
  uint64_t data_budget_override() const { return data_budget_; }

  // ---- slimmable execution (one-shot architecture search; slim.cc) ----
  // Runs the plan as a sub-network of itself: active[i] per node is 0 (full width), k > 0 (the
  // first k units of a slimmable op such as dense, reading the top-left block of its parameters
  // in the full arena layout) or -1 (bypass: the node passes its single input through). Ops that
  // keep their input's width follow it; others must see full-width inputs. Empty: back to full.
  // Parameters outside the active sub-network get zero gradients (the optimizer's weight decay and
  // moments still move them, as in any step with a zero gradient).
  Status set_active_widths(const std::vector<int64_t>& active);
  bool slimmed() const { return slim_; }
  int64_t active_width(int node) const { return plan_.width[node]; }
  // Batch-norm recalibration: a training-mode forward whose batch statistics are committed into
  // the moving statistics with `momentum` (0 replaces them; t/(t+1) at batch t gives the mean
  // over batches); parameters and optimizer state are untouched.
  Status calibrate_batch(const float* x, int64_t rows, double momentum);

 private:
  Model() = default;
  Status build(const ModelSpec& spec, int64_t max_batch);
  Status forward(RunContext& ctx, bool logits_out) const;
  Status backward(RunContext& ctx);
  Status apply_update(double* lr_used);
  // The device-resident update: true in *done when it ran (else the per-tensor path runs).
  Status apply_fused_update(double* lr_used);
  bool fused_eligible() const;
  UpdateHealth* health() { return reinterpret_cast<UpdateHealth*>(health_.data()); }
  Status check_rows(int64_t rows) const;
  // On a device backend: copies n floats (or int32s) of host src into dst (grown to max_batch *
  // width once) and returns dst's data; on a host backend: src itself.
  const float* stage(DeviceArray& dst, const void* src, int64_t n, int64_t width);
  // group_lr x the controllers' multiplier: the rate before hypergradient descent's multiplier.
  double base_lr(int group, int64_t step) const { return group_lr(group, step) * lr_mult_; }

  ModelSpec spec_;
  const Backend* device_ = nullptr;  // null: the active CPU table
  // Host-pointer entry points on a device backend stage their batch here.
  DeviceArray stage_x_, stage_y_, stage_l_, stage_w_;
  std::vector<std::unique_ptr<Op>> ops_;  // the plan, one op per node
  LossOp loss_;
  Plan plan_;
  Scratch train_;  // the training step's working memory
  int input_ = -1;
  std::vector<ParamInfo> params_;
  DeviceArray arena_, grad_;
  std::vector<std::pair<int64_t, int64_t>> group_ranges_;  // [begin, end) of each group in arena_
  int64_t n_trainable_ = 0;
  OptimizerState opt_;
  DeviceArray hd_old_;  // hypergradient: parameters before the update (scratch)
  double lr_mult_ = 1.0;
  double last_grad_norm_ = 0;
  DeviceArray health_;       // the device update record (UpdateHealth), empty on host backends
  int32_t health_seen_ = 0;  // skipped steps already reported by read_update_health
  int64_t first_skipped_ = 0;
  // The stats ring: ring_capacity() records of ring_stride_ doubles; the rows of each pending one.
  int64_t ring_capacity() const;
  Status next_stats_record(bool labels, double** rec);
  DeviceArray ring_;
  int64_t ring_stride_ = 0, ring_count_ = 0, ring_cap_override_ = 0;
  bool ring_labels_ = false;
  std::vector<int64_t> ring_rows_;
  std::vector<double> ring_host_;
  bool fused_this_step_ = false;
  uint64_t data_budget_ = 0;
  bool have_snapshot_ = false;
  DeviceArray snap_params_;
  OptimizerState snap_opt_;
  std::vector<int64_t> inject_steps_;
  std::vector<int64_t> full_width_;  // widths the plan was built for
  std::vector<bool> bypass_;         // per node, under set_active_widths
  bool slim_ = false;
  mutable std::mutex serve_mu_;
  std::shared_ptr<const DeviceArray> serving_;
  std::atomic<uint64_t> serving_version_{0};
  std::atomic<bool> publish_requested_{false};
  mutable std::vector<std::unique_ptr<Scratch>> pool_;  // guarded by serve_mu_
};

}  // namespace nt
