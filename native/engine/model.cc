// The compiled plan: building the layout, forward, losses, backward and the fused optimizer update.
// Shapes: every node output is [rows, width] row-major with rows <= max_batch.
// References: layer normalisation (Ba et al. 2016), batch normalisation (Ioffe & Szegedy 2015;
// Keras moving-statistics convention), losses as defined by Keras / tf.keras.losses.
#include "engine/model.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <new>

#include "nodetrain/parallel.h"

namespace nt {
namespace {

bool act_from_output(Act a) { return a == Act::kNone || a == Act::kRelu || a == Act::kSigmoid || a == Act::kTanh; }

// dz = dy * f'(.) for activations whose derivative is a function of their output y.
void act_backward_from_output(Act a, const float* y, const float* dy, int64_t n, float* dz) {
  switch (a) {
    case Act::kRelu:
      for (int64_t i = 0; i < n; ++i) dz[i] = y[i] > 0.0f ? dy[i] : 0.0f;
      break;
    case Act::kSigmoid:
      for (int64_t i = 0; i < n; ++i) dz[i] = dy[i] * y[i] * (1.0f - y[i]);
      break;
    case Act::kTanh:
      for (int64_t i = 0; i < n; ++i) dz[i] = dy[i] * (1.0f - y[i] * y[i]);
      break;
    default:
      if (dz != dy) std::memcpy(dz, dy, static_cast<size_t>(n) * sizeof(float));
  }
}

inline float sigmoidf(float z) { return 1.0f / (1.0f + std::exp(-z)); }

constexpr float kProbEps = 1e-7f;  // Keras' epsilon for probability clipping

int64_t argmax_row(const float* p, int64_t k) {
  int64_t best = 0;
  for (int64_t j = 1; j < k; ++j)
    if (p[j] > p[best]) best = j;
  return best;
}

}  // namespace

// ------------------------------------------------------------------------------------------------
// Build
Status Model::Create(const ModelSpec& spec, int64_t max_batch, std::unique_ptr<Model>* out) {
  std::unique_ptr<Model> m(new (std::nothrow) Model());
  if (!m) return Status(StatusCode::kOutOfMemory, "Could not allocate the model");
  try {
    NT_RETURN_IF_ERROR(m->build(spec, max_batch));
  } catch (const std::bad_alloc&) {
    return Status(StatusCode::kOutOfMemory, "Could not allocate the model's buffers (batch size " +
                                                std::to_string(max_batch) + ")");
  }
  *out = std::move(m);
  return Status::Ok();
}

Status Model::build(const ModelSpec& spec, int64_t max_batch) {
  spec_ = spec;
  const auto& nodes = spec_.nodes;
  const int n = static_cast<int>(nodes.size());
  if (n == 0) return InvalidArgument("The model has no layers");
  if (max_batch < 1) return InvalidArgument("Expected a batch size >= 1");
  if (spec_.output < 0 || spec_.output >= n) return InvalidArgument("The model's output node is out of range");
  max_batch_ = max_batch;
  width_.assign(n, 0);
  input_ = -1;
  std::vector<int> consumers(n, 0);
  for (int i = 0; i < n; ++i) {
    const NodeSpec& s = nodes[i];
    for (int j : s.inputs) {
      if (j < 0 || j >= i) return InvalidArgument("Layer '" + s.name + "' takes an input that is not an earlier layer");
      consumers[j]++;
    }
    auto need_inputs = [&](size_t k) -> Status {
      if (s.inputs.size() != k)
        return InvalidArgument("Layer '" + s.name + "' expects " + std::to_string(k) + " input(s)");
      return Status::Ok();
    };
    switch (s.kind) {
      case NodeKind::kInput:
        if (input_ >= 0) return InvalidArgument("The model has more than one input layer");
        if (!s.inputs.empty()) return InvalidArgument("The input layer takes no inputs");
        if (s.units < 1) return InvalidArgument("The input layer needs at least one feature");
        input_ = i;
        width_[i] = s.units;
        break;
      case NodeKind::kDense:
        NT_RETURN_IF_ERROR(need_inputs(1));
        if (s.units < 1) return InvalidArgument("Dense layer '" + s.name + "' needs units >= 1");
        if (s.act == Act::kLeakyRelu || s.act == Act::kElu || s.act == Act::kSoftplus || s.act == Act::kGelu) {
          // fine: stored pre-activation
        }
        width_[i] = s.units;
        break;
      case NodeKind::kActivation:
      case NodeKind::kDropout:
      case NodeKind::kLayerNorm:
      case NodeKind::kBatchNorm:
      case NodeKind::kSoftmax:
        NT_RETURN_IF_ERROR(need_inputs(1));
        width_[i] = width_[s.inputs[0]];
        if (s.kind == NodeKind::kDropout && !(s.rate >= 0.0f && s.rate < 1.0f))
          return InvalidArgument("Dropout layer '" + s.name + "' needs a rate in [0, 1)");
        break;
      case NodeKind::kAdd:
        if (s.inputs.size() < 2) return InvalidArgument("Add layer '" + s.name + "' needs at least two inputs");
        width_[i] = width_[s.inputs[0]];
        for (int j : s.inputs)
          if (width_[j] != width_[i])
            return InvalidArgument("Add layer '" + s.name + "' needs inputs of equal width (" +
                                   std::to_string(width_[i]) + " and " + std::to_string(width_[j]) + ")");
        break;
      case NodeKind::kConcat:
        if (s.inputs.size() < 2) return InvalidArgument("Concatenate layer '" + s.name + "' needs at least two inputs");
        for (int j : s.inputs) width_[i] += width_[j];
        break;
      default:
        return InvalidArgument("Unknown layer kind in '" + s.name + "'");
    }
  }
  if (input_ < 0) return InvalidArgument("The model has no input layer");

  // Parameter layout: trainable parameters group by group, then frozen ones and moving statistics.
  int max_group = 0;
  for (const auto& s : nodes) max_group = std::max(max_group, s.group);
  if (max_group > 1024) return InvalidArgument("Too many parameter groups");
  params_.clear();
  node_params_.assign(n, NodeParams());
  int64_t off = 0;
  auto add_param = [&](int node, const char* role, std::vector<int64_t> shape, int group, bool trainable) {
    ParamInfo p;
    p.node = node;
    p.name = nodes[node].name + "/" + role;
    p.shape = std::move(shape);
    p.size = 1;
    for (int64_t d : p.shape) p.size *= d;
    p.offset = off;
    p.group = group;
    p.trainable = trainable;
    off += p.size;
    params_.push_back(p);
    return p.offset;
  };
  auto place = [&](int i, bool trainable_pass, int group) {
    const NodeSpec& s = nodes[i];
    NodeParams& np = node_params_[i];
    const bool trainable = s.trainable;
    const bool here = trainable_pass ? (trainable && s.group == group) : !trainable;
    switch (s.kind) {
      case NodeKind::kDense:
        if (here) {
          np.w = add_param(i, "kernel", {width_[s.inputs[0]], s.units}, s.group, trainable);
          if (s.use_bias) np.b = add_param(i, "bias", {s.units}, s.group, trainable);
        }
        break;
      case NodeKind::kLayerNorm:
      case NodeKind::kBatchNorm:
        if (here) {
          if (s.scale) np.gamma = add_param(i, "gamma", {width_[i]}, s.group, trainable);
          if (s.center) np.beta = add_param(i, "beta", {width_[i]}, s.group, trainable);
        }
        if (!trainable_pass && s.kind == NodeKind::kBatchNorm) {
          np.mean = add_param(i, "moving_mean", {width_[i]}, s.group, false);
          np.var = add_param(i, "moving_variance", {width_[i]}, s.group, false);
        }
        break;
      default:
        break;
    }
  };
  group_ranges_.assign(max_group + 1, {0, 0});
  for (int g = 0; g <= max_group; ++g) {
    group_ranges_[g].first = off;
    for (int i = 0; i < n; ++i) place(i, true, g);
    group_ranges_[g].second = off;
  }
  n_trainable_ = off;
  for (int i = 0; i < n; ++i) place(i, false, 0);
  arena_.assign(static_cast<size_t>(off), 0.0f);
  grad_.assign(static_cast<size_t>(n_trainable_), 0.0f);
  for (int i = 0; i < n; ++i) {  // neutral defaults; the caller normally writes initial values
    const NodeParams& np = node_params_[i];
    if (np.gamma >= 0) std::fill_n(arena_.begin() + np.gamma, width_[i], 1.0f);
    if (np.var >= 0) std::fill_n(arena_.begin() + np.var, width_[i], 1.0f);
  }

  // Which node outputs need gradients.
  needs_grad_.assign(n, false);
  for (int i = 0; i < n; ++i) {
    const NodeSpec& s = nodes[i];
    bool has_trainable = s.trainable && (node_params_[i].w >= 0 || node_params_[i].gamma >= 0 || node_params_[i].beta >= 0);
    bool upstream = false;
    for (int j : s.inputs) upstream = upstream || needs_grad_[j];
    needs_grad_[i] = has_trainable || upstream;
  }
  consumers_ = consumers;

  // Loss fusion with the output activation.
  loss_node_ = spec_.output;
  loss_kind_ = spec_.loss.kind;
  fused_output_ = false;
  const NodeSpec& o = nodes[spec_.output];
  const bool cce = loss_kind_ == LossKind::kCce || loss_kind_ == LossKind::kSparseCce;
  if (cce && o.kind == NodeKind::kSoftmax) {
    loss_node_ = o.inputs[0];
    loss_kind_ = loss_kind_ == LossKind::kCce ? LossKind::kCceLogits : LossKind::kSparseCceLogits;
    fused_output_ = true;
  } else if (loss_kind_ == LossKind::kBce && o.kind == NodeKind::kActivation && o.act == Act::kSigmoid) {
    loss_node_ = o.inputs[0];
    loss_kind_ = LossKind::kBceLogits;
    fused_output_ = true;
  } else if (loss_kind_ == LossKind::kBce && o.kind == NodeKind::kDense && o.act == Act::kSigmoid) {
    loss_kind_ = LossKind::kBceLogits;  // the dense layer emits logits while training
    fused_output_ = true;
  }
  const bool sparse = loss_kind_ == LossKind::kSparseCce || loss_kind_ == LossKind::kSparseCceLogits;
  if (sparse != spec_.sparse_labels)
    return InvalidArgument(sparse ? "Sparse categorical cross-entropy needs integer class labels"
                                  : "This loss needs float targets, not integer class labels");
  if (!sparse && spec_.target_width != width_[spec_.output])
    return InvalidArgument("The targets have " + std::to_string(spec_.target_width) +
                           " columns but the model's output has " + std::to_string(width_[spec_.output]));
  needs_grad_[loss_node_] = true;
  for (MetricKind mk : spec_.metrics) {
    const bool label_metric = mk == MetricKind::kSparseCategoricalAccuracy;
    if (static_cast<int>(mk) < 0 || static_cast<int>(mk) > 4) return InvalidArgument("Unknown metric");
    if (label_metric != sparse)
      return InvalidArgument(sparse ? "This metric needs float targets, not integer class labels"
                                    : "Sparse categorical accuracy needs integer class labels");
  }

  // Buffers.
  acts_.assign(n, {});
  dacts_.assign(n, {});
  pre_.assign(n, {});
  aux_.assign(n, {});
  cur_.assign(n, nullptr);
  for (int i = 0; i < n; ++i) {
    const NodeSpec& s = nodes[i];
    const size_t sz = static_cast<size_t>(max_batch) * static_cast<size_t>(width_[i]);
    if (s.kind != NodeKind::kInput) acts_[i].assign(sz, 0.0f);
    if (needs_grad_[i]) dacts_[i].assign(sz, 0.0f);
    if (s.kind == NodeKind::kDense && !act_from_output(s.act)) pre_[i].assign(sz, 0.0f);
    if (s.kind == NodeKind::kDropout) aux_[i].assign(sz, 0.0f);
    if (s.kind == NodeKind::kLayerNorm) aux_[i].assign(static_cast<size_t>(max_batch) * 2, 0.0f);
    if (s.kind == NodeKind::kBatchNorm) aux_[i].assign(static_cast<size_t>(width_[i]) * 3, 0.0f);
  }
  int64_t max_w = 1;
  for (int64_t w : width_) max_w = std::max(max_w, w);
  scratch_.assign(static_cast<size_t>(max_batch) * static_cast<size_t>(max_w), 0.0f);
  rng_.reseed(spec_.seed);
  return set_optimizer(spec_.optimizer, true);
}

// ------------------------------------------------------------------------------------------------
// Optimizer configuration
Status Model::set_optimizer(const OptimizerSpec& opt, bool reset_state) {
  auto finite = [](double v) { return std::isfinite(v); };
  if (!finite(opt.lr) || opt.lr < 0) return InvalidArgument("Expected a finite learning rate >= 0");
  if (!finite(opt.clip_norm) || opt.clip_norm < 0) return InvalidArgument("Expected clipNorm >= 0");
  if (!finite(opt.clip_value) || opt.clip_value < 0) return InvalidArgument("Expected clipValue >= 0");
  if (opt.has_schedule) NT_RETURN_IF_ERROR(validate_schedule(opt.schedule));
  for (const auto& g : opt.groups) {
    if (g.has_lr && (!finite(g.lr) || g.lr < 0)) return InvalidArgument("Expected a group learning rate >= 0");
    if (g.has_schedule) NT_RETURN_IF_ERROR(validate_schedule(g.schedule));
  }
  if (static_cast<int>(opt.kind) < 0 || static_cast<int>(opt.kind) > 4) return InvalidArgument("Unknown optimizer kind");
  for (double x : {opt.momentum, opt.dampening, opt.weight_decay, opt.beta1, opt.beta2, opt.eps, opt.alpha, opt.lr_decay,
                   opt.initial_accumulator})
    if (!finite(x)) return InvalidArgument("Expected finite optimizer hyperparameters");
  for (const auto& g : opt.groups)
    if (g.has_weight_decay && !finite(g.weight_decay)) return InvalidArgument("Expected a finite group weight decay");
  if (!finite(opt.hyper_lr) || opt.hyper_lr < 0) return InvalidArgument("Expected a hypergradient rate >= 0");
  if (!(opt.hyper_min_lr >= 0) || !(opt.hyper_max_lr >= opt.hyper_min_lr))
    return InvalidArgument("Expected hypergradient bounds 0 <= min <= max");
  const bool kind_changed = opt.kind != spec_.optimizer.kind || opt.amsgrad != spec_.optimizer.amsgrad ||
                            opt.centered != spec_.optimizer.centered || opt.hypergradient != spec_.optimizer.hypergradient;
  spec_.optimizer = opt;
  if (reset_state || kind_changed) reset_optimizer_state();
  return Status::Ok();
}

void Model::reset_optimizer_state() {
  const size_t n = static_cast<size_t>(n_trainable_);
  const OptimizerSpec& o = spec_.optimizer;
  state_[0].assign(o.kind == OptKind::kAdagrad ? 0 : n, 0.0f);
  state_[1].assign(o.kind == OptKind::kSgd ? 0 : n,
                   o.kind == OptKind::kAdagrad ? static_cast<float>(o.initial_accumulator) : 0.0f);
  const bool third = (o.kind == OptKind::kAdam || o.kind == OptKind::kAdamW) ? o.amsgrad
                                                                             : (o.kind == OptKind::kRmsprop && o.centered);
  state_[2].assign(third ? n : 0, 0.0f);
  step_ = 0;
  hd_mult_ = 1.0;
  hd_have_dir_ = false;
  hd_dir_.assign(o.hypergradient ? n : 0, 0.0f);
  hd_old_.assign(o.hypergradient ? n : 0, 0.0f);
  hd_dir_norm_ = 0;
  if (have_snapshot_) take_snapshot();  // the guard's snapshot must match the new state layout
}

void Model::take_snapshot() {
  snap_params_ = arena_;
  for (int i = 0; i < 3; ++i) snap_state_[i] = state_[i];
  snap_step_ = step_;
  snap_hd_mult_ = hd_mult_;
  snap_hd_have_dir_ = hd_have_dir_;
  snap_hd_dir_norm_ = hd_dir_norm_;
  snap_hd_dir_ = hd_dir_;
  have_snapshot_ = true;
}

void Model::restore_snapshot() {
  if (!have_snapshot_) return;
  arena_ = snap_params_;
  for (int i = 0; i < 3; ++i) state_[i] = snap_state_[i];
  step_ = snap_step_;
  hd_mult_ = snap_hd_mult_;
  hd_have_dir_ = snap_hd_have_dir_;
  hd_dir_norm_ = snap_hd_dir_norm_;
  hd_dir_ = snap_hd_dir_;
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

// ------------------------------------------------------------------------------------------------
// Forward
Status Model::forward(const float* x, int64_t rows, bool training, bool logits_out) {
  const auto& nodes = spec_.nodes;
  const int n = static_cast<int>(nodes.size());
  float* A = arena_.data();
  for (int i = 0; i < n; ++i) {
    const NodeSpec& s = nodes[i];
    const int64_t w = width_[i];
    const int64_t cnt = rows * w;
    if (s.kind == NodeKind::kInput) {
      cur_[i] = x;
      continue;
    }
    // In training with a fused loss, the output activation is folded into the loss.
    if (logits_out && fused_output_ && i == spec_.output && s.kind != NodeKind::kDense) {
      cur_[i] = cur_[s.inputs[0]];
      continue;
    }
    const float* in = cur_[s.inputs.empty() ? 0 : s.inputs[0]];
    float* y = out(i);
    const NodeParams& np = node_params_[i];
    switch (s.kind) {
      case NodeKind::kDense: {
        const int64_t in_w = width_[s.inputs[0]];
        GemmArgs g;
        g.m = rows;
        g.n = s.units;
        g.k = in_w;
        g.a = in;
        g.lda = in_w;
        g.b = A + np.w;
        g.ldb = s.units;
        g.beta = 0.0f;
        g.bias = np.b >= 0 ? A + np.b : nullptr;
        const bool logits = logits_out && fused_output_ && i == spec_.output;
        if (logits || act_from_output(s.act)) {
          g.c = y;
          g.ldc = s.units;
          g.act = logits ? Act::kNone : s.act;
          NT_RETURN_IF_ERROR(gemm_f32(g));
        } else {
          g.c = pre_[i].data();
          g.ldc = s.units;
          NT_RETURN_IF_ERROR(gemm_f32(g));
          NT_RETURN_IF_ERROR(act_forward_f32(s.act, s.alpha, pre_[i].data(), cnt, y));
        }
        break;
      }
      case NodeKind::kActivation:
        NT_RETURN_IF_ERROR(act_forward_f32(s.act, s.alpha, in, cnt, y));
        break;
      case NodeKind::kSoftmax:
        NT_RETURN_IF_ERROR(softmax_f32(in, rows, w, y));
        break;
      case NodeKind::kDropout: {
        if (!training || s.rate == 0.0f) {
          cur_[i] = in;
          continue;
        }
        float* mask = aux_[i].data();
        const float keep = 1.0f - s.rate, inv = 1.0f / keep;
        for (int64_t t = 0; t < cnt; ++t) {
          mask[t] = rng_.uniform() < keep ? inv : 0.0f;
          y[t] = in[t] * mask[t];
        }
        break;
      }
      case NodeKind::kLayerNorm: {
        float* stats = aux_[i].data();
        const float* gamma = np.gamma >= 0 ? A + np.gamma : nullptr;
        const float* beta = np.beta >= 0 ? A + np.beta : nullptr;
        for (int64_t r = 0; r < rows; ++r) {
          const float* xr = in + r * w;
          double mean = 0, var = 0;
          for (int64_t j = 0; j < w; ++j) mean += xr[j];
          mean /= static_cast<double>(w);
          for (int64_t j = 0; j < w; ++j) var += (xr[j] - mean) * (xr[j] - mean);
          var /= static_cast<double>(w);
          const float rstd = static_cast<float>(1.0 / std::sqrt(var + s.eps));
          const float mu = static_cast<float>(mean);
          stats[2 * r] = mu;
          stats[2 * r + 1] = rstd;
          float* yr = y + r * w;
          for (int64_t j = 0; j < w; ++j) {
            float v = (xr[j] - mu) * rstd;
            if (gamma) v *= gamma[j];
            if (beta) v += beta[j];
            yr[j] = v;
          }
        }
        break;
      }
      case NodeKind::kBatchNorm: {
        float* mean_b = aux_[i].data();
        float* rstd_b = mean_b + w;
        const float* gamma = np.gamma >= 0 ? A + np.gamma : nullptr;
        const float* beta = np.beta >= 0 ? A + np.beta : nullptr;
        float* var_b = rstd_b + w;  // batch variance, folded into the moving statistics after the update
        const float* mm = A + np.mean;
        const float* mv = A + np.var;
        // A frozen batch-norm layer runs in inference mode while training (Keras semantics).
        if (training && s.trainable) {
          std::vector<double>& acc = dscratch_;
          acc.assign(static_cast<size_t>(2 * w), 0.0);
          for (int64_t r = 0; r < rows; ++r)
            for (int64_t j = 0; j < w; ++j) acc[j] += in[r * w + j];
          for (int64_t j = 0; j < w; ++j) acc[j] /= static_cast<double>(rows);
          for (int64_t r = 0; r < rows; ++r)
            for (int64_t j = 0; j < w; ++j) {
              const double d = in[r * w + j] - acc[j];
              acc[w + j] += d * d;
            }
          for (int64_t j = 0; j < w; ++j) {
            const double var = acc[w + j] / static_cast<double>(rows);
            mean_b[j] = static_cast<float>(acc[j]);
            rstd_b[j] = static_cast<float>(1.0 / std::sqrt(var + s.eps));
            var_b[j] = static_cast<float>(var);
          }
        } else {
          for (int64_t j = 0; j < w; ++j) {
            mean_b[j] = mm[j];
            rstd_b[j] = 1.0f / std::sqrt(mv[j] + s.eps);
          }
        }
        for (int64_t r = 0; r < rows; ++r)
          for (int64_t j = 0; j < w; ++j) {
            float v = (in[r * w + j] - mean_b[j]) * rstd_b[j];
            if (gamma) v *= gamma[j];
            if (beta) v += beta[j];
            y[r * w + j] = v;
          }
        break;
      }
      case NodeKind::kAdd: {
        std::memcpy(y, in, static_cast<size_t>(cnt) * sizeof(float));
        for (size_t k = 1; k < s.inputs.size(); ++k) NT_RETURN_IF_ERROR(axpy_f32(1.0f, cur_[s.inputs[k]], cnt, y));
        break;
      }
      case NodeKind::kConcat: {
        int64_t col = 0;
        for (int j : s.inputs) {
          const int64_t wj = width_[j];
          const float* src = cur_[j];
          for (int64_t r = 0; r < rows; ++r)
            std::memcpy(y + r * w + col, src + r * wj, static_cast<size_t>(wj) * sizeof(float));
          col += wj;
        }
        break;
      }
      default:
        return Internal("unknown node kind");
    }
    cur_[i] = y;
  }
  return Status::Ok();
}

// ------------------------------------------------------------------------------------------------
// Loss and metrics
Status Model::loss_and_grad(const float* y, const int32_t* labels, int64_t rows, bool want_grad, BatchStats* stats) {
  const int64_t k = width_[loss_node_];
  const float* p = cur_[loss_node_];
  float* g = want_grad ? dout(loss_node_) : nullptr;
  const int64_t cnt = rows * k;
  double loss = 0.0;
  const double inv_cnt = 1.0 / static_cast<double>(cnt);
  const float ginv = static_cast<float>(inv_cnt);
  switch (loss_kind_) {
    case LossKind::kMse:
      for (int64_t t = 0; t < cnt; ++t) {
        const float e = p[t] - y[t];
        loss += static_cast<double>(e) * e;
        if (g) g[t] = 2.0f * e * ginv;
      }
      loss *= inv_cnt;
      break;
    case LossKind::kMae:
      for (int64_t t = 0; t < cnt; ++t) {
        const float e = p[t] - y[t];
        loss += std::fabs(e);
        if (g) g[t] = (e > 0 ? 1.0f : (e < 0 ? -1.0f : 0.0f)) * ginv;
      }
      loss *= inv_cnt;
      break;
    case LossKind::kHuber: {
      const float d = static_cast<float>(spec_.loss.huber_delta);
      for (int64_t t = 0; t < cnt; ++t) {
        const float e = p[t] - y[t], a = std::fabs(e);
        if (a <= d) {
          loss += 0.5 * static_cast<double>(e) * e;
          if (g) g[t] = e * ginv;
        } else {
          loss += static_cast<double>(d) * (a - 0.5 * d);
          if (g) g[t] = (e > 0 ? d : -d) * ginv;
        }
      }
      loss *= inv_cnt;
      break;
    }
    case LossKind::kBce:
      for (int64_t t = 0; t < cnt; ++t) {
        const float q = std::min(std::max(p[t], kProbEps), 1.0f - kProbEps);
        loss -= y[t] * std::log(static_cast<double>(q)) + (1.0 - y[t]) * std::log(1.0 - q);
        if (g) g[t] = (q - y[t]) / (q * (1.0f - q)) * ginv;
      }
      loss *= inv_cnt;
      break;
    case LossKind::kBceLogits:
      for (int64_t t = 0; t < cnt; ++t) {
        const float z = p[t];
        loss += std::max(z, 0.0f) - z * y[t] + std::log1p(std::exp(-std::fabs(static_cast<double>(z))));
        if (g) g[t] = (sigmoidf(z) - y[t]) * ginv;
      }
      loss *= inv_cnt;
      break;
    case LossKind::kCce:
    case LossKind::kSparseCce: {
      const float rinv = 1.0f / static_cast<float>(rows);
      if (g) std::memset(g, 0, static_cast<size_t>(cnt) * sizeof(float));
      for (int64_t r = 0; r < rows; ++r) {
        const float* pr = p + r * k;
        if (loss_kind_ == LossKind::kSparseCce) {
          const int32_t c = labels[r];
          if (c < 0 || c >= k) return InvalidArgument("Label " + std::to_string(c) + " in row " + std::to_string(r) +
                                                      " is outside [0, " + std::to_string(k) + ")");
          const float q = std::max(pr[c], kProbEps);
          loss -= std::log(static_cast<double>(q));
          if (g) g[r * k + c] = -rinv / q;
        } else {
          const float* yr = y + r * k;
          for (int64_t j = 0; j < k; ++j) {
            if (yr[j] == 0.0f) continue;
            const float q = std::max(pr[j], kProbEps);
            loss -= yr[j] * std::log(static_cast<double>(q));
            if (g) g[r * k + j] = -yr[j] * rinv / q;
          }
        }
      }
      loss /= static_cast<double>(rows);
      break;
    }
    case LossKind::kCceLogits:
      NT_RETURN_IF_ERROR(softmax_xent_f32(p, y, nullptr, rows, k, &loss, g, 1.0f));
      break;
    case LossKind::kSparseCceLogits:
      NT_RETURN_IF_ERROR(softmax_xent_f32(p, nullptr, labels, rows, k, &loss, g, 1.0f));
      break;
  }
  stats->rows = rows;
  stats->loss_sum = loss * static_cast<double>(rows);
  stats->metric_sums.assign(spec_.metrics.size(), 0.0);

  // Metrics on the model's output (probabilities), derived from logits where the loss is fused.
  const bool logits = loss_kind_ == LossKind::kBceLogits || loss_kind_ == LossKind::kCceLogits ||
                      loss_kind_ == LossKind::kSparseCceLogits;
  const float* prob = p;
  bool have_prob = !logits;
  for (size_t mi = 0; mi < spec_.metrics.size(); ++mi) {
    double acc = 0.0;
    switch (spec_.metrics[mi]) {
      case MetricKind::kBinaryAccuracy: {
        const float* q = p;
        float thr = 0.5f;
        if (loss_kind_ == LossKind::kBceLogits) {
          thr = 0.0f;  // sigmoid(z) > 0.5 exactly when z > 0
        } else if (logits) {  // softmax fused into the loss: threshold probabilities
          NT_RETURN_IF_ERROR(softmax_f32(p, rows, k, scratch_.data()));
          q = scratch_.data();
        }
        for (int64_t t = 0; t < cnt; ++t) acc += ((q[t] > thr) == (y[t] > 0.5f)) ? 1.0 : 0.0;
        acc /= static_cast<double>(k);
        break;
      }
      case MetricKind::kCategoricalAccuracy:
        for (int64_t r = 0; r < rows; ++r) acc += argmax_row(p + r * k, k) == argmax_row(y + r * k, k) ? 1.0 : 0.0;
        break;
      case MetricKind::kSparseCategoricalAccuracy:
        for (int64_t r = 0; r < rows; ++r) acc += argmax_row(p + r * k, k) == labels[r] ? 1.0 : 0.0;
        break;
      case MetricKind::kMse:
      case MetricKind::kMae: {
        if (labels) return InvalidArgument("mse/mae metrics need float targets");
        if (!have_prob) {
          float* q = scratch_.data();
          if (loss_kind_ == LossKind::kBceLogits) {
            for (int64_t t = 0; t < cnt; ++t) q[t] = sigmoidf(p[t]);
          } else {
            NT_RETURN_IF_ERROR(softmax_f32(p, rows, k, q));
          }
          prob = q;
          have_prob = true;
        }
        for (int64_t t = 0; t < cnt; ++t) {
          const double e = prob[t] - y[t];
          acc += spec_.metrics[mi] == MetricKind::kMse ? e * e : std::fabs(e);
        }
        acc /= static_cast<double>(k);
        break;
      }
    }
    stats->metric_sums[mi] = acc;
  }
  return Status::Ok();
}

// ------------------------------------------------------------------------------------------------
// Backward
Status Model::backward(int64_t rows) {
  const auto& nodes = spec_.nodes;
  const int n = static_cast<int>(nodes.size());
  float* A = arena_.data();
  float* G = grad_.data();
  // Zero the gradient buffers that several consumers accumulate into.
  for (int i = 0; i < n; ++i) {
    if (i == loss_node_ || !needs_grad_[i]) continue;
    if (consumers_[i] != 1) std::memset(dout(i), 0, static_cast<size_t>(rows * width_[i]) * sizeof(float));
  }
  // Writes `src` into input j's gradient (accumulating where j has several consumers).
  auto give = [&](int j, const float* src, int64_t cnt) -> Status {
    if (!needs_grad_[j]) return Status::Ok();
    if (consumers_[j] == 1) {
      if (dout(j) != src) std::memcpy(dout(j), src, static_cast<size_t>(cnt) * sizeof(float));
      return Status::Ok();
    }
    return axpy_f32(1.0f, src, cnt, dout(j));
  };
  const int start = fused_output_ && nodes[spec_.output].kind != NodeKind::kDense ? loss_node_ : spec_.output;
  for (int i = start; i >= 0; --i) {
    const NodeSpec& s = nodes[i];
    if (!needs_grad_[i] || s.kind == NodeKind::kInput) continue;
    // Nodes after the loss node (the fused output activation) are skipped.
    const int64_t w = width_[i];
    const int64_t cnt = rows * w;
    float* dy = dout(i);
    const NodeParams& np = node_params_[i];
    const int in0 = s.inputs.empty() ? -1 : s.inputs[0];
    switch (s.kind) {
      case NodeKind::kDense: {
        const int64_t in_w = width_[in0];
        const bool logits = fused_output_ && i == spec_.output;
        // dz = dy * act'(z), in place
        if (!logits) {
          if (act_from_output(s.act)) {
            act_backward_from_output(s.act, out(i), dy, cnt, dy);
          } else {
            NT_RETURN_IF_ERROR(act_backward_f32(s.act, s.alpha, pre_[i].data(), out(i), dy, cnt, dy));
          }
        }
        if (s.trainable) {
          GemmArgs gw;  // dW = X^T dz : [in_w, units]
          gw.trans_a = true;
          gw.m = in_w;
          gw.n = s.units;
          gw.k = rows;
          gw.a = cur_[in0];
          gw.lda = in_w;
          gw.b = dy;
          gw.ldb = s.units;
          gw.c = G + np.w;
          gw.ldc = s.units;
          NT_RETURN_IF_ERROR(gemm_f32(gw));
          if (np.b >= 0) NT_RETURN_IF_ERROR(col_sum_f32(dy, rows, s.units, s.units, G + np.b, false));
        }
        if (needs_grad_[in0]) {
          GemmArgs gx;  // dX (+)= dz W^T : [rows, in_w]
          gx.trans_b = true;
          gx.m = rows;
          gx.n = in_w;
          gx.k = s.units;
          gx.a = dy;
          gx.lda = s.units;
          gx.b = A + np.w;
          gx.ldb = s.units;
          gx.beta = consumers_[in0] == 1 ? 0.0f : 1.0f;
          gx.c = dout(in0);
          gx.ldc = in_w;
          NT_RETURN_IF_ERROR(gemm_f32(gx));
        }
        break;
      }
      case NodeKind::kActivation: {
        if (!needs_grad_[in0]) break;
        float* dst = consumers_[in0] == 1 ? dout(in0) : scratch_.data();
        NT_RETURN_IF_ERROR(act_backward_f32(s.act, s.alpha, cur_[in0], out(i), dy, cnt, dst));
        if (dst == scratch_.data()) NT_RETURN_IF_ERROR(axpy_f32(1.0f, dst, cnt, dout(in0)));
        break;
      }
      case NodeKind::kSoftmax: {
        if (!needs_grad_[in0]) break;
        float* dst = consumers_[in0] == 1 ? dout(in0) : scratch_.data();
        NT_RETURN_IF_ERROR(softmax_backward_f32(out(i), dy, rows, w, dst));
        if (dst == scratch_.data()) NT_RETURN_IF_ERROR(axpy_f32(1.0f, dst, cnt, dout(in0)));
        break;
      }
      case NodeKind::kDropout: {
        if (!needs_grad_[in0]) break;
        if (s.rate == 0.0f) {
          NT_RETURN_IF_ERROR(give(in0, dy, cnt));
          break;
        }
        const float* mask = aux_[i].data();
        float* dst = consumers_[in0] == 1 ? dout(in0) : scratch_.data();
        for (int64_t t = 0; t < cnt; ++t) dst[t] = dy[t] * mask[t];
        if (dst == scratch_.data()) NT_RETURN_IF_ERROR(axpy_f32(1.0f, dst, cnt, dout(in0)));
        break;
      }
      case NodeKind::kLayerNorm: {
        const float* x = cur_[in0];
        const float* st = aux_[i].data();
        const float* gamma = np.gamma >= 0 ? A + np.gamma : nullptr;
        float* dgamma = s.trainable && np.gamma >= 0 ? G + np.gamma : nullptr;
        float* dbeta = s.trainable && np.beta >= 0 ? G + np.beta : nullptr;
        if (dgamma) std::memset(dgamma, 0, static_cast<size_t>(w) * sizeof(float));
        if (dbeta) std::memset(dbeta, 0, static_cast<size_t>(w) * sizeof(float));
        const bool pass = needs_grad_[in0];
        float* dst = pass ? (consumers_[in0] == 1 ? dout(in0) : scratch_.data()) : nullptr;
        for (int64_t r = 0; r < rows; ++r) {
          const float mu = st[2 * r], rstd = st[2 * r + 1];
          const float* xr = x + r * w;
          const float* dyr = dy + r * w;
          double s1 = 0, s2 = 0;
          for (int64_t j = 0; j < w; ++j) {
            const float xh = (xr[j] - mu) * rstd;
            const float dxh = dyr[j] * (gamma ? gamma[j] : 1.0f);
            if (dgamma) dgamma[j] += dyr[j] * xh;
            if (dbeta) dbeta[j] += dyr[j];
            s1 += dxh;
            s2 += static_cast<double>(dxh) * xh;
          }
          if (!dst) continue;
          const float m1 = static_cast<float>(s1 / static_cast<double>(w));
          const float m2 = static_cast<float>(s2 / static_cast<double>(w));
          float* dr = dst + r * w;
          for (int64_t j = 0; j < w; ++j) {
            const float xh = (xr[j] - mu) * rstd;
            const float dxh = dyr[j] * (gamma ? gamma[j] : 1.0f);
            dr[j] = rstd * (dxh - m1 - xh * m2);
          }
        }
        if (dst == scratch_.data()) NT_RETURN_IF_ERROR(axpy_f32(1.0f, dst, cnt, dout(in0)));
        break;
      }
      case NodeKind::kBatchNorm: {
        const float* x = cur_[in0];
        const float* mean_b = aux_[i].data();
        const float* rstd_b = mean_b + w;
        const float* gamma = np.gamma >= 0 ? A + np.gamma : nullptr;
        if (!s.trainable) {  // fixed statistics: an affine map per feature
          if (!needs_grad_[in0]) break;
          float* dst = consumers_[in0] == 1 ? dout(in0) : scratch_.data();
          for (int64_t r = 0; r < rows; ++r)
            for (int64_t j = 0; j < w; ++j) dst[r * w + j] = (gamma ? gamma[j] : 1.0f) * rstd_b[j] * dy[r * w + j];
          if (dst == scratch_.data()) NT_RETURN_IF_ERROR(axpy_f32(1.0f, dst, cnt, dout(in0)));
          break;
        }
        std::vector<double>& acc = dscratch_;
        acc.assign(static_cast<size_t>(2 * w), 0.0);  // sum(dy), sum(dy * xhat)
        for (int64_t r = 0; r < rows; ++r)
          for (int64_t j = 0; j < w; ++j) {
            const float xh = (x[r * w + j] - mean_b[j]) * rstd_b[j];
            acc[j] += dy[r * w + j];
            acc[w + j] += static_cast<double>(dy[r * w + j]) * xh;
          }
        if (s.trainable) {
          if (np.gamma >= 0)
            for (int64_t j = 0; j < w; ++j) G[np.gamma + j] = static_cast<float>(acc[w + j]);
          if (np.beta >= 0)
            for (int64_t j = 0; j < w; ++j) G[np.beta + j] = static_cast<float>(acc[j]);
        }
        if (!needs_grad_[in0]) break;
        float* dst = consumers_[in0] == 1 ? dout(in0) : scratch_.data();
        const double inv_n = 1.0 / static_cast<double>(rows);
        for (int64_t r = 0; r < rows; ++r)
          for (int64_t j = 0; j < w; ++j) {
            const float g = gamma ? gamma[j] : 1.0f;
            const float xh = (x[r * w + j] - mean_b[j]) * rstd_b[j];
            // dx = gamma * rstd * (dy - mean(dy) - xhat * mean(dy * xhat))
            dst[r * w + j] = g * rstd_b[j] *
                             static_cast<float>(dy[r * w + j] - acc[j] * inv_n - xh * acc[w + j] * inv_n);
          }
        if (dst == scratch_.data()) NT_RETURN_IF_ERROR(axpy_f32(1.0f, dst, cnt, dout(in0)));
        break;
      }
      case NodeKind::kAdd:
        for (int j : s.inputs) NT_RETURN_IF_ERROR(give(j, dy, cnt));
        break;
      case NodeKind::kConcat: {
        int64_t col = 0;
        for (int j : s.inputs) {
          const int64_t wj = width_[j];
          if (needs_grad_[j]) {
            float* dj = dout(j);
            const bool acc = consumers_[j] != 1;
            for (int64_t r = 0; r < rows; ++r) {
              const float* src = dy + r * w + col;
              float* dst = dj + r * wj;
              if (acc) {
                for (int64_t t = 0; t < wj; ++t) dst[t] += src[t];
              } else {
                std::memcpy(dst, src, static_cast<size_t>(wj) * sizeof(float));
              }
            }
          }
          col += wj;
        }
        break;
      }
      default:
        break;
    }
  }
  return Status::Ok();
}

// ------------------------------------------------------------------------------------------------
// Update
Status Model::apply_update(double* lr_used) {
  const OptimizerSpec& o = spec_.optimizer;
  float* P = arena_.data();
  float* G = grad_.data();
  const int64_t nt = n_trainable_;
  if (o.clip_value > 0) {
    const float c = static_cast<float>(o.clip_value);
    for (int64_t t = 0; t < nt; ++t) G[t] = std::min(std::max(G[t], -c), c);
  }
  if (nt > 0) {
    auto it = std::find(inject_steps_.begin(), inject_steps_.end(), step_);
    if (it != inject_steps_.end()) {  // one-shot: the step is retried after the failure
      inject_steps_.erase(it);
      G[0] = std::numeric_limits<float>::quiet_NaN();
    }
  }
  double sq = 0.0;
  NT_RETURN_IF_ERROR(sum_squares_f32(G, nt, &sq));
  last_grad_norm_ = std::sqrt(sq);
  if (!std::isfinite(last_grad_norm_)) return Status(StatusCode::kNonFinite, "The gradient is not finite");
  float scale = 1.0f;
  if (o.clip_norm > 0 && last_grad_norm_ > o.clip_norm) scale = static_cast<float>(o.clip_norm / (last_grad_norm_ + 1e-6));
  if (o.kind == OptKind::kSgd) {
    // A finite gradient can still overflow the weights (lr * |g| beyond float range): reject such
    // an update before applying it, so the weights stay finite. Adaptive optimizers' steps are
    // bounded by their rate.
    double max_lr = 0;
    for (int g = 0; g < num_groups(); ++g) max_lr = std::max(max_lr, group_lr(g, step_) * lr_mult_ * hd_mult_);
    const double amplification = o.momentum > 0 && o.momentum < 1 ? 1.0 / (1.0 - o.momentum) : 1.0 + o.momentum;
    if (max_lr * last_grad_norm_ * scale * amplification > 1e30)
      return Status(StatusCode::kNonFinite, "The update would overflow the weights");
  }
  const int64_t t = step_ + 1;  // 1-based step of this update
  double momentum_override = 0;
  if (o.hypergradient && nt > 0) {
    // d f(theta_{t-1}) / d alpha = g_t . (-u_{t-1}); one step of gradient descent on alpha,
    // applied as a multiplier on the (possibly scheduled) rate of every group.
    if (hd_have_dir_) {
      double h = 0.0;
      NT_RETURN_IF_ERROR(dot_f32(G, hd_dir_.data(), nt, &h));
      h *= scale;
      const double base = group_lr(0, step_) * lr_mult_;
      if (base > 0 && std::isfinite(h)) {
        double a;
        if (o.hyper_multiplicative) {
          const double denom = last_grad_norm_ * scale * hd_dir_norm_;
          a = base * hd_mult_ * (1.0 + o.hyper_lr * (denom > 0 ? h / denom : 0.0));
        } else {
          a = base * hd_mult_ + o.hyper_lr * h;
        }
        a = std::min(std::max(a, o.hyper_min_lr), o.hyper_max_lr);
        hd_mult_ = a / base;
      }
    }
    std::memcpy(hd_old_.data(), P, static_cast<size_t>(nt) * sizeof(float));
  }
  for (int g = 0; g < num_groups(); ++g) {
    const int64_t b = group_ranges_[g].first, e = group_ranges_[g].second;
    const double lr = group_lr(g, step_) * lr_mult_ * hd_mult_;
    if (g == 0 && lr_used) *lr_used = lr;
    if (b == e) continue;
    double wd = o.weight_decay;
    if (g < static_cast<int>(o.groups.size()) && o.groups[g].has_weight_decay) wd = o.groups[g].weight_decay;
    bool cyc = false;
    const ScheduleSpec* sch = nullptr;
    if (g < static_cast<int>(o.groups.size()) && o.groups[g].has_schedule) sch = &o.groups[g].schedule;
    else if (o.has_schedule) sch = &o.schedule;
    if (sch) cyc = schedule_momentum(*sch, step_, &momentum_override);
    const int64_t n = e - b;
    switch (o.kind) {
      case OptKind::kSgd: {
        SgdParams p;
        p.lr = static_cast<float>(lr);
        p.momentum = static_cast<float>(cyc ? momentum_override : o.momentum);
        p.dampening = static_cast<float>(o.dampening);
        p.weight_decay = static_cast<float>(wd);
        p.nesterov = o.nesterov;
        p.grad_scale = scale;
        p.step = t;
        NT_RETURN_IF_ERROR(sgd_step_f32(p, P + b, G + b, p.momentum != 0.0f ? state_[0].data() + b : nullptr, n));
        break;
      }
      case OptKind::kAdam:
      case OptKind::kAdamW: {
        AdamParams p;
        p.lr = static_cast<float>(lr);
        p.beta1 = static_cast<float>(cyc ? momentum_override : o.beta1);
        p.beta2 = static_cast<float>(o.beta2);
        p.eps = static_cast<float>(o.eps);
        p.weight_decay = static_cast<float>(wd);
        p.decoupled = o.kind == OptKind::kAdamW;
        p.amsgrad = o.amsgrad;
        p.grad_scale = scale;
        p.step = t;
        NT_RETURN_IF_ERROR(adam_step_f32(p, P + b, G + b, state_[0].data() + b, state_[1].data() + b,
                                         o.amsgrad ? state_[2].data() + b : nullptr, n));
        break;
      }
      case OptKind::kRmsprop: {
        RmspropParams p;
        p.lr = static_cast<float>(lr);
        p.alpha = static_cast<float>(o.alpha);
        p.eps = static_cast<float>(o.eps);
        p.weight_decay = static_cast<float>(wd);
        p.momentum = static_cast<float>(cyc ? momentum_override : o.momentum);
        p.centered = o.centered;
        p.grad_scale = scale;
        p.step = t;
        NT_RETURN_IF_ERROR(rmsprop_step_f32(p, P + b, G + b, state_[1].data() + b,
                                            p.momentum > 0 ? state_[0].data() + b : nullptr,
                                            o.centered ? state_[2].data() + b : nullptr, n));
        break;
      }
      case OptKind::kAdagrad: {
        AdagradParams p;
        p.lr = static_cast<float>(lr);
        p.lr_decay = static_cast<float>(o.lr_decay);
        p.weight_decay = static_cast<float>(wd);
        p.eps = static_cast<float>(o.eps);
        p.grad_scale = scale;
        p.step = t;
        NT_RETURN_IF_ERROR(adagrad_step_f32(p, P + b, G + b, state_[1].data() + b, n));
        break;
      }
    }
  }
  if (o.hypergradient && nt > 0) {
    // u_t = (theta_{t-1} - theta_t) / alpha_t, per group.
    bool any = false;
    double norm2 = 0;
    for (int g = 0; g < num_groups(); ++g) {
      const int64_t b = group_ranges_[g].first, e = group_ranges_[g].second;
      const double lr = group_lr(g, step_) * lr_mult_ * hd_mult_;
      const float inv = lr > 0 ? static_cast<float>(1.0 / lr) : 0.0f;
      double sq_dir = 0;
      for (int64_t i = b; i < e; ++i) {
        const float d = (hd_old_[i] - P[i]) * inv;
        hd_dir_[i] = d;
        sq_dir += static_cast<double>(d) * d;
      }
      norm2 += sq_dir;
      any = any || lr > 0;
    }
    hd_dir_norm_ = std::sqrt(norm2);
    hd_have_dir_ = any;
  }
  step_ = t;
  return Status::Ok();
}

// ------------------------------------------------------------------------------------------------
// Entry points
Status Model::train_step(const float* x, const float* y, const int32_t* labels, int64_t rows, BatchStats* stats,
                         double* lr_used) {
  if (rows < 1 || rows > max_batch_) return InvalidArgument("Batch of " + std::to_string(rows) + " rows exceeds the plan");
  NT_RETURN_IF_ERROR(forward(x, rows, true, true));
  NT_RETURN_IF_ERROR(loss_and_grad(y, labels, rows, true, stats));
  if (!std::isfinite(stats->loss_sum)) return Status(StatusCode::kNonFinite, "The loss is not finite");
  for (size_t i = 0; i < spec_.nodes.size(); ++i) {
    if (spec_.nodes[i].kind != NodeKind::kBatchNorm || !spec_.nodes[i].trainable) continue;
    double sq = 0;
    NT_RETURN_IF_ERROR(sum_squares_f32(aux_[i].data(), 3 * width_[i], &sq));
    if (!std::isfinite(sq)) return Status(StatusCode::kNonFinite, "The batch-norm statistics are not finite");
  }
  NT_RETURN_IF_ERROR(backward(rows));
  NT_RETURN_IF_ERROR(apply_update(lr_used));
  commit_moving_statistics();
  return Status::Ok();
}

// Batch-norm moving statistics follow only applied steps (a rejected step leaves them as they were).
void Model::commit_moving_statistics() {
  float* A = arena_.data();
  for (size_t i = 0; i < spec_.nodes.size(); ++i) {
    const NodeSpec& s = spec_.nodes[i];
    if (s.kind != NodeKind::kBatchNorm || !s.trainable) continue;
    const int64_t w = width_[i];
    const float* mean_b = aux_[i].data();
    const float* var_b = mean_b + 2 * w;
    float* mm = A + node_params_[i].mean;
    float* mv = A + node_params_[i].var;
    const float mom = s.momentum;
    for (int64_t j = 0; j < w; ++j) {
      mm[j] = mom * mm[j] + (1.0f - mom) * mean_b[j];
      mv[j] = mom * mv[j] + (1.0f - mom) * var_b[j];
    }
  }
}

Status Model::eval_batch(const float* x, const float* y, const int32_t* labels, int64_t rows, BatchStats* stats) {
  if (rows < 1 || rows > max_batch_) return InvalidArgument("Batch of " + std::to_string(rows) + " rows exceeds the plan");
  NT_RETURN_IF_ERROR(forward(x, rows, false, true));
  return loss_and_grad(y, labels, rows, false, stats);
}

Status Model::predict_batch(const float* x, int64_t rows, float* dst) {
  if (rows < 1 || rows > max_batch_) return InvalidArgument("Batch of " + std::to_string(rows) + " rows exceeds the plan");
  NT_RETURN_IF_ERROR(forward(x, rows, false, false));
  std::memcpy(dst, cur_[spec_.output], static_cast<size_t>(rows * width_[spec_.output]) * sizeof(float));
  return Status::Ok();
}

}  // namespace nt
