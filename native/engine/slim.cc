// Slimmable execution of a built plan (one-shot, weight-sharing architecture search): the plan of
// a supernet runs as any of its sub-networks by changing the widths the ops see at run time. A
// slimmable op (dense) computes its first k units from the top-left block of its parameters, laid
// out as for the full width (GEMM takes the leading dimension), so a candidate reads and trains the
// supernet's own arena; bypassed nodes pass their input through (depth below the maximum). Buffers
// were sized for the full widths, so every active width is checked to be no larger.
// References: Yu et al. 2019, "Slimmable Neural Networks"; Guo et al. 2020, "Single Path One-Shot
// Neural Architecture Search with Uniform Sampling" (batch-norm statistics recomputed per candidate).
#include <string>

#include "engine/model.h"

namespace nt {

Status Model::set_active_widths(const std::vector<int64_t>& active) {
  const int n = static_cast<int>(ops_.size());
  if (full_width_.empty()) full_width_ = plan_.width;
  if (active.empty()) {
    plan_.width = full_width_;
    bypass_.assign(n, false);
    slim_ = false;
    return Status::Ok();
  }
  if (static_cast<int>(active.size()) != n)
    return InvalidArgument("Expected " + std::to_string(n) + " active widths (one per node) but received " +
                           std::to_string(active.size()));
  std::vector<int64_t> width(n, 0);
  std::vector<bool> bypass(n, false);
  for (int i = 0; i < n; ++i) {
    const std::string& name = spec_.nodes[i].name;
    const int64_t req = active[i];
    const auto& ins = plan_.inputs[i];
    if (req < -1 || req > full_width_[i])
      return InvalidArgument("Expected an active width in [-1, " + std::to_string(full_width_[i]) + "] for layer '" +
                             name + "' but received " + std::to_string(req));
    if (req == -1) {
      if (i == spec_.output || i == input_ || ins.size() != 1)
        return InvalidArgument("Expected a single-input hidden layer to bypass for layer '" + name +
                               "' but received a layer with " + std::to_string(ins.size()) + " inputs");
      if (width[ins[0]] > full_width_[i])
        return InvalidArgument("Expected an input of at most " + std::to_string(full_width_[i]) +
                               " features to pass through layer '" + name + "' but received " +
                               std::to_string(width[ins[0]]));
      bypass[i] = true;
      width[i] = width[ins[0]];
      continue;
    }
    if (req > 0 && !ops_[i]->slimmable())
      return InvalidArgument("Expected 0 or -1 as the active width of layer '" + name +
                             "' (it cannot run on part of its units) but received " + std::to_string(req));
    if (ops_[i]->slimmable()) {
      width[i] = req > 0 ? req : full_width_[i];
      continue;
    }
    bool reduced = false;
    for (int j : ins) reduced = reduced || width[j] != full_width_[j];
    if (!reduced) {
      width[i] = full_width_[i];
      continue;
    }
    // A width-preserving op (activation, norm, dropout, add) follows its inputs' common width.
    bool follows = full_width_[i] == full_width_[ins[0]];
    for (int j : ins) follows = follows && width[j] == width[ins[0]] && full_width_[j] == full_width_[ins[0]];
    if (!follows)
      return InvalidArgument("Expected full-width inputs for layer '" + name + "' but received " +
                             std::to_string(width[ins[0]]) + " of " + std::to_string(full_width_[ins[0]]) +
                             " features");
    width[i] = width[ins[0]];
  }
  if (width[spec_.output] != full_width_[spec_.output])
    return InvalidArgument("Expected the output layer at its full width " + std::to_string(full_width_[spec_.output]) +
                           " but received " + std::to_string(width[spec_.output]));
  plan_.width = std::move(width);
  bypass_ = std::move(bypass);
  slim_ = true;
  return Status::Ok();
}

Status Model::calibrate_batch(const float* x, int64_t rows, double momentum) {
  NT_RETURN_IF_ERROR(check_rows(rows));
  if (!(momentum >= 0 && momentum <= 1))
    return InvalidArgument("Expected a momentum in [0, 1] for the recalibration but received " + std::to_string(momentum));
  RunContext ctx(backend(), plan_, train_, plan_.params, rows, true,
                 stage(stage_x_, x, rows * input_width(), input_width()));
  NT_RETURN_IF_ERROR(forward(ctx, true));
  ctx.state_momentum = momentum;
  for (size_t i = 0; i < ops_.size(); ++i) {
    if (slim_ && bypass_[i]) continue;
    ctx.node = static_cast<int>(i);
    NT_RETURN_IF_ERROR(ops_[i]->check_finite(ctx));
    NT_RETURN_IF_ERROR(ops_[i]->commit(ctx));
  }
  publish();  // inference reads the serving snapshot: it must see the recalibrated statistics
  return Status::Ok();
}

}  // namespace nt
