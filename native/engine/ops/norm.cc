// layerNorm and batchNorm {epsilon, momentum, center, scale}: parameters gamma (scale) and beta
// (center) of shape [width]; batch norm also keeps moving_mean and moving_variance (state, not
// trained). A frozen (non-trainable) batch-norm layer runs on its moving statistics even while
// training (Keras semantics); a trainable one commits its batch statistics into the moving ones
// only after an applied optimizer step. batchNorm's `statistics` attr overrides that choice for
// fine-tuning: 0 follows `trainable`, 1 normalises with (and updates) batch statistics while
// training even when gamma and beta are frozen (fastai's default), 2 keeps the moving statistics
// fixed while gamma and beta train. Both run at a reduced width under Model::set_active_widths
// (the first ctx.width() features and parameter entries).
#include <cmath>

#include "engine/op.h"

namespace nt {
namespace {

struct NormAttrs {
  float eps = 1e-3f, momentum = 0.99f;
  bool center = true, scale = true;
  int64_t statistics = 0;
};

Status parse_norm(BuildContext& ctx, NormAttrs* n, bool batch) {
  AttrReader a(ctx.spec);
  if (batch) {
    NT_RETURN_IF_ERROR(a.only({"epsilon", "momentum", "center", "scale", "statistics"}));
    NT_RETURN_IF_ERROR(a.integer("statistics", 0, 0, &n->statistics));
    if (n->statistics > 2)
      return InvalidArgument("Expected 0, 1 or 2 for " + a.where("statistics") + " but received " + std::to_string(n->statistics));
  } else {
    NT_RETURN_IF_ERROR(a.only({"epsilon", "momentum", "center", "scale"}));
  }
  NT_RETURN_IF_ERROR(ctx.expect_inputs(1));
  double eps, mom;
  NT_RETURN_IF_ERROR(a.number("epsilon", 1e-3, &eps));
  NT_RETURN_IF_ERROR(a.number("momentum", 0.99, &mom));
  if (!(eps >= 0)) return InvalidArgument("Expected a number >= 0 for " + a.where("epsilon") + " but received " + std::to_string(eps));
  NT_RETURN_IF_ERROR(a.boolean("center", true, &n->center));
  NT_RETURN_IF_ERROR(a.boolean("scale", true, &n->scale));
  n->eps = static_cast<float>(eps);
  n->momentum = static_cast<float>(mom);
  ctx.out_width = ctx.in_widths[0];
  return Status::Ok();
}

class LayerNormOp : public Op {
 public:
  Status build(BuildContext& ctx) override {
    NT_RETURN_IF_ERROR(parse_norm(ctx, &a_, false));
    w_ = ctx.out_width;
    trainable_ = ctx.spec.trainable;
    if (a_.scale) ctx.param("gamma", {w_}, false, 1.0f, &gamma_);
    if (a_.center) ctx.param("beta", {w_}, false, 0.0f, &beta_);
    ctx.local_floats = ctx.max_batch * 2;
    return Status::Ok();
  }
  Status forward(RunContext& ctx) override {
    NT_RETURN_IF_ERROR(ctx.be.layer_norm_forward(ctx.in(0), ctx.rows, ctx.width(), ctx.param(gamma_), ctx.param(beta_), a_.eps,
                                                 ctx.local(), ctx.out()));
    ctx.set_output(ctx.out());
    return Status::Ok();
  }
  Status backward(RunContext& ctx) override {
    float* dgamma = trainable_ ? ctx.grad(gamma_) : nullptr;
    float* dbeta = trainable_ ? ctx.grad(beta_) : nullptr;
    float* dst = ctx.in_needs_grad(0) ? ctx.grad_target(0) : nullptr;
    NT_RETURN_IF_ERROR(ctx.be.layer_norm_backward(ctx.in(0), ctx.local(), ctx.dout(), ctx.rows, ctx.width(), ctx.param(gamma_),
                                                  dgamma, dbeta, dst));
    return dst ? ctx.accumulate_grad(0, dst, ctx.count()) : Status::Ok();
  }

