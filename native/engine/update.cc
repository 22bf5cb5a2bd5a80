// The optimizer side of the plan: configuration, state (one OptimizerState struct), the
// divergence guard's snapshots, and the fused update over each parameter group's arena range.
// Optimizer steps are PyTorch's documented algorithms (see nodetrain/kernels.h); hypergradient
// descent follows Baydin et al. 2018 (see engine/optimizer.h).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <memory>
#include <mutex>

#include "engine/model.h"
#include "nodetrain/loops.h"

namespace nt {

namespace {
// The hyperparameters every group of update t shares (rates, weight decay and the device-only
// fields are the caller's): both the per-tensor path's step_group calls and the fused update use it.
FusedUpdateArgs step_args(const OptimizerSpec& o, int64_t t) {
  FusedUpdateArgs a;
  a.kind = o.kind;
  a.beta1 = static_cast<float>(o.beta1);
  a.beta2 = static_cast<float>(o.beta2);
  a.eps = static_cast<float>(o.eps);
  a.momentum = static_cast<float>(o.momentum);
  a.dampening = static_cast<float>(o.dampening);
  a.alpha = static_cast<float>(o.alpha);
  a.nesterov = o.nesterov;
  a.amsgrad = o.amsgrad;
  a.centered = o.centered;
  a.decoupled = o.kind == OptKind::kAdamW;
  a.lr_decay = static_cast<float>(o.lr_decay);
  a.step = t;
  return a;
}
}  // namespace

Status Model::set_optimizer(const OptimizerSpec& opt, bool reset_state) {
  auto finite = [](double v) { return std::isfinite(v); };
  auto bad = [](const char* what, double v) {
    return InvalidArgument(std::string("Expected ") + what + " but received " + std::to_string(v));
  };
  if (!finite(opt.lr) || opt.lr < 0) return bad("a finite learning rate >= 0 for optimizer.lr", opt.lr);
  if (!finite(opt.clip_norm) || opt.clip_norm < 0) return bad("a number >= 0 for optimizer.clipNorm", opt.clip_norm);
  if (!finite(opt.clip_value) || opt.clip_value < 0) return bad("a number >= 0 for optimizer.clipValue", opt.clip_value);
  if (opt.has_schedule) NT_RETURN_IF_ERROR(validate_schedule(opt.schedule));
  for (const auto& g : opt.groups) {
    if (g.has_lr && (!finite(g.lr) || g.lr < 0)) return bad("a learning rate >= 0 for optimizer.groups[].lr", g.lr);
    if (g.has_schedule) NT_RETURN_IF_ERROR(validate_schedule(g.schedule));
  }
  if (static_cast<size_t>(opt.kind) >= kNumOptimizers)
    return bad("a known optimizer kind for optimizer.kind", static_cast<double>(opt.kind));
  for (double x : {opt.momentum, opt.dampening, opt.weight_decay, opt.beta1, opt.beta2, opt.eps, opt.alpha, opt.lr_decay,
                   opt.initial_accumulator})
    if (!finite(x)) return bad("finite hyperparameters for optimizer", x);
  for (const auto& g : opt.groups)
    if (g.has_weight_decay && !finite(g.weight_decay))
      return bad("a finite number for optimizer.groups[].weightDecay", g.weight_decay);
  if (!finite(opt.hyper_lr) || opt.hyper_lr < 0) return bad("a number >= 0 for optimizer.hyperLr", opt.hyper_lr);
  if (!(opt.hyper_min_lr >= 0) || !(opt.hyper_max_lr >= opt.hyper_min_lr))
    return InvalidArgument("Expected hypergradient bounds 0 <= hyperMinLr <= hyperMaxLr but received " +
                           std::to_string(opt.hyper_min_lr) + " and " + std::to_string(opt.hyper_max_lr));
  const bool kind_changed = opt.kind != spec_.optimizer.kind || opt.amsgrad != spec_.optimizer.amsgrad ||
                            opt.centered != spec_.optimizer.centered || opt.hypergradient != spec_.optimizer.hypergradient;
  spec_.optimizer = opt;
  if (reset_state || kind_changed) reset_optimizer_state();
  return Status::Ok();
}

void Model::reset_optimizer_state() {
  const Backend& be = backend();
  const size_t n = static_cast<size_t>(n_trainable_);
  const OptimizerSpec& o = spec_.optimizer;
  opt_.m.assign(be, o.kind == OptKind::kAdagrad ? 0 : n, 0.0f);
  opt_.v.assign(be, o.kind == OptKind::kSgd ? 0 : n,
                o.kind == OptKind::kAdagrad ? static_cast<float>(o.initial_accumulator) : 0.0f);
  const bool third = (o.kind == OptKind::kAdam || o.kind == OptKind::kAdamW) ? o.amsgrad
                                                                             : (o.kind == OptKind::kRmsprop && o.centered);
  opt_.vmax.assign(be, third ? n : 0, 0.0f);
  opt_.step = 0;
  opt_.hd_mult = 1.0;
  opt_.hd_have_dir = false;
  opt_.hd_dir_norm = 0;
  opt_.hd_dir.assign(be, o.hypergradient ? n : 0, 0.0f);
  hd_old_.assign(be, o.hypergradient ? n : 0, 0.0f);
  if (have_snapshot_) take_snapshot();  // the guard's snapshot must match the new state layout
}

void Model::take_snapshot() {
  snap_params_ = arena_;
  snap_opt_ = opt_;
  have_snapshot_ = true;
}

void Model::restore_snapshot() {
  if (!have_snapshot_) return;
  arena_ = snap_params_;
  opt_ = snap_opt_;
}

double Model::group_lr(int group, int64_t step) const {
  const OptimizerSpec& o = spec_.optimizer;
  if (group >= 0 && group < static_cast<int>(o.groups.size())) {
    const GroupSpec& g = o.groups[group];
    if (g.has_schedule) return schedule_lr(g.schedule, step);
    if (g.has_lr) return g.lr;
  }
  if (o.has_schedule) return schedule_lr(o.schedule, step);
  return o.lr;
}

Status Model::apply_update(double* lr_used) {
  const Backend& be = backend();
  const OptimizerSpec& o = spec_.optimizer;
  float* P = arena_.data();
  float* G = grad_.data();
  const int64_t nt = n_trainable_;
  const int64_t step = opt_.step;
  if (o.clip_value > 0) {
    const float c = static_cast<float>(o.clip_value);
    NT_RETURN_IF_ERROR(be.clamp(G, -c, c, nt));
  }
  if (nt > 0) {
    auto it = std::find(inject_steps_.begin(), inject_steps_.end(), step);
    if (it != inject_steps_.end()) {  // one-shot: the step is retried after the failure
      inject_steps_.erase(it);
      const float nan = std::numeric_limits<float>::quiet_NaN();
      be.copy_to_device(G, &nan, sizeof(float));
    }
  }
  if (fused_this_step_) return apply_fused_update(lr_used);
  double sq = 0.0;
  NT_RETURN_IF_ERROR(be.sum_squares(G, nt, &sq));
  last_grad_norm_ = std::sqrt(sq);
  if (!std::isfinite(last_grad_norm_)) return Status(StatusCode::kNonFinite, "The gradient is not finite");
  float scale = 1.0f;
  if (o.clip_norm > 0 && last_grad_norm_ > o.clip_norm) scale = static_cast<float>(o.clip_norm / (last_grad_norm_ + 1e-6));
  if (o.kind == OptKind::kSgd) {
    // A finite gradient can still overflow the weights (lr * |g| beyond float range): reject such
    // an update before applying it, so the weights stay finite. Adaptive optimizers' steps are
    // bounded by their rate.
    double max_lr = 0;
    for (int g = 0; g < num_groups(); ++g) max_lr = std::max(max_lr, effective_lr(g, step));
    const double amplification = o.momentum > 0 && o.momentum < 1 ? 1.0 / (1.0 - o.momentum) : 1.0 + o.momentum;
    if (max_lr * last_grad_norm_ * scale * amplification > 1e30)
      return Status(StatusCode::kNonFinite, "The update would overflow the weights");
  }
  const int64_t t = step + 1;  // 1-based step of this update
  double momentum_override = 0;
  if (o.hypergradient && nt > 0) {
    // d f(theta_{t-1}) / d alpha = g_t . (-u_{t-1}); one step of gradient descent on alpha,
    // applied as a multiplier on the (possibly scheduled) rate of every group. The rule acts on
    // the rate before the multiplier (base_lr), which the new multiplier is then relative to.
    if (opt_.hd_have_dir) {
      double h = 0.0;
      NT_RETURN_IF_ERROR(be.dot(G, opt_.hd_dir.data(), nt, &h));
      h *= scale;
      const double base = base_lr(0, step);
      if (base > 0 && std::isfinite(h)) {
        double a;
        if (o.hyper_multiplicative) {
          const double denom = last_grad_norm_ * scale * opt_.hd_dir_norm;
          a = base * opt_.hd_mult * (1.0 + o.hyper_lr * (denom > 0 ? h / denom : 0.0));
        } else {
          a = base * opt_.hd_mult + o.hyper_lr * h;
        }
        a = std::min(std::max(a, o.hyper_min_lr), o.hyper_max_lr);
        opt_.hd_mult = a / base;
      }
    }
    be.copy(hd_old_.data(), P, static_cast<size_t>(nt) * sizeof(float));
  }
  for (int g = 0; g < num_groups(); ++g) {
    const int64_t b = group_ranges_[g].first, e = group_ranges_[g].second;
    const double lr = effective_lr(g, step);
    if (g == 0 && lr_used) *lr_used = lr;
    if (b == e) continue;
    double wd = o.weight_decay;
    if (g < static_cast<int>(o.groups.size()) && o.groups[g].has_weight_decay) wd = o.groups[g].weight_decay;
    bool cyc = false;
    const ScheduleSpec* sch = nullptr;
    if (g < static_cast<int>(o.groups.size()) && o.groups[g].has_schedule) sch = &o.groups[g].schedule;
    else if (o.has_schedule) sch = &o.schedule;
    if (sch) cyc = schedule_momentum(*sch, step, &momentum_override);
    FusedUpdateArgs ga = step_args(o, t);
    if (cyc) ga.beta1 = ga.momentum = static_cast<float>(momentum_override);  // each optimizer reads its own
    UpdateGroup ug;
    ug.begin = b;
    ug.end = e;
    ug.lr = static_cast<float>(lr);
    ug.weight_decay = static_cast<float>(wd);
    NT_RETURN_IF_ERROR(step_group(be, ga, ug, scale, P, G, opt_.m.data(), opt_.v.data(), opt_.vmax.data()));
  }
  if (o.hypergradient && nt > 0) {
    // u_t = (theta_{t-1} - theta_t) / alpha_t, per group.
    bool any = false;
    double norm2 = 0;
    float* dir = opt_.hd_dir.data();
    const float* old = hd_old_.data();
    for (int g = 0; g < num_groups(); ++g) {
      const int64_t b = group_ranges_[g].first, e = group_ranges_[g].second;
      const double lr = effective_lr(g, step);
      const float inv = lr > 0 ? static_cast<float>(1.0 / lr) : 0.0f;
      double sq_dir = 0;
      NT_RETURN_IF_ERROR(be.hyper_direction(old + b, P + b, inv, e - b, dir + b, &sq_dir));
      norm2 += sq_dir;
      any = any || lr > 0;
    }
    opt_.hd_dir_norm = std::sqrt(norm2);
    opt_.hd_have_dir = any;
  }
  opt_.step = t;
  return Status::Ok();
}

bool Model::fused_eligible() const {
  if (health_.empty()) return false;
  const OptimizerSpec& o = spec_.optimizer;
  if (o.hypergradient || num_groups() > kMaxUpdateGroups) return false;
  // One momentum (beta1) for every group: the fused kernel shares it.
  double first = 0;
  bool have = false;
  for (int g = 0; g < num_groups(); ++g) {
    const ScheduleSpec* sch = nullptr;
    if (g < static_cast<int>(o.groups.size()) && o.groups[g].has_schedule) sch = &o.groups[g].schedule;
    else if (o.has_schedule) sch = &o.schedule;
    double mo = 0;
    const bool cyc = sch && schedule_momentum(*sch, opt_.step, &mo);
    const double v = cyc ? mo : (o.kind == OptKind::kAdam || o.kind == OptKind::kAdamW ? o.beta1 : o.momentum);
    if (have && v != first) return false;
    first = v;
    have = true;
  }
  return true;
}

// The same update as the per-tensor path below it in apply_update, with the global norm, the clip
// scale, the non-finite check and SGD's overflow guard computed on the device; the verdict stays
// in the device record until read_update_health().
Status Model::apply_fused_update(double* lr_used) {
  const Backend& be = backend();
  const OptimizerSpec& o = spec_.optimizer;
  const int64_t step = opt_.step;
  const int64_t t = step + 1;
  FusedUpdateArgs a = step_args(o, t);
  a.seen = health_seen_;
  a.n = n_trainable_;
  a.clip_norm = o.clip_norm;
  UpdateGroup groups[kMaxUpdateGroups];
  double max_lr = 0;
  for (int g = 0; g < num_groups(); ++g) {
    const int64_t b = group_ranges_[g].first, e = group_ranges_[g].second;
    const double lr = effective_lr(g, step);
    if (g == 0 && lr_used) *lr_used = lr;
    max_lr = std::max(max_lr, lr);
    const ScheduleSpec* sch = nullptr;
    if (g < static_cast<int>(o.groups.size()) && o.groups[g].has_schedule) sch = &o.groups[g].schedule;
    else if (o.has_schedule) sch = &o.schedule;
    double mo = 0;
    if (sch && schedule_momentum(*sch, step, &mo)) {  // the same for every group (fused_eligible)
      if (o.kind == OptKind::kAdam || o.kind == OptKind::kAdamW) a.beta1 = static_cast<float>(mo);
      else a.momentum = static_cast<float>(mo);
    }
    if (b == e) continue;
    double wd = o.weight_decay;
    if (g < static_cast<int>(o.groups.size()) && o.groups[g].has_weight_decay) wd = o.groups[g].weight_decay;
    UpdateGroup& u = groups[a.ngroups++];
    u.begin = b;
    u.end = e;
    u.lr = static_cast<float>(lr);
    u.weight_decay = static_cast<float>(wd);
  }
  // Per-step scalars, once on the host, as the CUDA single-range launchers compute them.
  for (int k = 0; k < a.ngroups; ++k) {
    UpdateGroup& u = groups[k];
    const double td = static_cast<double>(t);
    if (o.kind == OptKind::kAdam || o.kind == OptKind::kAdamW) {
      u.c1 = static_cast<float>(u.lr / (1.0 - std::pow(static_cast<double>(a.beta1), td)));
      u.c2 = static_cast<float>(std::sqrt(1.0 - std::pow(static_cast<double>(a.beta2), td)));
    } else if (o.kind == OptKind::kAdagrad) {
      u.c1 = static_cast<float>(u.lr / (1.0 + static_cast<double>(t - 1) * o.lr_decay));
    }
  }
  if (o.kind == OptKind::kSgd) {
    const double amplification = o.momentum > 0 && o.momentum < 1 ? 1.0 / (1.0 - o.momentum) : 1.0 + o.momentum;
    if (max_lr * amplification > 0) a.overflow_limit = 1e30 / (max_lr * amplification);
  }
  a.groups = groups;
  {  // also with no group (every weight frozen): the step closes the update record
    float* s1 = nullptr;
    float* s2 = nullptr;
    float* s3 = nullptr;
    switch (o.kind) {
      case OptKind::kSgd: s1 = a.momentum != 0.0f ? opt_.m.data() : nullptr; break;
      case OptKind::kAdam:
      case OptKind::kAdamW: s1 = opt_.m.data(); s2 = opt_.v.data(); s3 = o.amsgrad ? opt_.vmax.data() : nullptr; break;
      case OptKind::kRmsprop: s1 = opt_.m.data(); s2 = opt_.v.data(); s3 = o.centered ? opt_.vmax.data() : nullptr; break;
      case OptKind::kAdagrad: s2 = opt_.v.data(); break;
    }
    NT_RETURN_IF_ERROR(be.fused_update(a, arena_.data(), grad_.data(), s1, s2, s3, health()));
  }
  opt_.step = t;
  return Status::Ok();
}

Status Model::use_host_deferred_update() {
  if (spec_.device != Device::kCpu)
    return InvalidArgument("Expected a CPU model for the host deferred update but received a device model");
  if (device_ != nullptr) return Status::Ok();
  // One twin per CPU table, never freed: every DeviceArray of this model (its serving snapshots
  // included, which may outlive it) keeps a pointer to the table it was allocated with.
  static std::mutex mu;
  static auto* twins = new std::map<const Backend*, std::unique_ptr<Backend>>();  // (not destroyed at exit)
  const Backend* base = &cpu_backend();
  Backend* twin = nullptr;
  {
    std::lock_guard<std::mutex> lk(mu);
    std::unique_ptr<Backend>& t = (*twins)[base];
    if (!t) {
      t.reset(new Backend(*base));
      t->health_reset = health_reset_host;
      t->flag_nonfinite = flag_nonfinite_host;
      t->fused_update = fused_update_host;
    }
    twin = t.get();
  }
  device_ = twin;
  health_.assign(*twin, kUpdateHealthFloats, 0.0f);
  health_seen_ = 0;
  return Status::Ok();
}

void Model::sync_update_health() {
  if (health_.empty()) return;
  UpdateHealth h;
  backend().copy_to_host(&h, health_.data(), sizeof h);
  health_seen_ = h.skipped;
}

Status Model::read_update_health() {
  if (health_.empty()) return Status::Ok();
  UpdateHealth h;
  backend().copy_to_host(&h, health_.data(), sizeof h);
  last_grad_norm_ = std::sqrt(h.sum_sq);
  if (h.skipped == health_seen_) return Status::Ok();
  health_seen_ = h.skipped;
  first_skipped_ = h.first_skipped;
  // The first skipped step since the previous read is the one reported (the fit loop resumes after it).
  if (h.first_reason & kHealthLoss) return Status(StatusCode::kNonFinite, "The loss is not finite");
  if (h.first_reason == 2) return Status(StatusCode::kNonFinite, "The update would overflow the weights");
  return Status(StatusCode::kNonFinite, "The gradient is not finite");
}

}  // namespace nt
