// The training loop. Per epoch: a seeded Fisher-Yates permutation, rows gathered into one
// preallocated batch buffer, one native train_step per batch, running sums of loss and metrics,
// then validation in inference mode. Observers are told of batches without waiting and of epoch
// boundaries synchronously (so callbacks like early stopping see a consistent model).
#include "engine/trainer.h"

#include <chrono>
#include <cstdio>
#include <string>
#include <cmath>
#include <cstring>
#include <limits>
#include <new>
#include <numeric>

#include "nodetrain/parallel.h"

namespace nt {

Status validate_data(const Model& m, const DataView& d, const char* what) {
  const std::string w(what);
  if (d.rows < 1) return InvalidArgument("Expected at least one row for the " + w + " data but received none");
  if (d.x == nullptr) return InvalidArgument("Expected features for the " + w + " data but received none");
  if (d.cols != m.input_width())
    return InvalidArgument("Expected " + std::to_string(m.input_width()) + " features (the model's input width) for the " +
                           w + " data but received " + std::to_string(d.cols));
  if (m.spec().sparse_labels) {
    if (d.labels == nullptr)
      return InvalidArgument("Expected integer class labels for the " + w + " targets but received float targets");
  } else {
    if (d.y == nullptr)
      return InvalidArgument("Expected float targets for the " + w + " targets but received integer class labels");
    if (d.y_cols != m.spec().target_width)
      return InvalidArgument("Expected " + std::to_string(m.spec().target_width) +
                             " columns (the model's output width) for the " + w + " targets but received " +
                             std::to_string(d.y_cols));
  }
  return Status::Ok();
}

namespace {

std::string format_rate(double lr) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g", lr);
  return buf;
}

struct Batcher {
  const DataView& d;
  std::vector<float> xb, yb;
  std::vector<int32_t> lb;
  std::vector<float> wb;
  Batcher(const DataView& dv, int64_t batch) : d(dv) {
    xb.resize(static_cast<size_t>(batch * d.cols));
    if (d.weights) wb.resize(static_cast<size_t>(batch));
    if (d.y) yb.resize(static_cast<size_t>(batch * d.y_cols));
    if (d.labels) lb.resize(static_cast<size_t>(batch));
  }
  // Gathers rows idx[0..n) into the batch buffers: split over the pool by rows once a batch is
  // large (a 128 x 784 batch is 400 KB of scattered reads), on the calling thread below that.
  void gather(const uint32_t* idx, int64_t n) {
    const int64_t width = d.cols + (d.y ? d.y_cols : 0);
    parallel_for(std::min(n, tasks_for_work(n * width, kGatherGrain)), [&](int ith, int nth) {
      int64_t b, e;
      partition(n, ith, nth, 1, &b, &e);
      gather_rows(idx, b, e);
    });
  }
  void gather_rows(const uint32_t* idx, int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      const int64_t s = idx[r];
      std::memcpy(xb.data() + r * d.cols, d.x + s * d.cols, static_cast<size_t>(d.cols) * sizeof(float));
      if (d.y) std::memcpy(yb.data() + r * d.y_cols, d.y + s * d.y_cols, static_cast<size_t>(d.y_cols) * sizeof(float));
      if (d.labels) lb[r] = d.labels[s];
      if (d.weights) wb[r] = d.weights[s];
    }
  }
  static constexpr int64_t kGatherGrain = int64_t(1) << 15;  // floats per task
};

}  // namespace

namespace {
// An inference Scratch from the model's pool, returned on every path.
struct PooledScratch {
  explicit PooledScratch(const Model& m) : m(m), s(m.acquire_scratch()) {}
  ~PooledScratch() { m.release_scratch(std::move(s)); }
  const Model& m;
  std::unique_ptr<Scratch> s;
};
}  // namespace

