// The native training loop: epochs of shuffled mini-batches over an in-memory data set, with
// validation, observers for progress, cooperative stopping; plus batched evaluate and predict.
// Runs on a worker thread; the observer decides how events reach JavaScript. Pure C++.
#pragma once
#include <cstdint>
#include <vector>

#include "engine/model.h"

namespace nt {

// A data set in memory: x [rows, cols]; targets either y [rows, y_cols] or labels [rows].
struct DataView {
  const float* x = nullptr;
  int64_t rows = 0, cols = 0;
  const float* y = nullptr;
  int64_t y_cols = 0;
  const int32_t* labels = nullptr;
  // Per-row loss weights (training only; null: every row weighs 1). Keras semantics: the batch
  // loss is sum(w_i * loss_i) / rows, so weights scale each row's gradient.
  const float* weights = nullptr;
};

struct FitConfig {
  int epochs = 1;
  int initial_epoch = 0;
  int64_t batch_size = 32;
  bool shuffle = true;
  uint64_t seed = 0;
  bool has_val = false;
  DataView val;
  int64_t val_batch_size = 256;
  // Divergence guard: a non-finite loss or gradient (the update is then not applied), or a
  // smoothed loss above guard_explode x its best value (0: off), restores the last good snapshot
  // of weights and optimizer state, halves the learning rate and continues; after
  // guard_max_retries recoveries the fit fails.
  bool guard = false;
  int guard_max_retries = 5;
  double guard_explode = 0;
  int64_t guard_snapshot_every = 20;
  // Serving snapshot: published at every epoch end, and every publish_every optimizer steps (0: off).
  int64_t publish_every = 0;
  // Whether the observer wants every batch's loss as it happens. A model whose steps leave their
  // stats on the device (Model::defers_stats) then reads them back at every step; otherwise only
  // at the guard's snapshot points, when its ring is full and at each epoch's end, and its batch
  // events arrive in bursts.
  bool batch_events = true;
};

struct EpochLogs {
  int epoch = 0;
  double loss = 0;
  std::vector<double> metrics;
  bool has_val = false;
  double val_loss = 0;
  std::vector<double> val_metrics;
  double lr = 0;
  int64_t steps = 0;
  int recoveries = 0;  // divergence-guard recoveries so far in this fit
  double seconds = 0;
};

class FitObserver {
 public:
  virtual ~FitObserver() = default;
  // Blocking events: return false to stop training.
  virtual bool on_epoch_begin(int epoch) = 0;
  virtual bool on_epoch_end(const EpochLogs& logs) = 0;
  // Non-blocking: must not stall training.
  virtual void on_batch_end(int epoch, int64_t batch, int64_t rows, double loss, const std::vector<double>& metrics,
                            double lr) = 0;
  virtual bool should_stop() = 0;
};

Status validate_data(const Model& m, const DataView& d, const char* what);
// Runs the epochs; *epochs_done receives the number of completed epochs.
Status fit(Model& m, const DataView& train, const FitConfig& cfg, FitObserver& obs, int* epochs_done);
// Mean loss and metrics over the data set in inference mode, reading the parameter arena `params`
// (the live arena or a serving snapshot). Thread-safe: each call takes its own Scratch.
Status evaluate(const Model& m, const float* params, const DataView& d, int64_t batch_size, double* loss,
                std::vector<double>* metrics);
// out: [rows, output_width]; thread-safe like evaluate.
Status predict(const Model& m, const float* params, const float* x, int64_t rows, int64_t batch_size, float* out);

}  // namespace nt
