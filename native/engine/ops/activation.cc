// activation {activation, alpha}: y = act(x) elementwise; softmax {}: row-wise softmax.
// Both fold into the loss as the model's output where the loss has a from-logits form
// (sigmoid + binary cross-entropy, softmax + categorical cross-entropy): the op is then skipped
// while training and the loss reads its input.
#include "engine/op.h"

namespace nt {
namespace {

class ActivationOp : public Op {
 public:
  Status build(BuildContext& ctx) override {
    AttrReader a(ctx.spec);
    NT_RETURN_IF_ERROR(a.only({"activation", "alpha"}));
    NT_RETURN_IF_ERROR(ctx.expect_inputs(1));
    double alpha;
    NT_RETURN_IF_ERROR(a.activation("activation", Act::kNone, &act_));
    NT_RETURN_IF_ERROR(a.number("alpha", 0, &alpha));
    alpha_ = static_cast<float>(alpha);
    ctx.out_width = ctx.in_widths[0];
    return Status::Ok();
  }
  bool fuse_loss(LossKind loss, LossFusion* f) const override {
    if (loss != LossKind::kBce || act_ != Act::kSigmoid) return false;
    f->kind = LossKind::kBceLogits;
    f->on_input = true;
    return true;
  }
  Status forward(RunContext& ctx) override {
    NT_RETURN_IF_ERROR(ctx.be.act_forward(act_, alpha_, ctx.in(0), ctx.count(), ctx.out()));
    ctx.set_output(ctx.out());
    return Status::Ok();
  }
  Status backward(RunContext& ctx) override {
    if (!ctx.in_needs_grad(0)) return Status::Ok();
    float* dst = ctx.grad_target(0);
    NT_RETURN_IF_ERROR(ctx.be.act_backward(act_, alpha_, ctx.in(0), ctx.output(), ctx.dout(), ctx.count(), dst));
    return ctx.accumulate_grad(0, dst, ctx.count());
  }

 private:
  Act act_ = Act::kNone;
  float alpha_ = 0.0f;
};

class SoftmaxOp : public Op {
 public:
  Status build(BuildContext& ctx) override {
    NT_RETURN_IF_ERROR(AttrReader(ctx.spec).only({}));
    NT_RETURN_IF_ERROR(ctx.expect_inputs(1));
    ctx.out_width = ctx.in_widths[0];
    return Status::Ok();
  }
  bool fuse_loss(LossKind loss, LossFusion* f) const override {
    if (loss == LossKind::kCce) {
      f->kind = LossKind::kCceLogits;
    } else if (loss == LossKind::kSparseCce) {
      f->kind = LossKind::kSparseCceLogits;
    } else {
      return false;
    }
    f->on_input = true;
    return true;
  }
  Status forward(RunContext& ctx) override {
    NT_RETURN_IF_ERROR(ctx.be.softmax(ctx.in(0), ctx.rows, ctx.width(), ctx.out()));
    ctx.set_output(ctx.out());
    return Status::Ok();
  }
  Status backward(RunContext& ctx) override {
    if (!ctx.in_needs_grad(0)) return Status::Ok();
    float* dst = ctx.grad_target(0);
    NT_RETURN_IF_ERROR(ctx.be.softmax_backward(ctx.output(), ctx.dout(), ctx.rows, ctx.width(), dst));
    return ctx.accumulate_grad(0, dst, ctx.count());
  }
};

}  // namespace

NT_REGISTER_OP("activation", ActivationOp);
NT_REGISTER_OP("softmax", SoftmaxOp);

}  // namespace nt
