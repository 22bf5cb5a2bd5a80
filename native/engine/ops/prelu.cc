// prelu {}: y = x > 0 ? x : alpha[j] * x with a learnable slope per feature, parameter
// "<name>/alpha" of shape [width] (tf.keras.layers.PReLU with shared_axes over the batch only).
// Its kernels (native/kernels/prelu.cc) register themselves with the Backend; the op finds them
// by name while building, so this file and the kernel's are all a new layer adds natively.
#include "engine/op.h"

namespace nt {
namespace {

class PReluOp : public Op {
 public:
  Status build(BuildContext& ctx) override {
    NT_RETURN_IF_ERROR(AttrReader(ctx.spec).only({}));
    NT_RETURN_IF_ERROR(ctx.expect_inputs(1));
    ctx.out_width = ctx.in_widths[0];
    trainable_ = ctx.spec.trainable;
    ctx.param("alpha", {ctx.out_width}, false, 0.0f, &alpha_);
    if (!ctx.be.extension(kForward) || !ctx.be.extension(kBackward))
      return Status(StatusCode::kNotSupported, "Expected the prelu kernels in this build but they are missing");
    return Status::Ok();
  }
  Status forward(RunContext& ctx) override {
    KernelArgs a = args(ctx);
    a.buf[0] = const_cast<float*>(ctx.in(0));
    a.buf[1] = ctx.param(alpha_);
    a.buf[2] = ctx.out();
    a.nbuf = 3;
    NT_RETURN_IF_ERROR(ctx.be.extension(kForward)(a));
    ctx.set_output(ctx.out());
    return Status::Ok();
  }
  Status backward(RunContext& ctx) override {
    KernelArgs a = args(ctx);
    a.buf[0] = const_cast<float*>(ctx.in(0));
    a.buf[1] = ctx.param(alpha_);
    a.buf[2] = ctx.dout();
    a.buf[3] = ctx.in_needs_grad(0) ? ctx.grad_target(0) : nullptr;
    a.buf[4] = trainable_ ? ctx.grad(alpha_) : nullptr;
    a.nbuf = 5;
    NT_RETURN_IF_ERROR(ctx.be.extension(kBackward)(a));
    return a.buf[3] ? ctx.accumulate_grad(0, a.buf[3], ctx.count()) : Status::Ok();
  }

 private:
  static constexpr const char* kForward = "prelu_forward_f32";
  static constexpr const char* kBackward = "prelu_backward_f32";
  // Sizes for the kernel's own extent checks: every buffer here spans the plan's batch.
  static KernelArgs args(const RunContext& ctx) {
    KernelArgs a;
    for (int b = 0; b < 5; ++b) a.len[b] = ctx.count();
    a.len[1] = a.len[4] = ctx.width();  // alpha and its gradient
    a.i[0] = ctx.rows;
    a.i[1] = ctx.width();
    a.ni = 2;
    return a;
  }
  bool trainable_ = true;
  int64_t alpha_ = -1;
};

}  // namespace

NT_REGISTER_OP("prelu", PReluOp);

}  // namespace nt
