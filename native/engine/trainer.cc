// The training loop. Per epoch: a seeded Fisher-Yates permutation, rows gathered into one
// preallocated batch buffer, one native train_step per batch, running sums of loss and metrics,
// then validation in inference mode. Observers are told of batches without waiting and of epoch
// boundaries synchronously (so callbacks like early stopping see a consistent model).
#include "engine/trainer.h"

#include <chrono>
#include <cstdlib>
#include <cstdio>
#include <string>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <new>
#include <numeric>

#include "engine/data_stream.h"
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

// A data set in the model's backend memory: the host arrays themselves on the CPU; on a device,
// one upload per fit (DESIGN: the data set is uploaded once when it fits).
struct ResidentData {
  DataView view;
  DeviceArray x, y, labels, weights;
  ResidentData(const Backend& be, const DataView& d) : view(d) {
    if (be.host_memory) return;
    auto up = [&](DeviceArray& dst, const void* src, int64_t n) -> const float* {
      if (!src) return nullptr;
      dst.assign(be, static_cast<size_t>(n), 0.0f);
      be.copy_to_device(dst.data(), src, static_cast<size_t>(n) * sizeof(float));
      return dst.data();
    };
    view.x = up(x, d.x, d.rows * d.cols);
    view.y = up(y, d.y, d.rows * d.y_cols);
    view.labels = reinterpret_cast<const int32_t*>(up(labels, d.labels, d.rows));
    view.weights = up(weights, d.weights, d.rows);
  }
};

// A training set streamed in chunks (data_stream.h): rows gathered in epoch order on the host into
// one of two staging buffers (pinned on a device backend), uploaded on the backend's upload queue
// into one of two device chunks, double-buffered: chunk c + 1 uploads while chunk c trains. A chunk
// holds [x | y | labels | weights] each for chunk_rows rows, so its batches are contiguous slices.
// Without upload slots (host tables, used by the tests) the copies are plain synchronous ones.
struct StreamedData {
  const Backend& be;
  const DataView& d;  // host memory
  DataStreamPlan plan;
  int64_t y_cols = 0;
  bool async = false;
  DeviceArray dev[2];
  void* pinned[2] = {nullptr, nullptr};
  std::vector<float> plain[2];
  const uint32_t* order = nullptr;  // the epoch order (host), or null: rows in storage order
  int64_t current = -1;             // the chunk the batches read
  int64_t begin = 0, end = 0;       // its rows in the epoch order

  StreamedData(const Backend& backend, const DataView& host, const DataStreamPlan& p) : be(backend), d(host), plan(p) {
    y_cols = d.y ? d.y_cols : 0;
    const size_t floats = static_cast<size_t>(plan.chunk_rows * row_floats());
    async = be.upload_async && be.upload_compute_wait && be.upload_host_wait && be.alloc_pinned && be.free_pinned;
    for (int k = 0; k < 2; ++k) {
      dev[k].assign(be, floats, 0.0f);
      if (async) pinned[k] = be.alloc_pinned(floats * sizeof(float));
      if (!pinned[k]) plain[k].assign(floats, 0.0f);
    }
    if (async && (!pinned[0] || !pinned[1])) async = false;  // page-locked memory refused: plain copies
  }
  ~StreamedData() {
    if (async) (void)be.upload_host_wait(0), (void)be.upload_host_wait(1);
    for (int k = 0; k < 2; ++k)
      if (pinned[k]) be.free_pinned(pinned[k]);
  }
  int64_t row_floats() const { return d.cols + y_cols + (d.labels ? 1 : 0) + (d.weights ? 1 : 0); }
  float* host(int k) { return pinned[k] ? static_cast<float*>(pinned[k]) : plain[k].data(); }
  // Offsets (floats) of the sub-arrays of a chunk.
  int64_t y_off() const { return plan.chunk_rows * d.cols; }
  int64_t l_off() const { return y_off() + plan.chunk_rows * y_cols; }
  int64_t w_off() const { return l_off() + (d.labels ? plan.chunk_rows : 0); }

