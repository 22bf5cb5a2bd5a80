// add {}: the elementwise sum of two or more inputs of equal width (residual connections);
// concat {}: inputs side by side along the feature axis (backward: the matching column blocks).
#include "engine/op.h"

namespace nt {
namespace {

class AddOp : public Op {
 public:
  Status build(BuildContext& ctx) override {
    NT_RETURN_IF_ERROR(AttrReader(ctx.spec).only({}));
    NT_RETURN_IF_ERROR(ctx.expect_min_inputs(2));
    ctx.out_width = ctx.in_widths[0];
    for (int64_t w : ctx.in_widths)
      if (w != ctx.out_width)
        return InvalidArgument("Expected inputs of equal width for add layer '" + ctx.spec.name + "' but received " +
                               std::to_string(ctx.out_width) + " and " + std::to_string(w));
    return Status::Ok();
  }
  Status forward(RunContext& ctx) override {
    const int64_t cnt = ctx.count();
    float* y = ctx.out();
    ctx.be.copy(y, ctx.in(0), static_cast<size_t>(cnt) * sizeof(float));
    for (size_t k = 1; k < ctx.num_inputs(); ++k) NT_RETURN_IF_ERROR(ctx.be.axpy(1.0f, ctx.in(k), cnt, y));
    ctx.set_output(y);
    return Status::Ok();
  }
  Status backward(RunContext& ctx) override {
    for (size_t k = 0; k < ctx.num_inputs(); ++k) NT_RETURN_IF_ERROR(ctx.give_grad(k, ctx.dout(), ctx.count()));
    return Status::Ok();
  }
};

class ConcatOp : public Op {
 public:
  Status build(BuildContext& ctx) override {
    NT_RETURN_IF_ERROR(AttrReader(ctx.spec).only({}));
    NT_RETURN_IF_ERROR(ctx.expect_min_inputs(2));
    ctx.out_width = 0;
    for (int64_t w : ctx.in_widths) ctx.out_width += w;
    return Status::Ok();
  }
  Status forward(RunContext& ctx) override {
    const int64_t w = ctx.width();
    float* y = ctx.out();
    int64_t col = 0;
    for (size_t k = 0; k < ctx.num_inputs(); ++k) {
      const int64_t wk = ctx.in_width(k);
      NT_RETURN_IF_ERROR(ctx.be.copy_cols(ctx.in(k), ctx.rows, wk, wk, y + col, w, false));
      col += wk;
    }
    ctx.set_output(y);
    return Status::Ok();
  }
  Status backward(RunContext& ctx) override {
    const int64_t w = ctx.width();
    const float* dy = ctx.dout();
    int64_t col = 0;
    for (size_t k = 0; k < ctx.num_inputs(); ++k) {
      const int64_t wk = ctx.in_width(k);
      if (ctx.in_needs_grad(k))
        NT_RETURN_IF_ERROR(ctx.be.copy_cols(dy + col, ctx.rows, wk, w, ctx.din(k), wk, !ctx.in_single_consumer(k)));
      col += wk;
    }
    return Status::Ok();
  }
};

}  // namespace

NT_REGISTER_OP("add", AddOp);
NT_REGISTER_OP("concat", ConcatOp);

}  // namespace nt
