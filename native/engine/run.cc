// Running the plan: forward over the ops in order, the loss, backward over the ops in reverse,
// and the entry points (train step, evaluation, prediction). The engine never looks at op kinds:
// the loss fusion decided at build time says which op (if any) is skipped while training.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "engine/model.h"

namespace nt {

Status Model::forward(RunContext& ctx, bool logits_out) const {
  const int n = static_cast<int>(ops_.size());
  const int out = spec_.output;
  for (int i = 0; i < n; ++i) {
    ctx.node = i;
    // In training with a fused loss, an output activation that folds into the loss is skipped.
    if (logits_out && i == out && loss_.fused_on_input()) {
      ctx.set_output(ctx.in(0));
      continue;
    }
    if (slim_ && bypass_[i]) {  // a layer beyond the active depth
      ctx.set_output(ctx.in(0));
      continue;
    }
    ctx.emit_logits = logits_out && i == out && loss_.fused() && !loss_.fused_on_input();
    NT_RETURN_IF_ERROR(ops_[i]->forward(ctx));
  }
  ctx.emit_logits = false;
  return Status::Ok();
}

Status Model::backward(RunContext& ctx) {
  const int n = static_cast<int>(ops_.size());
  const int64_t rows = ctx.rows;
  const int loss_node = loss_.loss_node();
  // Zero the gradient buffers that several consumers accumulate into.
  for (int i = 0; i < n; ++i) {
    if (i == loss_node || !plan_.needs_grad[i] || plan_.consumers[i] == 1) continue;
    ctx.be.fill(ctx.s.dacts[i].data(), 0.0f, rows * plan_.width[i]);
  }
  // Ops after the loss node (the fused output activation) are skipped.
  const int start = loss_.fused_on_input() ? loss_node : spec_.output;
  for (int i = start; i >= 0; --i) {
    if (!plan_.needs_grad[i]) continue;
    ctx.node = i;
    if (slim_ && bypass_[i]) {
      NT_RETURN_IF_ERROR(ctx.give_grad(0, ctx.dout(), ctx.count()));
      continue;
    }
    ctx.emit_logits = i == spec_.output && loss_.fused() && !loss_.fused_on_input();
    NT_RETURN_IF_ERROR(ops_[i]->backward(ctx));
  }
  ctx.emit_logits = false;
  return Status::Ok();
}

Status Model::check_rows(int64_t rows) const {
  if (rows < 1 || rows > plan_.max_batch)
    return InvalidArgument("Expected a batch of 1 to " + std::to_string(plan_.max_batch) + " rows but received " +
                           std::to_string(rows));
  return Status::Ok();
}

Status Model::train_step(const float* x, const float* y, const int32_t* labels, int64_t rows, BatchStats* stats,
                         double* lr_used, const float* row_weights) {
  NT_RETURN_IF_ERROR(check_rows(rows));
  const Backend& be = backend();
  RunContext ctx(be, plan_, train_, plan_.params, rows, true, x);
  // The device-resident update: this step's checks go to the device record (no host round trip).
  fused_this_step_ = fused_eligible();
  if (fused_this_step_) {
    NT_RETURN_IF_ERROR(be.health_reset(health()));
    ctx.health = health();
  }
  NT_RETURN_IF_ERROR(forward(ctx, true));
  float* loss_grad = train_.dacts[loss_.loss_node()].data();
  if (fused_this_step_) {  // the record stays in the ring; a bad loss vetoes the update on the device
    double* rec = nullptr;
    NT_RETURN_IF_ERROR(next_stats_record(labels != nullptr, &rec));
    NT_RETURN_IF_ERROR(loss_.launch(ctx, y, labels, loss_grad, row_weights, rec, health()));
    ring_rows_[static_cast<size_t>(ring_count_++)] = rows;
  } else {
    NT_RETURN_IF_ERROR(loss_.compute(ctx, y, labels, loss_grad, stats, row_weights));
    if (!std::isfinite(stats->loss_sum)) return Status(StatusCode::kNonFinite, "The loss is not finite");
  }
  for (size_t i = 0; i < ops_.size(); ++i) {
    if (slim_ && bypass_[i]) continue;
    ctx.node = static_cast<int>(i);
    NT_RETURN_IF_ERROR(ops_[i]->check_finite(ctx));
  }
  // A sub-network writes only its own blocks of the gradient arena: clear the rest.
  if (slim_ && n_trainable_) be.fill(grad_.data(), 0.0f, n_trainable_);
  NT_RETURN_IF_ERROR(backward(ctx));
  NT_RETURN_IF_ERROR(apply_update(lr_used));
  // State such as batch-norm moving statistics follows only applied steps. (With the device-resident
  // update a step the device skips is only known at the next read of the update record: its
  // statistics are committed meanwhile, and so are later steps' updates; the guard's restore then
  // discards them, while a fit without the guard fails with them in place.)
  for (size_t i = 0; i < ops_.size(); ++i) {
    if (slim_ && bypass_[i]) continue;
    ctx.node = static_cast<int>(i);
    NT_RETURN_IF_ERROR(ops_[i]->commit(ctx));
  }
  return Status::Ok();
}

const float* Model::stage(DeviceArray& dst, const void* src, int64_t n, int64_t width) {
  const Backend& be = backend();
  if (!src || be.host_memory) return static_cast<const float*>(src);
  const size_t cap = static_cast<size_t>(plan_.max_batch * width);
  if (dst.size() < cap) dst.assign(be, cap, 0.0f);
  be.copy_to_device(dst.data(), src, static_cast<size_t>(n) * sizeof(float));
  return dst.data();
}

Status Model::train_step_host(const float* x, const float* y, const int32_t* labels, int64_t rows,
                              BatchStats* stats, double* lr_used, const float* row_weights) {
  NT_RETURN_IF_ERROR(check_rows(rows));
  drop_stats();  // records and skips a failed fit left unread
  sync_update_health();
  const int64_t yw = spec_.target_width;
  NT_RETURN_IF_ERROR(train_step(stage(stage_x_, x, rows * input_width(), input_width()),
                                stage(stage_y_, y, rows * yw, yw),
                                reinterpret_cast<const int32_t*>(stage(stage_l_, labels, rows, 1)), rows, stats,
                                lr_used, stage(stage_w_, row_weights, rows, 1)));
  // A single step from the host reports like the host path: the records are read at once.
  return read_step_records(stats);
}

Status Model::read_step_records(BatchStats* stats) {
  Status rs = Status::Ok();
  if (ring_count_ > 0) {
    std::vector<BatchStats> recs;
    rs = read_stats(&recs);
    if (rs.ok() && stats) *stats = recs.back();
  }
  const Status hs = read_update_health();  // always: it keeps the record's count of reported steps
  return rs.ok() ? hs : rs;
}

int64_t Model::ring_capacity() const {
  if (ring_cap_override_ > 0) return ring_cap_override_;
  const int64_t stride = std::max<int64_t>(ring_stride_, kLossOutputs);
  return std::max<int64_t>(1, std::min<int64_t>(1024, (int64_t{4} << 20) / (stride * 8)));
}

Status Model::next_stats_record(bool labels, double** rec) {
  const int64_t stride = stats_width(labels);
  if (ring_count_ > 0 && (stride != ring_stride_ || labels != ring_labels_))
    return Internal("a batch's stats record changed shape with records pending");
  if (ring_count_ >= ring_capacity()) return Internal("the stats ring is full: read it back first");
  ring_stride_ = stride;
  ring_labels_ = labels;
  const int64_t cap = ring_capacity();
  const size_t floats = static_cast<size_t>(2 * stride * cap);
  if (ring_.size() < floats) ring_.assign(backend(), floats, 0.0f);
  if (ring_rows_.size() < static_cast<size_t>(cap)) ring_rows_.resize(static_cast<size_t>(cap));
  *rec = reinterpret_cast<double*>(ring_.data()) + ring_count_ * stride;
  return Status::Ok();
}

Status Model::read_stats(std::vector<BatchStats>* out, int64_t* bad) {
  const int64_t n = ring_count_;
  ring_count_ = 0;
  out->resize(static_cast<size_t>(n));
  if (n == 0) return Status::Ok();
  const Backend& be = backend();
  const double* host = reinterpret_cast<const double*>(ring_.data());
  if (!be.host_memory) {
    ring_host_.resize(static_cast<size_t>(n * ring_stride_));
    be.copy_to_host(ring_host_.data(), host, ring_host_.size() * sizeof(double));
    host = ring_host_.data();
  }
  for (int64_t i = 0; i < n; ++i) {
    const Status st = decode_stats(host + i * ring_stride_, ring_rows_[static_cast<size_t>(i)], ring_labels_,
                                   &(*out)[static_cast<size_t>(i)]);
    if (!st.ok()) {
      if (bad) *bad = i;
      return st;
    }
  }
  return Status::Ok();
}

// Inference reads `params` but never writes it (commit() runs only after a training step).
Status Model::eval_batch(const float* params, Scratch& s, const float* x, const float* y, const int32_t* labels,
                         int64_t rows, BatchStats* stats) const {
  NT_RETURN_IF_ERROR(check_rows(rows));
  RunContext ctx(backend(), plan_, s, const_cast<float*>(params), rows, false, x);
  NT_RETURN_IF_ERROR(forward(ctx, true));
  return loss_.compute(ctx, y, labels, nullptr, stats);
}

Status Model::eval_batch_record(const float* params, Scratch& s, const float* x, const float* y,
                                const int32_t* labels, int64_t rows, double* record) const {
  NT_RETURN_IF_ERROR(check_rows(rows));
  RunContext ctx(backend(), plan_, s, const_cast<float*>(params), rows, false, x);
  NT_RETURN_IF_ERROR(forward(ctx, true));
  return loss_.launch(ctx, y, labels, nullptr, nullptr, record, nullptr);
}

int64_t Model::stats_width(bool labels) const { return loss_.stats_width(plan_.width[loss_.loss_node()], labels); }

Status Model::decode_stats(const double* record, int64_t rows, bool labels, BatchStats* stats) const {
  return loss_.decode(record, rows, plan_.width[loss_.loss_node()], labels, stats);
}

Status Model::predict_batch(const float* params, Scratch& s, const float* x, int64_t rows, float* dst) const {
  NT_RETURN_IF_ERROR(check_rows(rows));
  const Backend& be = backend();
  RunContext ctx(be, plan_, s, const_cast<float*>(params), rows, false, x);
  NT_RETURN_IF_ERROR(forward(ctx, false));
  be.copy_to_host(dst, s.cur[spec_.output], static_cast<size_t>(rows * plan_.width[spec_.output]) * sizeof(float));
  return Status::Ok();
}

// ---- serving ----------------------------------------------------------------------------------
void Model::publish() {
  // The copy is made outside the lock; only the pointer swap is guarded, so readers never wait
  // for a copy and the old snapshot is freed by whoever drops the last reference.
  auto snap = std::make_shared<DeviceArray>(arena_);
  std::shared_ptr<const DeviceArray> old;
  {
    std::lock_guard<std::mutex> lk(serve_mu_);
    old = std::move(serving_);
    serving_ = std::move(snap);
  }
  serving_version_.fetch_add(1);
}

std::shared_ptr<const DeviceArray> Model::serving() const {
  std::lock_guard<std::mutex> lk(serve_mu_);
  return serving_;
}

std::unique_ptr<Scratch> Model::acquire_scratch() const {
  {
    std::lock_guard<std::mutex> lk(serve_mu_);
    if (!pool_.empty()) {
      std::unique_ptr<Scratch> s = std::move(pool_.back());
      pool_.pop_back();
      return s;
    }
  }
  std::unique_ptr<Scratch> s(new Scratch());
  s->build(backend(), plan_, false);
  return s;
}

void Model::release_scratch(std::unique_ptr<Scratch> s) const {
  std::lock_guard<std::mutex> lk(serve_mu_);
  // Keep a few for the next calls; more than that were a burst of concurrency.
  if (pool_.size() < 4) pool_.push_back(std::move(s));
}

size_t Model::bytes() const {
  size_t b = (arena_.size() * 2 + grad_.size() + opt_.m.size() + opt_.v.size() + opt_.vmax.size()) * sizeof(float);
  return b + train_.bytes();
}

}  // namespace nt
