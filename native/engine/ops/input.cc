// input {units}: the model's input features; its output is the batch itself (no buffer, no
// parameters, nothing to do backward).
#include "engine/op.h"

namespace nt {
namespace {

class InputOp : public Op {
 public:
  Status build(BuildContext& ctx) override {
    AttrReader a(ctx.spec);
    NT_RETURN_IF_ERROR(a.only({"units"}));
    NT_RETURN_IF_ERROR(ctx.expect_inputs(0));
    int64_t units;
    NT_RETURN_IF_ERROR(a.integer("units", 0, 1, &units));
    if (units < 1) return InvalidArgument("Expected units >= 1 for input layer '" + ctx.spec.name + "' but received 0");
    ctx.out_width = units;
    ctx.is_input = true;
    ctx.has_output_buffer = false;
    return Status::Ok();
  }
  Status forward(RunContext& ctx) override {
    ctx.set_output(ctx.x);
    return Status::Ok();
  }
  Status backward(RunContext&) override { return Status::Ok(); }
};

}  // namespace

NT_REGISTER_OP("input", InputOp);

}  // namespace nt
