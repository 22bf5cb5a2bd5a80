// dense {units, useBias, activation, alpha}: y = act(x W + b), W [in, units], b [units].
// Activations whose derivative is a function of the output (linear, relu, sigmoid, tanh) run in
// the GEMM epilogue; the others keep the pre-activation for backward (per-call state). As the model's output with
// a sigmoid and binary cross-entropy, the layer emits logits while training (loss fusion).
// Slimmable: under Model::set_active_widths the layer computes its first ctx.width() units from
// the first ctx.in_width(0) inputs, i.e. the top-left block of W (leading dimension `units`) and
// a prefix of b; activations stay compact ([rows, active width]).
#include "engine/op.h"

namespace nt {
namespace {

class DenseOp : public Op {
 public:
  Status build(BuildContext& ctx) override {
    AttrReader a(ctx.spec);
    NT_RETURN_IF_ERROR(a.only({"units", "useBias", "activation", "alpha"}));
    NT_RETURN_IF_ERROR(ctx.expect_inputs(1));
    double alpha;
    NT_RETURN_IF_ERROR(a.integer("units", 0, 1, &units_));
    if (units_ < 1) return InvalidArgument("Expected units >= 1 for dense layer '" + ctx.spec.name + "' but received 0");
    NT_RETURN_IF_ERROR(a.boolean("useBias", true, &use_bias_));
    NT_RETURN_IF_ERROR(a.activation("activation", Act::kNone, &act_));
    NT_RETURN_IF_ERROR(a.number("alpha", 0, &alpha));
    alpha_ = static_cast<float>(alpha);
    trainable_ = ctx.spec.trainable;
    in_w_ = ctx.in_widths[0];
    ctx.out_width = units_;
    ctx.param("kernel", {in_w_, units_}, false, 0.0f, &w_);
    if (use_bias_) ctx.param("bias", {units_}, false, 0.0f, &b_);
    from_output_ = act_backward_from_output_supported(act_);
    if (!from_output_) ctx.local_floats = ctx.max_batch * units_;
    return Status::Ok();
  }

  bool fuse_loss(LossKind loss, LossFusion* f) const override {
    if (loss != LossKind::kBce || act_ != Act::kSigmoid) return false;
    f->kind = LossKind::kBceLogits;  // the dense layer emits logits while training
    f->on_input = false;
    return true;
  }

  bool slimmable() const override { return true; }

  Status forward(RunContext& ctx) override {
    const int64_t n = ctx.width(), k = ctx.in_width(0);  // units_, in_w_ unless slimmed
    GemmArgs g;
    g.m = ctx.rows;
    g.n = n;
    g.k = k;
    g.a = ctx.in(0);
    g.lda = k;
    g.b = ctx.param(w_);
    g.ldb = units_;
    g.beta = 0.0f;
    g.bias = ctx.param(b_);
    float* y = ctx.out();
    g.ldc = n;
    if (ctx.emit_logits || from_output_) {
      g.c = y;
      g.act = ctx.emit_logits ? Act::kNone : act_;
      NT_RETURN_IF_ERROR(ctx.gemm(g));
    } else {
      float* pre = ctx.local();
      g.c = pre;
      NT_RETURN_IF_ERROR(ctx.gemm(g));
      NT_RETURN_IF_ERROR(ctx.be.act_forward(act_, alpha_, pre, ctx.count(), y));
    }
    ctx.set_output(y);
    return Status::Ok();
  }

  Status backward(RunContext& ctx) override {
    const int64_t n = ctx.width(), k = ctx.in_width(0);
    float* dy = ctx.dout();
    const int64_t cnt = ctx.count();
    if (!ctx.emit_logits) {  // dz = dy * act'(z), in place
      if (from_output_) {
        NT_RETURN_IF_ERROR(ctx.be.act_backward_from_output(act_, ctx.output(), dy, cnt, dy));
      } else {
        NT_RETURN_IF_ERROR(ctx.be.act_backward(act_, alpha_, ctx.local(), ctx.output(), dy, cnt, dy));
      }
    }
    if (trainable_) {
      GemmArgs gw;  // dW = X^T dz : [in_w, units]
      gw.trans_a = true;
      gw.m = k;
      gw.n = n;
      gw.k = ctx.rows;
      gw.a = ctx.in(0);
      gw.lda = k;
      gw.b = dy;
      gw.ldb = n;
      gw.c = ctx.grad(w_);
      gw.ldc = units_;
      NT_RETURN_IF_ERROR(ctx.gemm(gw));
      if (b_ >= 0) NT_RETURN_IF_ERROR(ctx.be.col_sum(dy, ctx.rows, n, n, ctx.grad(b_), false));
    }
    if (ctx.in_needs_grad(0)) {
      GemmArgs gx;  // dX (+)= dz W^T : [rows, in_w]
      gx.trans_b = true;
      gx.m = ctx.rows;
      gx.n = k;
      gx.k = n;
      gx.a = dy;
      gx.lda = n;
      gx.b = ctx.param(w_);
      gx.ldb = units_;
      gx.beta = ctx.in_single_consumer(0) ? 0.0f : 1.0f;
      gx.c = ctx.din(0);
      gx.ldc = k;
      NT_RETURN_IF_ERROR(ctx.gemm(gx));
    }
    return Status::Ok();
  }

 private:
  int64_t units_ = 0, in_w_ = 0;
  bool use_bias_ = true, trainable_ = true, from_output_ = true;
  Act act_ = Act::kNone;
  float alpha_ = 0.0f;
  int64_t w_ = -1, b_ = -1;
};

}  // namespace

NT_REGISTER_OP("dense", DenseOp);

}  // namespace nt
