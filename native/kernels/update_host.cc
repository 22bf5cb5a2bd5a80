// Host twins of the device-resident update (nodetrain/backend.h UpdateHealth / FusedUpdateArgs;
// the device version is native/cuda/update.cu): the global norm and non-finite check, the clip
// scale and SGD's overflow check, then each group's step through the active CPU table's per-tensor
// kernels, the whole step skipped when the record's flag is set. They exist so that the engine's
// deferred path (checks read back later from the record) runs and is tested on the CPU; the
// decisions are those of Model::apply_update's per-tensor path, so the two agree bit for bit.
#include <cmath>

#include "nodetrain/backend.h"
#include "nodetrain/loops.h"

namespace nt {

Status health_reset_host(UpdateHealth* h) {
  h->sum_sq = 0;
  h->nonfinite = 0;
  h->scale = 1.0f;
  return Status::Ok();
}

Status flag_nonfinite_host(const float* x, int64_t n, UpdateHealth* h) {
  for (int64_t i = 0; i < n; ++i)
    if (!std::isfinite(x[i])) {
      h->nonfinite |= 1;
      break;
    }
  return Status::Ok();
}

Status step_group(const Backend& be, const FusedUpdateArgs& a, const UpdateGroup& g, float grad_scale, float* P,
                  const float* G, float* s1, float* s2, float* s3) {
  const int64_t b = g.begin, n = g.end - g.begin;
  switch (a.kind) {
    case OptKind::kSgd: {
      SgdParams p;
      p.lr = g.lr;
      p.momentum = a.momentum;
      p.dampening = a.dampening;
      p.weight_decay = g.weight_decay;
      p.nesterov = a.nesterov;
      p.grad_scale = grad_scale;
      p.step = a.step;
      return be.sgd_step(p, P + b, G + b, p.momentum != 0.0f && s1 ? s1 + b : nullptr, n);
    }
    case OptKind::kAdam:
    case OptKind::kAdamW: {
      AdamParams p;
      p.lr = g.lr;
      p.beta1 = a.beta1;
      p.beta2 = a.beta2;
      p.eps = a.eps;
      p.weight_decay = g.weight_decay;
      p.decoupled = a.decoupled;
      p.amsgrad = a.amsgrad;
      p.grad_scale = grad_scale;
      p.step = a.step;
      return be.adam_step(p, P + b, G + b, s1 + b, s2 + b, a.amsgrad && s3 ? s3 + b : nullptr, n);
    }
    case OptKind::kRmsprop: {
      RmspropParams p;
      p.lr = g.lr;
      p.alpha = a.alpha;
      p.eps = a.eps;
      p.weight_decay = g.weight_decay;
      p.momentum = a.momentum;
      p.centered = a.centered;
      p.grad_scale = grad_scale;
      p.step = a.step;
      return be.rmsprop_step(p, P + b, G + b, s2 + b, p.momentum > 0 && s1 ? s1 + b : nullptr,
                             a.centered && s3 ? s3 + b : nullptr, n);
    }
    case OptKind::kAdagrad: {
      AdagradParams p;
      p.lr = g.lr;
      p.lr_decay = a.lr_decay;
      p.weight_decay = g.weight_decay;
      p.eps = a.eps;
      p.grad_scale = grad_scale;
      p.step = a.step;
      return be.adagrad_step(p, P + b, G + b, s2 + b, n);
    }
  }
  return Status::Ok();
}

Status fused_update_host(const FusedUpdateArgs& a, float* P, const float* G, float* s1, float* s2, float* s3,
                         UpdateHealth* h) {
  const Backend& be = cpu_backend();
  double sq = 0;
  NT_RETURN_IF_ERROR(be.sum_squares(G, a.n, &sq));
  h->sum_sq = sq;
  const double norm = std::sqrt(sq);
  float scale = 1.0f;
  if (!std::isfinite(norm)) {
    h->nonfinite |= 1;
  } else {
    if (a.clip_norm > 0 && norm > a.clip_norm) scale = static_cast<float>(a.clip_norm / (norm + 1e-6));
    if (h->nonfinite == 0 && a.overflow_limit > 0 && norm * scale > a.overflow_limit) h->nonfinite = 2;
  }
  h->scale = scale;
  if (h->nonfinite != 0) {
    if (h->skipped == a.seen) {
      h->first_skipped = a.step;
      h->first_reason = h->nonfinite;
    }
    h->skipped += 1;
    return Status::Ok();
  }
  for (int k = 0; k < a.ngroups; ++k) NT_RETURN_IF_ERROR(step_group(be, a, a.groups[k], scale, P, G, s1, s2, s3));
  return Status::Ok();
}

}  // namespace nt