Status evaluate(const Model& m, const float* params, const DataView& d, int64_t batch_size, double* loss,
                std::vector<double>* metrics) {
  NT_RETURN_IF_ERROR(validate_data(m, d, "evaluation"));
  const int64_t bs = std::min(batch_size, m.max_batch());
  PooledScratch ps(m);
  BatchStats total, b;
  total.reset(m.spec().metrics.size());
  for (int64_t s = 0; s < d.rows; s += bs) {
    const int64_t n = std::min(bs, d.rows - s);
    NT_RETURN_IF_ERROR(m.eval_batch(params, *ps.s, d.x + s * d.cols, d.y ? d.y + s * d.y_cols : nullptr,
                                    d.labels ? d.labels + s : nullptr, n, &b));
    total.add(b);
  }
  *loss = total.loss_sum / static_cast<double>(total.rows);
  *metrics = total.values();
  return Status::Ok();
}

Status predict(const Model& m, const float* params, const float* x, int64_t rows, int64_t batch_size, float* out) {
  const int64_t bs = std::min(batch_size, m.max_batch());
  const int64_t in = m.input_width(), ow = m.output_width();
  PooledScratch ps(m);
  for (int64_t s = 0; s < rows; s += bs) {
    const int64_t n = std::min(bs, rows - s);
    NT_RETURN_IF_ERROR(m.predict_batch(params, *ps.s, x + s * in, n, out + s * ow));
  }
  return Status::Ok();
}