  // Gathers chunk c on the host and queues its upload.
  Status fill(int64_t c) {
    const int k = static_cast<int>(c & 1);
    if (async) NT_RETURN_IF_ERROR(be.upload_host_wait(k));  // the buffer's previous upload has landed
    int64_t b, e;
    chunk_range(plan, d.rows, c, &b, &e);
    const int64_t n = e - b;
    float* h = host(k);
    gather_host_rows(d.x, d.cols * 4, order, b, n, h);
    if (d.y) gather_host_rows(d.y, y_cols * 4, order, b, n, h + y_off());
    if (d.labels) gather_host_rows(d.labels, 4, order, b, n, h + l_off());
    if (d.weights) gather_host_rows(d.weights, 4, order, b, n, h + w_off());
    // One copy of the whole chunk buffer (the unused tail of a short last chunk included).
    const size_t bytes = static_cast<size_t>(plan.chunk_rows * row_floats()) * sizeof(float);
    if (async) return be.upload_async(dev[k].data(), h, bytes, k);
    be.copy_to_device(dev[k].data(), h, bytes);
    return Status::Ok();
  }
  // A new epoch in `epoch_order` (null: storage order): queues chunk 0.
  Status start_epoch(const uint32_t* epoch_order) {
    order = epoch_order;
    current = -1;
    return fill(0);
  }
  // Makes the chunk holding epoch position s current (queueing the next chunk's upload first).
  Status seek(int64_t s) {
    const int64_t c = s / plan.chunk_rows;
    if (c == current) return Status::Ok();
    if (c + 1 < plan.chunks) NT_RETURN_IF_ERROR(fill(c + 1));
    if (async) NT_RETURN_IF_ERROR(be.upload_compute_wait(static_cast<int>(c & 1)));
    current = c;
    chunk_range(plan, d.rows, c, &begin, &end);
    return Status::Ok();
  }
  // Whether epoch position s lies past the current chunk.
  bool past_chunk(int64_t s) const { return s >= end; }
  // The batch at epoch position s (inside the current chunk).
  void batch(int64_t s, const float** x, const float** y, const int32_t** l, const float** w) {
    const float* base = dev[current & 1].data();
    const int64_t r = s - begin;
    *x = base + r * d.cols;
    *y = d.y ? base + y_off() + r * y_cols : nullptr;
    *l = d.labels ? reinterpret_cast<const int32_t*>(base + l_off() + r) : nullptr;
    *w = d.weights ? base + w_off() + r : nullptr;
  }
};