 private:
  NormAttrs a_;
  int64_t w_ = 0;
  bool trainable_ = true;
  int64_t gamma_ = -1, beta_ = -1;
};

class BatchNormOp : public Op {
 public:
  Status build(BuildContext& ctx) override {
    NT_RETURN_IF_ERROR(parse_norm(ctx, &a_, true));
    w_ = ctx.out_width;
    trainable_ = ctx.spec.trainable;
    batch_stats_ = a_.statistics == 0 ? trainable_ : a_.statistics == 1;
    if (a_.scale) ctx.param("gamma", {w_}, false, 1.0f, &gamma_);
    if (a_.center) ctx.param("beta", {w_}, false, 0.0f, &beta_);
    ctx.param("moving_mean", {w_}, true, 0.0f, &mean_);
    ctx.param("moving_variance", {w_}, true, 1.0f, &var_);
    ctx.local_floats = 3 * w_;  // batch mean, rstd, variance (per call)
    return Status::Ok();
  }
  Status forward(RunContext& ctx) override {
    const int64_t wa = ctx.width();  // w_ unless slimmed
    float* mean_b = ctx.local();
    float* rstd_b = mean_b + w_;
    float* var_b = rstd_b + w_;  // batch variance, folded into the moving statistics after the update
    if (ctx.training && batch_stats_) {
      NT_RETURN_IF_ERROR(
          ctx.be.batch_norm_batch_stats(ctx.in(0), ctx.rows, wa, a_.eps, ctx.work(2 * wa), mean_b, rstd_b, var_b));
    } else {
      NT_RETURN_IF_ERROR(ctx.be.batch_norm_moving_stats(ctx.param(mean_), ctx.param(var_), wa, a_.eps, mean_b, rstd_b));
    }
    NT_RETURN_IF_ERROR(ctx.be.batch_norm_apply(ctx.in(0), ctx.rows, wa, mean_b, rstd_b, ctx.param(gamma_),
                                               ctx.param(beta_), ctx.out()));
    ctx.set_output(ctx.out());
    return Status::Ok();
  }
  Status backward(RunContext& ctx) override {
    const int64_t wa = ctx.width();
    const float* mean_b = ctx.local();
    const float* rstd_b = mean_b + w_;
    float* dgamma = trainable_ ? ctx.grad(gamma_) : nullptr;
    float* dbeta = trainable_ ? ctx.grad(beta_) : nullptr;
    if (!batch_stats_) {  // fixed statistics: an affine map per feature
      // gamma and beta get the same gradients as with batch statistics, given these (fixed) ones.
      if (dgamma || dbeta) {
        NT_RETURN_IF_ERROR(ctx.be.batch_norm_backward(ctx.in(0), ctx.dout(), ctx.rows, wa, mean_b, rstd_b,
                                                      ctx.param(gamma_), ctx.work(2 * wa), dgamma, dbeta, nullptr));
      }
      if (!ctx.in_needs_grad(0)) return Status::Ok();
      float* dst = ctx.grad_target(0);
      NT_RETURN_IF_ERROR(ctx.be.batch_norm_frozen_backward(ctx.dout(), ctx.rows, wa, rstd_b, ctx.param(gamma_), dst));
      return ctx.accumulate_grad(0, dst, ctx.count());
    }
    float* dst = ctx.in_needs_grad(0) ? ctx.grad_target(0) : nullptr;
    if (!dst && !dgamma && !dbeta) return Status::Ok();
    NT_RETURN_IF_ERROR(ctx.be.batch_norm_backward(ctx.in(0), ctx.dout(), ctx.rows, wa, mean_b, rstd_b,
                                                  ctx.param(gamma_), ctx.work(2 * wa), dgamma, dbeta, dst));
    return dst ? ctx.accumulate_grad(0, dst, ctx.count()) : Status::Ok();
  }
  Status check_finite(RunContext& ctx) override {
    if (!batch_stats_) return Status::Ok();
    // A device backend records the verdict in its update record (the step is then skipped there).
    if (ctx.health && ctx.be.flag_nonfinite) return ctx.be.flag_nonfinite(ctx.local(), 3 * w_, ctx.health);
    double sq = 0;
    NT_RETURN_IF_ERROR(ctx.be.sum_squares(ctx.local(), 3 * w_, &sq));
    if (!std::isfinite(sq)) return Status(StatusCode::kNonFinite, "The batch-norm statistics are not finite");
    return Status::Ok();
  }
  Status commit(RunContext& ctx) override {
    if (!batch_stats_) return Status::Ok();
    const float* mean_b = ctx.local();
    const int64_t wa = ctx.width();
    const float momentum = ctx.state_momentum >= 0 ? static_cast<float>(ctx.state_momentum) : a_.momentum;
    return ctx.be.batch_norm_update_moving(mean_b, mean_b + 2 * w_, wa, momentum, ctx.param(mean_), ctx.param(var_));
  }

 private:
  NormAttrs a_;
  int64_t w_ = 0;
  bool trainable_ = true, batch_stats_ = true;
  int64_t gamma_ = -1, beta_ = -1, mean_ = -1, var_ = -1;
};

}  // namespace

NT_REGISTER_OP("layerNorm", LayerNormOp);
NT_REGISTER_OP("batchNorm", BatchNormOp);

}  // namespace nt
