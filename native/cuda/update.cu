// The device-resident update (nodetrain/backend.h UpdateHealth / FusedUpdateArgs): the global
// gradient norm with the non-finite check (reduce.cu global_norm_sq), the clip scale and the SGD
// overflow check in one thread, then every parameter group's step in ONE launch (optim.cu
// multi_step), skipped as a whole when the record's flag is set. The record stays in device memory;
// the engine reads it when it chooses (the fit loop's guard-snapshot and epoch-end points), so a
// training step never waits for the device here (llm.c train_gpt2.cu keeps its norm on the device
// the same way). flag_nonfinite lets ops (batch-norm statistics) veto the step without a round trip.
#include "cuda/common.cuh"
#include "cuda/cuda_kernels.h"

namespace nt {
namespace cuda {
namespace {

constexpr int kThreads = 256;

__global__ void health_reset_k(UpdateHealth* h) {
  h->sum_sq = 0.0;
  h->nonfinite = 0;
  h->scale = 1.f;
}

__global__ void flag_nonfinite_k(const float* x, int64_t n, UpdateHealth* h) {
  bool bad = false;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(blockDim.x) * gridDim.x)
    if (!isfinite(x[i])) bad = true;
  if (bad) atomicOr(&h->nonfinite, 1);
}

// The same decisions as the host path (engine/update.cc): a non-finite norm skips the step; the
// clip scale is clip / (norm + 1e-6) above the clip; SGD's overflow guard compares norm * scale.
__global__ void health_scale_k(UpdateHealth* h, double clip, double overflow_limit) {
  const double norm = sqrt(h->sum_sq);
  float s = 1.f;
  if (!isfinite(norm)) {
    h->nonfinite |= 1;
  } else {
    if (clip > 0 && norm > clip) s = static_cast<float>(clip / (norm + 1e-6));
    if (h->nonfinite == 0 && overflow_limit > 0 && norm * s > overflow_limit) h->nonfinite = 2;
  }
  h->scale = s;
}

__global__ void health_close_k(UpdateHealth* h, int64_t step, int32_t seen) {
  if (h->nonfinite != 0) {
    if (h->skipped == seen) {
      h->first_skipped = step;
      h->first_reason = h->nonfinite;
    }
    h->skipped += 1;
  }
}

}  // namespace

Status health_reset_cuda(UpdateHealth* h) {
  health_reset_k<<<1, 1, 0, cur_stream()>>>(h);
  NT_CUDA_LAUNCHED("health_reset");
}

Status flag_nonfinite_cuda(const float* x, int64_t n, UpdateHealth* h) {
  if (n <= 0) return Status::Ok();
  flag_nonfinite_k<<<grid_for(n, kThreads, 1024), kThreads, 0, cur_stream()>>>(x, n, h);
  NT_CUDA_LAUNCHED("flag_nonfinite");
}

Status fused_update_cuda(const FusedUpdateArgs& a, float* param, const float* grad, float* s1, float* s2, float* s3,
                         UpdateHealth* h) {
  // No group (every weight frozen): the step still closes the record, so that a loss or statistic
  // flagged this step is counted as a skipped step.
  if (a.ngroups < 0 || a.ngroups > kMaxGroups || (a.ngroups > 0 && !a.groups))
    return InvalidArgument("Expected 0 to " + std::to_string(kMaxGroups) +
                           " parameter groups for the fused update but received " + std::to_string(a.ngroups));
  MultiStep ms;
  ms.kind = a.kind;
  ms.ngroups = a.ngroups;
  for (int g = 0; g < a.ngroups; ++g) {
    GroupStep& gs = ms.groups[g];
    gs.begin = a.groups[g].begin;
    gs.end = a.groups[g].end;
    gs.lr = a.groups[g].lr;
    gs.weight_decay = a.groups[g].weight_decay;
    gs.c1 = a.groups[g].c1;
    gs.c2 = a.groups[g].c2;
  }
  ms.beta1 = a.beta1;
  ms.beta2 = a.beta2;
  ms.eps = a.eps;
  ms.momentum = a.momentum;
  ms.dampening = a.dampening;
  ms.alpha = a.alpha;
  ms.nesterov = a.nesterov;
  ms.amsgrad = a.amsgrad;
  ms.centered = a.centered;
  ms.decoupled = a.decoupled;
  ms.step = a.step;
  NT_RETURN_IF_ERROR(global_norm_sq(grad, a.n, &h->sum_sq, &h->nonfinite));
  health_scale_k<<<1, 1, 0, cur_stream()>>>(h, a.clip_norm, a.overflow_limit);
  NT_RETURN_IF_ERROR(last_error("fused_update (scale)"));
  if (a.ngroups > 0) NT_RETURN_IF_ERROR(multi_step(ms, param, grad, s1, s2, s3, &h->scale, &h->nonfinite));
  health_close_k<<<1, 1, 0, cur_stream()>>>(h, a.step, a.seen);
  NT_CUDA_LAUNCHED("fused_update");
}

}  // namespace cuda
}  // namespace nt
