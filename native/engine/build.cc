// Building the plan: one op per node from the registry, each validating its own attributes and
// declaring its parameters; then the parameter layout (trainable parameters group by group, then
// frozen ones and non-trainable state), gradient needs, loss fusion and the buffers.
#include <algorithm>
#include <new>

#include "engine/model.h"

namespace nt {

Status Model::Create(const ModelSpec& spec, int64_t max_batch, std::unique_ptr<Model>* out) {
  std::unique_ptr<Model> m(new (std::nothrow) Model());
  if (!m) return Status(StatusCode::kOutOfMemory, "Could not allocate the model");
  if (spec.device != Device::kCpu) {
    std::string why;
    m->device_ = device_backend(spec.device, &why);
    if (!m->device_)
      return Status(StatusCode::kNoDevice, std::string("Expected a usable ") + kDeviceNames[static_cast<int>(spec.device)] +
                                               " device for the model but received none: " + why);
  }
  try {
    NT_RETURN_IF_ERROR(m->build(spec, max_batch));
  } catch (const std::bad_alloc&) {
    return Status(StatusCode::kOutOfMemory, "Could not allocate the model's buffers (batch size " +
                                                std::to_string(max_batch) + ")");
  }
  *out = std::move(m);
  return Status::Ok();
}

namespace {
constexpr int kMaxGroup = 1024;
}

Status Model::build(const ModelSpec& spec, int64_t max_batch) {
  spec_ = spec;
  const Backend& be = backend();
  const auto& nodes = spec_.nodes;
  const int n = static_cast<int>(nodes.size());
  if (n == 0) return InvalidArgument("Expected at least one layer for the model but received none");
  if (max_batch < 1) return InvalidArgument("Expected a batch size >= 1 but received " + std::to_string(max_batch));
  if (spec_.output < 0 || spec_.output >= n)
    return InvalidArgument("Expected an output node in [0, " + std::to_string(n) + ") but received " +
                           std::to_string(spec_.output));
  plan_.max_batch = max_batch;
  plan_.bf16 = spec_.precision == Precision::kBf16;
  plan_.width.assign(n, 0);
  plan_.inputs.assign(n, {});
  plan_.consumers.assign(n, 0);
  plan_.local.assign(n, 0);
  input_ = -1;
  ops_.clear();
  std::vector<std::vector<BuildContext::ParamDecl>> decls(n);
  std::vector<bool> has_buffer(n, true);
  for (int i = 0; i < n; ++i) {
    const NodeSpec& s = nodes[i];
    std::vector<int64_t> in_widths;
    for (int j : s.inputs) {
      if (j < 0 || j >= i)
        return InvalidArgument("Expected inputs that are earlier layers for layer '" + s.name + "' but received " +
                               std::to_string(j));
      plan_.consumers[j]++;
      in_widths.push_back(plan_.width[j]);
    }
    if (s.group < 0 || s.group > kMaxGroup)
      return InvalidArgument("Expected a parameter group in [0, " + std::to_string(kMaxGroup) + "] for layer '" +
                             s.name + "' but received " + std::to_string(s.group));
    std::unique_ptr<Op> op = create_op(s.op);
    if (!op) {
      std::string names;
      for (const auto& r : registered_ops()) names += (names.empty() ? "'" : ", '") + r + "'";
      return InvalidArgument("Expected one of " + names + " for the op of layer '" + s.name + "' but received \"" +
                             s.op + "\"");
    }
    BuildContext ctx(be, s, i, in_widths, max_batch);
    NT_RETURN_IF_ERROR(op->build(ctx));
    if (ctx.is_input) {
      if (input_ >= 0) return InvalidArgument("Expected one input layer for the model but received more than one");
      input_ = i;
    }
    plan_.width[i] = ctx.out_width;
    plan_.inputs[i] = s.inputs;
    has_buffer[i] = ctx.has_output_buffer;
    plan_.local[i] = ctx.local_floats;
    decls[i] = std::move(ctx.decls);
    ops_.push_back(std::move(op));
  }
  if (input_ < 0) return InvalidArgument("Expected an input layer for the model but received none");

  // Parameter layout: trainable parameters group by group, then frozen ones and moving statistics.
  int max_group = 0;
  for (const auto& s : nodes) max_group = std::max(max_group, s.group);
  params_.clear();
  int64_t off = 0;
  std::vector<float> init;  // neutral defaults; the caller normally writes initial values
  auto place = [&](int i, const BuildContext::ParamDecl& d, bool trainable) {
    ParamInfo p;
    p.node = i;
    p.name = nodes[i].name + "/" + d.role;
    p.shape = d.shape;
    p.size = 1;
    for (int64_t x : p.shape) p.size *= x;
    p.offset = off;
    p.group = nodes[i].group;
    p.trainable = trainable;
    *d.offset = off;
    off += p.size;
    init.resize(static_cast<size_t>(off), d.init);
    params_.push_back(p);
  };
  group_ranges_.assign(max_group + 1, {0, 0});
  for (int g = 0; g <= max_group; ++g) {
    group_ranges_[g].first = off;
    for (int i = 0; i < n; ++i)
      if (nodes[i].trainable && nodes[i].group == g)
        for (const auto& d : decls[i])
          if (!d.state) place(i, d, true);
    group_ranges_[g].second = off;
  }
  n_trainable_ = off;
  for (int i = 0; i < n; ++i) {
    if (!nodes[i].trainable)
      for (const auto& d : decls[i])
        if (!d.state) place(i, d, false);
    for (const auto& d : decls[i])
      if (d.state) place(i, d, false);
  }
  arena_.assign(be, static_cast<size_t>(off), 0.0f);
  if (off) be.copy_to_device(arena_.data(), init.data(), static_cast<size_t>(off) * sizeof(float));
  grad_.assign(be, static_cast<size_t>(n_trainable_), 0.0f);
  plan_.params = arena_.data();
  plan_.grads = grad_.data();
  // The device-resident update's record (backends with fused_update only).
  if (be.fused_update && be.health_reset) health_.assign(be, kUpdateHealthFloats, 0.0f);

  // Which node outputs need gradients: those with trainable weights and everything downstream.
  plan_.needs_grad.assign(n, false);
  for (int i = 0; i < n; ++i) {
    bool has_trainable = false;
    for (const auto& d : decls[i]) has_trainable = has_trainable || (!d.state && nodes[i].trainable);
    bool upstream = false;
    for (int j : nodes[i].inputs) upstream = upstream || plan_.needs_grad[j];
    plan_.needs_grad[i] = has_trainable || upstream;
  }

  // The loss, fused with the output op where that op allows it.
  NT_RETURN_IF_ERROR(loss_.build(spec_.loss, spec_.metrics, *ops_[spec_.output], spec_.output,
                                 plan_.inputs[spec_.output], plan_.width[spec_.output], spec_.target_width,
                                 spec_.sparse_labels));
  plan_.needs_grad[loss_.loss_node()] = true;

  // Buffers: the training step's Scratch; inference calls bring their own (acquire_scratch).
  plan_.has_buffer = has_buffer;
  plan_.alloc_width = plan_.width;
  plan_.max_width = 1;
  for (int i = 0; i < n; ++i) plan_.max_width = std::max(plan_.max_width, plan_.width[i]);
  train_.build(be, plan_, true);
  train_.rng.reseed(spec_.seed);
  publish();
  return set_optimizer(spec_.optimizer, true);
}

}  // namespace nt
