// dropout {rate}: inverted dropout while training (mask from the plan's seeded generator), the
// identity otherwise (the output is the input itself, no copy).
#include "engine/op.h"

namespace nt {
namespace {

class DropoutOp : public Op {
 public:
  Status build(BuildContext& ctx) override {
    AttrReader a(ctx.spec);
    NT_RETURN_IF_ERROR(a.only({"rate"}));
    NT_RETURN_IF_ERROR(ctx.expect_inputs(1));
    double rate;
    NT_RETURN_IF_ERROR(a.number("rate", 0, &rate));
    if (!(rate >= 0.0 && rate < 1.0))
      return InvalidArgument("Expected a rate in [0, 1) for " + a.where("rate") + " but received " +
                             std::to_string(rate));
    rate_ = static_cast<float>(rate);
    ctx.out_width = ctx.in_widths[0];
    if (rate_ > 0.0f) ctx.local_floats = ctx.max_batch * ctx.out_width;
    return Status::Ok();
  }
  Status forward(RunContext& ctx) override {
    if (!ctx.training || rate_ == 0.0f) {
      ctx.set_output(ctx.in(0));
      return Status::Ok();
    }
    const int64_t cnt = ctx.count();
    float* mask = ctx.local();
    NT_RETURN_IF_ERROR(ctx.be.uniform(ctx.rng().state(), mask, cnt));  // the draws, replaced by the mask
    NT_RETURN_IF_ERROR(ctx.be.dropout_forward(ctx.in(0), mask, cnt, 1.0f - rate_, mask, ctx.out()));
    ctx.set_output(ctx.out());
    return Status::Ok();
  }
  Status backward(RunContext& ctx) override {
    if (!ctx.in_needs_grad(0)) return Status::Ok();
    if (rate_ == 0.0f) return ctx.give_grad(0, ctx.dout(), ctx.count());
    float* dst = ctx.grad_target(0);
    NT_RETURN_IF_ERROR(ctx.be.dropout_backward(ctx.dout(), ctx.local(), ctx.count(), dst));
    return ctx.accumulate_grad(0, dst, ctx.count());
  }

 private:
  float rate_ = 0.0f;
};

}  // namespace

NT_REGISTER_OP("dropout", DropoutOp);

}  // namespace nt