Status fit(Model& m, const DataView& train, const FitConfig& cfg, FitObserver& obs, int* epochs_done) {
  *epochs_done = 0;
  NT_RETURN_IF_ERROR(validate_data(m, train, "training"));
  if (cfg.has_val) NT_RETURN_IF_ERROR(validate_data(m, cfg.val, "validation"));
  if (cfg.batch_size < 1 || cfg.batch_size > m.max_batch()) return InvalidArgument("Expected a batch size in [1, " + std::to_string(m.max_batch()) + "] but received " +
                           std::to_string(cfg.batch_size));
  if (train.rows > static_cast<int64_t>(UINT32_MAX)) return InvalidArgument("Expected at most " + std::to_string(UINT32_MAX) + " training rows but received " +
                           std::to_string(train.rows));
  try {
    Batcher batcher(train, cfg.batch_size);
    std::vector<uint32_t> perm(static_cast<size_t>(train.rows));
    std::iota(perm.begin(), perm.end(), 0u);
    Rng rng(cfg.seed ^ 0x5bd1e995ull);
    const size_t n_metrics = m.spec().metrics.size();
    BatchStats epoch_stats, b;
    std::vector<double> bm;  // the batch's metric values, storage reused across steps
    // Divergence guard state.
    int recoveries = 0;
    double ema = 0, ema_weight = 0, best_ema = std::numeric_limits<double>::infinity();
    int64_t since_snapshot = 0, healthy_steps = 0;
    double initial_ema = std::numeric_limits<double>::infinity();
    if (cfg.guard) m.take_snapshot();
    m.reseed(cfg.seed ^ 0x9E3779B97F4A7C15ull);  // dropout masks follow the fit's seed
    for (int epoch = cfg.initial_epoch; epoch < cfg.initial_epoch + cfg.epochs; ++epoch) {
      if (obs.should_stop() || !obs.on_epoch_begin(epoch)) break;
      const auto t0 = std::chrono::steady_clock::now();
      if (cfg.shuffle) {
        for (size_t i = perm.size() - 1; i > 0; --i) std::swap(perm[i], perm[rng.below(static_cast<uint32_t>(i + 1))]);
      }
      epoch_stats.reset(n_metrics);
      double lr = 0;
      int64_t batch = 0;
      bool stopped = false;
      for (int64_t s = 0; s < train.rows; s += cfg.batch_size, ++batch) {
        if (obs.should_stop()) {
          stopped = true;
          break;
        }
        const int64_t n = std::min(cfg.batch_size, train.rows - s);
        const float *xb, *yb = nullptr;
        const int32_t* lb = nullptr;
        const float* wb = nullptr;
        if (cfg.shuffle) {
          batcher.gather(perm.data() + s, n);
          xb = batcher.xb.data();
          if (train.y) yb = batcher.yb.data();
          if (train.labels) lb = batcher.lb.data();
          if (train.weights) wb = batcher.wb.data();
        } else {  // contiguous rows: no copy
          xb = train.x + s * train.cols;
          if (train.y) yb = train.y + s * train.y_cols;
          if (train.labels) lb = train.labels + s;
          if (train.weights) wb = train.weights + s;
        }
        Status st = m.train_step(xb, yb, lb, n, &b, &lr, wb);
        if (cfg.guard) {
          bool diverged = st.code() == StatusCode::kNonFinite;
          if (st.ok()) {
            const double l = b.loss_sum / static_cast<double>(b.rows);
            ema = 0.9 * ema + 0.1 * l;
            ema_weight = 0.9 * ema_weight + 0.1;
            const double smooth = ema / ema_weight;
            ++healthy_steps;
            if (healthy_steps == 10) initial_ema = smooth;
            // Exploding: the smoothed loss is far above its best and above where this fit started
            // (a loss approaching zero may fluctuate by large factors without diverging).
            if (cfg.guard_explode > 0 && healthy_steps > 10 && smooth > cfg.guard_explode * best_ema &&
                smooth > initial_ema)
              diverged = true;
            if (healthy_steps > 10) best_ema = std::min(best_ema, smooth);
          }
          if (diverged) {
            if (++recoveries > cfg.guard_max_retries)
              return Status(StatusCode::kNonFinite,
                            "Training diverged " + std::to_string(recoveries) + " times (last at epoch " +
                                std::to_string(epoch + 1) + ", batch " + std::to_string(batch + 1) + ", learning rate " +
                                format_rate(lr) + "); lower the learning rate or clip gradients");
            m.restore_snapshot();
            m.set_lr_multiplier(m.lr_multiplier() * 0.5);
            ema = ema_weight = 0;
            best_ema = std::numeric_limits<double>::infinity();
            initial_ema = std::numeric_limits<double>::infinity();
            healthy_steps = since_snapshot = 0;
            continue;
          }
          if (st.ok() && ++since_snapshot >= cfg.guard_snapshot_every &&
              (healthy_steps <= 10 || ema / ema_weight <= 1.5 * best_ema)) {
            m.take_snapshot();
            since_snapshot = 0;
          }
        }
        if (!st.ok()) {
          if (st.code() == StatusCode::kNonFinite)
            return Status(StatusCode::kNonFinite, st.message() + " at epoch " + std::to_string(epoch + 1) + ", batch " +
                                                      std::to_string(batch + 1) +
                                                      " (the update was not applied); lower the learning rate or clip gradients");
          return st;
        }
        epoch_stats.add(b);
        b.values_into(&bm);
        obs.on_batch_end(epoch, batch, n, b.loss_sum / static_cast<double>(b.rows), bm, lr);
        // Serving snapshot: every publish_every steps, or when asked (model.publish()).
        if (m.take_publish_request() || (cfg.publish_every > 0 && m.step_count() % cfg.publish_every == 0)) m.publish();
      }
      if (stopped) break;  // a partial epoch is not reported as completed
      EpochLogs logs;
      logs.epoch = epoch;
      // An epoch whose every step was rolled back by the guard reports NaN.
      logs.loss = epoch_stats.loss_sum / static_cast<double>(epoch_stats.rows);
      logs.metrics = epoch_stats.values();
      logs.lr = lr;
      logs.steps = batch;
      logs.recoveries = recoveries;
      if (cfg.has_val) {
        logs.has_val = true;
        NT_RETURN_IF_ERROR(evaluate(m, m.arena(), cfg.val, cfg.val_batch_size, &logs.val_loss, &logs.val_metrics));
      }
      logs.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      *epochs_done += 1;
      m.publish();  // epoch end: inference now serves this epoch's weights
      if (!obs.on_epoch_end(logs)) break;
    }
  } catch (const std::bad_alloc&) {
    return Status(StatusCode::kOutOfMemory, "Out of memory while training");
  }
  return Status::Ok();
}

}  // namespace nt