// A shuffled batch, gathered in backend memory through the backend's gather_rows slot.
struct Batcher {
  const Backend& be;
  const DataView& d;  // in backend memory
  DeviceArray xb, yb, lb, wb, idx;
  Batcher(const Backend& backend, const DataView& dv, int64_t batch) : be(backend), d(dv) {
    xb.assign(be, static_cast<size_t>(batch * d.cols), 0.0f);
    if (d.weights) wb.assign(be, static_cast<size_t>(batch), 0.0f);
    if (d.y) yb.assign(be, static_cast<size_t>(batch * d.y_cols), 0.0f);
    if (d.labels) lb.assign(be, static_cast<size_t>(batch), 0.0f);
    if (!be.host_memory) idx.assign(be, static_cast<size_t>(d.rows), 0.0f);
  }
  // The epoch's permutation where the gather reads it: the host array itself, or one upload.
  const uint32_t* order(const std::vector<uint32_t>& perm) {
    if (be.host_memory) return perm.data();
    be.copy_to_device(idx.data(), perm.data(), perm.size() * sizeof(uint32_t));
    return reinterpret_cast<const uint32_t*>(idx.data());
  }
  // Gathers rows idx[0..n) into the batch buffers.
  Status gather(const uint32_t* ix, int64_t n) {
    NT_RETURN_IF_ERROR(be.gather_rows(d.x, d.cols, ix, n, xb.data()));
    if (d.y) NT_RETURN_IF_ERROR(be.gather_rows(d.y, d.y_cols, ix, n, yb.data()));
    if (d.labels) NT_RETURN_IF_ERROR(be.gather_rows(reinterpret_cast<const float*>(d.labels), 1, ix, n, lb.data()));
    if (d.weights) NT_RETURN_IF_ERROR(be.gather_rows(d.weights, 1, ix, n, wb.data()));
    return Status::Ok();
  }
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

namespace {
// evaluate over a data set already in the model's backend memory. The batches' stats records
// collect in backend memory (up to 4 MiB of them) and come back in one copy per group of batches,
// summed in batch order as one by one.
Status evaluate_resident(const Model& m, const float* params, const DataView& d, int64_t batch_size, double* loss,
                         std::vector<double>* metrics) {
  const Backend& be = m.backend();
  const int64_t bs = std::min(batch_size, m.max_batch());
  const bool labels = d.labels != nullptr;
  const int64_t stride = m.stats_width(labels);
  const int64_t batches = (d.rows + bs - 1) / bs;
  const int64_t group = std::max<int64_t>(1, std::min<int64_t>(batches, (int64_t{4} << 20) / (stride * 8)));
  DeviceArray recs;
  recs.assign(be, static_cast<size_t>(2 * stride * group), 0.0f);
  double* dev = reinterpret_cast<double*>(recs.data());
  std::vector<double> host;
  PooledScratch ps(m);
  BatchStats total, b;
  total.reset(m.spec().metrics.size());
  for (int64_t g0 = 0; g0 < batches; g0 += group) {
    const int64_t ng = std::min(group, batches - g0);
    for (int64_t j = 0; j < ng; ++j) {
      const int64_t s = (g0 + j) * bs, n = std::min(bs, d.rows - s);
      NT_RETURN_IF_ERROR(m.eval_batch_record(params, *ps.s, d.x + s * d.cols, d.y ? d.y + s * d.y_cols : nullptr,
                                             labels ? d.labels + s : nullptr, n, dev + j * stride));
    }
    const double* rec = dev;
    if (!be.host_memory) {
      host.resize(static_cast<size_t>(ng * stride));
      be.copy_to_host(host.data(), dev, host.size() * sizeof(double));
      rec = host.data();
    }
    for (int64_t j = 0; j < ng; ++j) {
      const int64_t s = (g0 + j) * bs;
      NT_RETURN_IF_ERROR(m.decode_stats(rec + j * stride, std::min(bs, d.rows - s), labels, &b));
      total.add(b);
    }
  }
  *loss = total.loss_sum / static_cast<double>(total.rows);
  *metrics = total.values();
  return Status::Ok();
}

// evaluate over a host data set too large for the device budget: each batch is staged by itself.
Status evaluate_staged(const Model& m, const float* params, const DataView& d, int64_t batch_size, double* loss,
                       std::vector<double>* metrics) {
  const Backend& be = m.backend();
  const int64_t bs = std::min(batch_size, m.max_batch());
  DeviceArray xs, ys, ls;
  xs.assign(be, static_cast<size_t>(bs * d.cols), 0.0f);
  if (d.y) ys.assign(be, static_cast<size_t>(bs * d.y_cols), 0.0f);
  if (d.labels) ls.assign(be, static_cast<size_t>(bs), 0.0f);
  PooledScratch ps(m);
  BatchStats total, b;
  total.reset(m.spec().metrics.size());
  for (int64_t s = 0; s < d.rows; s += bs) {
    const int64_t n = std::min(bs, d.rows - s);
    be.copy_to_device(xs.data(), d.x + s * d.cols, static_cast<size_t>(n * d.cols) * sizeof(float));
    if (d.y) be.copy_to_device(ys.data(), d.y + s * d.y_cols, static_cast<size_t>(n * d.y_cols) * sizeof(float));
    if (d.labels) be.copy_to_device(ls.data(), d.labels + s, static_cast<size_t>(n) * sizeof(int32_t));
    NT_RETURN_IF_ERROR(m.eval_batch(params, *ps.s, xs.data(), d.y ? ys.data() : nullptr,
                                    d.labels ? reinterpret_cast<const int32_t*>(ls.data()) : nullptr, n, &b));
    total.add(b);
  }
  *loss = total.loss_sum / static_cast<double>(total.rows);
  *metrics = total.values();
  return Status::Ok();
}

// Whether a host data set is uploaded whole or streamed (data_stream.h): only device backends (or
// the model's test budget) stream; the budget is the test one, else NODETRAIN_CUDA_DATA_BUDGET or
// 3/4 of the free device memory.
// `used`: bytes of the budget already taken by another resident set of the same fit.
Status plan_data(const Model& m, const DataView& d, int64_t batch, DataStreamPlan* plan, uint64_t used = 0) {
  *plan = DataStreamPlan();
  const Backend& be = m.backend();
  uint64_t budget = m.data_budget_override();
  if (!budget) {
    if (be.host_memory) return Status::Ok();
    NT_RETURN_IF_ERROR(data_budget(std::getenv("NODETRAIN_CUDA_DATA_BUDGET"),
                                   be.memory_available ? be.memory_available() : UINT64_MAX / 2, &budget));
  }
  budget = budget > used ? budget - used : 1;
  const int64_t row_floats = d.cols + (d.y ? d.y_cols : 0) + (d.labels ? 1 : 0) + (d.weights ? 1 : 0);
  return plan_data_stream(d.rows, row_floats * 4, batch, budget, plan);
}
}  // namespace

Status evaluate(const Model& m, const float* params, const DataView& host_data, int64_t batch_size, double* loss,
                std::vector<double>* metrics) {
  NT_RETURN_IF_ERROR(validate_data(m, host_data, "evaluation"));
  try {
    DataStreamPlan plan;
    NT_RETURN_IF_ERROR(plan_data(m, host_data, std::min(batch_size, m.max_batch()), &plan));
    if (plan.streamed) return evaluate_staged(m, params, host_data, batch_size, loss, metrics);
    ResidentData resident(m.backend(), host_data);
    return evaluate_resident(m, params, resident.view, batch_size, loss, metrics);
  } catch (const std::bad_alloc&) {
    return Status(StatusCode::kOutOfMemory, "Out of memory while evaluating");
  }
}

Status predict(const Model& m, const float* params, const float* x, int64_t rows, int64_t batch_size, float* out) {
  const int64_t bs = std::min(batch_size, m.max_batch());
  const int64_t in = m.input_width(), ow = m.output_width();
  const Backend& be = m.backend();
  DeviceArray xd;  // a device backend reads each batch from one staging buffer
  if (!be.host_memory) xd.assign(be, static_cast<size_t>(bs * in), 0.0f);
  PooledScratch ps(m);
  for (int64_t s = 0; s < rows; s += bs) {
    const int64_t n = std::min(bs, rows - s);
    const float* xb = x + s * in;
    if (!be.host_memory) {
      be.copy_to_device(xd.data(), xb, static_cast<size_t>(n * in) * sizeof(float));
      xb = xd.data();
    }
    NT_RETURN_IF_ERROR(m.predict_batch(params, *ps.s, xb, n, out + s * ow));
  }
  return Status::Ok();
}

Status fit(Model& m, const DataView& host_train, const FitConfig& cfg, FitObserver& obs, int* epochs_done) {
  *epochs_done = 0;
  NT_RETURN_IF_ERROR(validate_data(m, host_train, "training"));
  const DataView& train_check = host_train;
  if (cfg.has_val) NT_RETURN_IF_ERROR(validate_data(m, cfg.val, "validation"));
  if (cfg.batch_size < 1 || cfg.batch_size > m.max_batch()) return InvalidArgument("Expected a batch size in [1, " + std::to_string(m.max_batch()) + "] but received " +
                           std::to_string(cfg.batch_size));
  if (train_check.rows > static_cast<int64_t>(UINT32_MAX)) return InvalidArgument("Expected at most " + std::to_string(UINT32_MAX) + " training rows but received " +
                           std::to_string(train_check.rows));
  try {
    const Backend& be = m.backend();
    // The training set: uploaded once when it fits the device budget, else streamed in chunks.
    DataStreamPlan splan;
    NT_RETURN_IF_ERROR(plan_data(m, host_train, cfg.batch_size, &splan));
    std::unique_ptr<ResidentData> resident;
    std::unique_ptr<StreamedData> streamed;
    std::unique_ptr<Batcher> batcher;
    if (splan.streamed) {
      streamed.reset(new StreamedData(be, host_train, splan));
    } else {
      resident.reset(new ResidentData(be, host_train));
      batcher.reset(new Batcher(be, resident->view, cfg.batch_size));
    }
    const DataView& train = splan.streamed ? host_train : resident->view;
    // Validation: resident beside a resident training set when it fits too, else staged per batch.
    std::unique_ptr<ResidentData> val;
    bool val_staged = false;
    if (cfg.has_val) {
      DataStreamPlan vplan;
      const uint64_t train_bytes = static_cast<uint64_t>(host_train.rows) * 4 *
                                   static_cast<uint64_t>(host_train.cols + (host_train.y ? host_train.y_cols : 0) +
                                                         (host_train.labels ? 1 : 0) + (host_train.weights ? 1 : 0));
      NT_RETURN_IF_ERROR(plan_data(m, cfg.val, std::min(cfg.val_batch_size, m.max_batch()), &vplan,
                                   splan.streamed ? 0 : train_bytes));
      val_staged = splan.streamed || vplan.streamed;
      if (!val_staged) val.reset(new ResidentData(be, cfg.val));
    }
    const uint32_t* order = nullptr;
    std::vector<uint32_t> perm(static_cast<size_t>(train.rows));
    std::iota(perm.begin(), perm.end(), 0u);
    Rng rng(cfg.seed ^ 0x5bd1e995ull);
    const size_t n_metrics = m.spec().metrics.size();
    BatchStats epoch_stats, b;
    std::vector<double> bm;  // the batch's metric values, storage reused across steps
    // Steps whose stats records wait in the model's ring (Model::defers_stats).
    struct PendingStep {
      int64_t batch, rows;
      double lr;
      int64_t step;  // the optimizer's 1-based step count after it
      Rng rng;       // the dropout generator after it (a rollback resumes from there)
    };
    std::vector<PendingStep> pending;
    std::vector<BatchStats> records;
    m.drop_stats();
    m.sync_update_health();  // skips a failed earlier fit left unread are not this fit's
    // Divergence guard state.
    int recoveries = 0;
    double ema = 0, ema_weight = 0, best_ema = std::numeric_limits<double>::infinity();
    int64_t since_snapshot = 0, healthy_steps = 0;
    double initial_ema = std::numeric_limits<double>::infinity();
    if (cfg.guard) m.take_snapshot();
    m.reseed(cfg.seed ^ 0x9E3779B97F4A7C15ull);  // dropout masks follow the fit's seed
    // One step's outcome through the guard, the epoch's sums and the batch event: Ok (with
    // *restored when the guard rolled back to its snapshot) or the fit's failure.
    auto absorb = [&](const Status& st, const BatchStats& bs, int epoch, int64_t batch, int64_t n, double step_lr,
                      bool* restored) -> Status {
      *restored = false;
      if (cfg.guard) {
        bool diverged = st.code() == StatusCode::kNonFinite;
        if (st.ok()) {
          const double l = bs.loss_sum / static_cast<double>(bs.rows);
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
                              format_rate(step_lr) + "); lower the learning rate or clip gradients");
          m.restore_snapshot();
          m.set_lr_multiplier(m.lr_multiplier() * 0.5);
          ema = ema_weight = 0;
          best_ema = std::numeric_limits<double>::infinity();
          initial_ema = std::numeric_limits<double>::infinity();
          healthy_steps = since_snapshot = 0;
          *restored = true;
          return Status::Ok();
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
      epoch_stats.add(bs);
      bs.values_into(&bm);
      obs.on_batch_end(epoch, batch, n, bs.loss_sum / static_cast<double>(bs.rows), bm, step_lr);
      return Status::Ok();
    };
    // The pending steps' records, read back in one copy (with the update record) and absorbed in
    // step order. A failure read back is reported at the first step the device skipped (else the
    // latest one). A guard rollback discards the records after the step that caused it, and *resume
    // receives that step's batch: the epoch goes on from the batch after it, as on the per-step
    // path (the steps taken past it were undone by the rollback).
    auto drain = [&](int epoch, bool* restored, int64_t* resume) -> Status {
      *restored = false;
      int64_t bad = 0;
      const Status rs = m.read_stats(&records, &bad);
      const Status hs = m.read_update_health();
      // The first failed step: the first one the device skipped, or the first with a bad label or
      // weight (its record names it; the device skipped it too), whichever comes first. The steps
      // before it report as they would have one by one.
      const size_t n = pending.size();
      size_t at = n;
      Status fail = Status::Ok();
      if (!hs.ok()) {
        at = 0;  // a skip that matches no pending step is reported at the window's first
        for (size_t i = 0; i < n; ++i)
          if (pending[i].step == m.first_skipped_step()) {
            at = i;
            break;
          }
        fail = hs;
      }
      if (!rs.ok() && static_cast<size_t>(bad) <= at) {
        at = static_cast<size_t>(bad);
        fail = rs;
      }
      for (size_t i = 0; i < at && !*restored; ++i) {
        const PendingStep& p = pending[i];
        *resume = p.batch;
        NT_RETURN_IF_ERROR(absorb(Status::Ok(), records[i], epoch, p.batch, p.rows, p.lr, restored));
        if (*restored) m.set_train_rng(p.rng);
      }
      if (!*restored && at < n) {
        const PendingStep p = pending[at];
        *resume = p.batch;
        pending.clear();
        NT_RETURN_IF_ERROR(absorb(fail, b, epoch, p.batch, p.rows, p.lr, restored));
        if (*restored) m.set_train_rng(p.rng);
        return Status::Ok();
      }
      pending.clear();
      return Status::Ok();
    };
    for (int epoch = cfg.initial_epoch; epoch < cfg.initial_epoch + cfg.epochs; ++epoch) {
      if (obs.should_stop() || !obs.on_epoch_begin(epoch)) break;
      const auto t0 = std::chrono::steady_clock::now();
      if (cfg.shuffle) {
        for (size_t i = perm.size() - 1; i > 0; --i) std::swap(perm[i], perm[rng.below(static_cast<uint32_t>(i + 1))]);
        if (batcher) order = batcher->order(perm);
      }
      if (streamed) NT_RETURN_IF_ERROR(streamed->start_epoch(cfg.shuffle ? perm.data() : nullptr));
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
        if (streamed) {  // rows already in epoch order in the current chunk
          NT_RETURN_IF_ERROR(streamed->seek(s));
          streamed->batch(s, &xb, &yb, &lb, &wb);
        } else if (cfg.shuffle) {
          NT_RETURN_IF_ERROR(batcher->gather(order + s, n));
          xb = batcher->xb.data();
          if (train.y) yb = batcher->yb.data();
          if (train.labels) lb = reinterpret_cast<const int32_t*>(batcher->lb.data());
          if (train.weights) wb = batcher->wb.data();
        } else {  // contiguous rows: no copy
          xb = train.x + s * train.cols;
          if (train.y) yb = train.y + s * train.y_cols;
          if (train.labels) lb = train.labels + s;
          if (train.weights) wb = train.weights + s;
        }
        // A step that leaves its stats in the model's ring follows no step that did not.
        const bool defer = m.defers_stats();
        bool restored = false;
        int64_t resume = batch;
        if (!defer && !pending.empty()) NT_RETURN_IF_ERROR(drain(epoch, &restored, &resume));
        if (!restored) {
          Status st = m.train_step(xb, yb, lb, n, &b, &lr, wb);
          // A step that failed before its update reports the rate it would have run at.
          if (!st.ok() && m.num_groups() > 0) lr = m.effective_lr(0, m.step_count());
          if (st.ok() && defer) {
            pending.push_back({batch, n, lr, m.step_count(), m.train_rng()});
            // Read back at the epoch's last batch, at the guard's snapshot points, when the ring is
            // full, at a streamed chunk's last batch (a rollback then resumes inside the chunk
            // still resident), and at every step when JavaScript listens to batch events.
            if (s + cfg.batch_size >= train.rows || cfg.batch_events || m.stats_ring_full() ||
                (streamed && streamed->past_chunk(s + cfg.batch_size)) ||
                (cfg.guard && since_snapshot + static_cast<int64_t>(pending.size()) >= cfg.guard_snapshot_every))
              NT_RETURN_IF_ERROR(drain(epoch, &restored, &resume));
          } else {
            // A failed step comes after the pending ones: they are read back first (a rollback
            // they cause undoes this step too).
            if (!pending.empty()) NT_RETURN_IF_ERROR(drain(epoch, &restored, &resume));
            if (!restored) NT_RETURN_IF_ERROR(absorb(st, b, epoch, batch, n, lr, &restored));
          }
        }
        // Serving snapshot: every publish_every steps, or when asked (model.publish()); pending
        // steps are read back first, so a step the guard rolls back is never served.
        if (!restored) {
          const bool asked = m.take_publish_request();
          if (asked || (cfg.publish_every > 0 && m.step_count() % cfg.publish_every == 0)) {
            if (!pending.empty()) NT_RETURN_IF_ERROR(drain(epoch, &restored, &resume));
            if (!restored) m.publish();
            else if (asked) m.request_publish();
          }
        }
        if (restored) {  // go on after the step that caused the rollback
          batch = resume;
          s = resume * cfg.batch_size;
        }
      }
      if (!pending.empty()) {  // stopped mid-epoch: the steps taken still report
        bool restored = false;
        int64_t resume = 0;
        NT_RETURN_IF_ERROR(drain(epoch, &restored, &resume));
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
        NT_RETURN_IF_ERROR(val_staged ? evaluate_staged(m, m.arena(), cfg.val, cfg.val_batch_size, &logs.val_loss,
                                                        &logs.val_metrics)
                                      : evaluate_resident(m, m.arena(), val->view, cfg.val_batch_size, &logs.val_loss,
                                                          &logs.val_metrics));
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
