// Fused optimizer steps on the device: SGD (momentum, dampening, Nesterov), Adam/AdamW (AMSGrad),
// RMSProp (centered, momentum) and AdaGrad, PyTorch's documented algorithms with the same float32
// operation order as native/kernels/optim.cc (adam_step_f32_ref and its twins), so CUDA and CPU
// agree to rounding. ONE launch updates every parameter group of the arena (multi_step): each group
// is a [begin, end) range with its own rate and weight decay, passed by value in the kernel's
// parameters, the way apex's multi_tensor_apply and llm.c's llmc/adamw.cuh update all tensors in
// one launch. The gradient scale of global-norm clipping and the skip flag of the non-finite check
// are read from device memory (reduce.cu), so the step needs no host round trip.
// Per-step scalars (bias corrections, AdaGrad's decayed rate) are computed once on the host.
#include <cmath>

#include "cuda/common.cuh"
#include "cuda/cuda_kernels.h"

namespace nt {
namespace cuda {
namespace {

constexpr int kThreads = 256;

struct KernelStep {
  MultiStep ms;
  float host_scale;
};

__device__ __forceinline__ void update_one(const MultiStep& ms, const GroupStep& gp, float gs, int64_t i, float* p,
                                           const float* g, float* s1, float* s2, float* s3) {
  float pi = p[i];
  float gi = gs * g[i];
  if (ms.maximize) gi = -gi;
  const float wd = gp.weight_decay, lr = gp.lr;
  switch (ms.kind) {
    case OptKind::kSgd: {
      if (wd != 0.f) gi = gi + wd * pi;
      if (ms.momentum != 0.f) {
        const float bi = ms.step == 1 ? gi : ms.momentum * s1[i] + (1.f - ms.dampening) * gi;
        s1[i] = bi;
        gi = ms.nesterov ? gi + ms.momentum * bi : bi;
      }
      p[i] = pi - lr * gi;
      break;
    }
    case OptKind::kAdam:
    case OptKind::kAdamW: {
      if (wd != 0.f) {
        if (ms.decoupled) pi = pi * (1.f - lr * wd);
        else gi = gi + wd * pi;
      }
      const float m = ms.beta1 * s1[i] + (1.f - ms.beta1) * gi;
      const float v = ms.beta2 * s2[i] + (1.f - ms.beta2) * (gi * gi);
      s1[i] = m;
      s2[i] = v;
      float vd = v;
      if (ms.amsgrad) {
        vd = fmaxf(s3[i], vd);
        s3[i] = vd;
      }
      const float denom = sqrtf(vd) / gp.c2 + ms.eps;
      p[i] = pi - gp.c1 * (m / denom);
      break;
    }
    case OptKind::kRmsprop: {
      if (wd != 0.f) gi = gi + wd * pi;
      const float sq = ms.alpha * s2[i] + (1.f - ms.alpha) * (gi * gi);
      s2[i] = sq;
      float var = sq;
      if (ms.centered) {
        const float ga = ms.alpha * s3[i] + (1.f - ms.alpha) * gi;
        s3[i] = ga;
        var = var - ga * ga;
        if (!(var > 0.f)) var = 0.f;
      }
      const float avg = sqrtf(var) + ms.eps;
      if (ms.momentum > 0.f) {
        const float b = ms.momentum * s1[i] + gi / avg;
        s1[i] = b;
        p[i] = pi - lr * b;
      } else {
        p[i] = pi - lr * (gi / avg);
      }
      break;
    }
    case OptKind::kAdagrad: {
      if (wd != 0.f) gi = gi + wd * pi;
      const float sum = s2[i] + gi * gi;
      s2[i] = sum;
      p[i] = pi - gp.c1 * (gi / (sqrtf(sum) + ms.eps));
      break;
    }
  }
}

__global__ void __launch_bounds__(kThreads) multi_step_k(const KernelStep ks, float* p, const float* g, float* s1,
                                                         float* s2, float* s3, const float* dev_scale,
                                                         const int* dev_flag) {
  if (dev_flag && *dev_flag) return;  // non-finite gradient: the whole step is skipped
  const MultiStep& ms = ks.ms;
  const float gs = ks.host_scale * (dev_scale ? *dev_scale : 1.f);
  const int64_t begin = ms.groups[0].begin, end = ms.groups[ms.ngroups - 1].end;
  const int64_t stride = static_cast<int64_t>(blockDim.x) * gridDim.x;
  int grp = 0;
  for (int64_t i = begin + blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < end; i += stride) {
    while (grp + 1 < ms.ngroups && i >= ms.groups[grp].end) ++grp;  // i only grows: a forward scan
    if (i < ms.groups[grp].begin) continue;  // a gap between groups (frozen ranges)
    update_one(ms, ms.groups[grp], gs, i, p, g, s1, s2, s3);
  }
}

Status launch(const MultiStep& ms, float host_scale, float* p, const float* g, float* s1, float* s2, float* s3,
              const float* dev_scale, const int* dev_flag) {
  if (ms.ngroups < 1 || ms.ngroups > kMaxGroups)
    return InvalidArgument("Expected 1 to " + std::to_string(kMaxGroups) + " parameter groups for the fused step but received " +
                           std::to_string(ms.ngroups));
  for (int k = 0; k < ms.ngroups; ++k) {
    const GroupStep& gp = ms.groups[k];
    if (gp.begin > gp.end || (k > 0 && gp.begin < ms.groups[k - 1].end))
      return InvalidArgument("Expected ordered, non-overlapping group ranges for the fused step but received group " +
                             std::to_string(k) + " at [" + std::to_string(gp.begin) + ", " + std::to_string(gp.end) + ")");
  }
  if (ms.step < 1) return InvalidArgument("Expected an integer >= 1 for step but received " + std::to_string(ms.step));
  const int64_t n = ms.groups[ms.ngroups - 1].end - ms.groups[0].begin;
  if (n <= 0) return Status::Ok();
  KernelStep ks{ms, host_scale};
  // A few waves of resident blocks: each thread walks the arena with a grid stride.
  multi_step_k<<<grid_for(n, kThreads, 132 * 16), kThreads, 0, cur_stream()>>>(ks, p, g, s1, s2, s3, dev_scale, dev_flag);
  NT_CUDA_LAUNCHED("multi_step");
}

MultiStep one_group(OptKind kind, int64_t n, float lr, float wd, int64_t step) {
  MultiStep ms;
  ms.kind = kind;
  ms.ngroups = 1;
  ms.groups[0].begin = 0;
  ms.groups[0].end = n;
  ms.groups[0].lr = lr;
  ms.groups[0].weight_decay = wd;
  ms.step = step;
  return ms;
}

}  // namespace

Status multi_step(const MultiStep& ms, float* param, const float* grad, float* s1, float* s2, float* s3,
                  const float* dev_scale, const int* dev_flag) {
  return launch(ms, 1.f, param, grad, s1, s2, s3, dev_scale, dev_flag);
}

Status sgd_step_f32_cuda(const SgdParams& hp, float* param, const float* grad, float* buf, int64_t n) {
  if (hp.momentum != 0.f && !buf && n > 0) return InvalidArgument("Expected a momentum buffer for sgd_step");
  MultiStep ms = one_group(OptKind::kSgd, n, hp.lr, hp.weight_decay, hp.step);
  ms.momentum = hp.momentum;
  ms.dampening = hp.dampening;
  ms.nesterov = hp.nesterov;
  ms.maximize = hp.maximize;
  return launch(ms, hp.grad_scale, param, grad, buf, nullptr, nullptr, nullptr, nullptr);
}

Status adam_step_f32_cuda(const AdamParams& hp, float* param, const float* grad, float* m, float* v, float* vmax,
                          int64_t n) {
  if (hp.amsgrad && !vmax && n > 0) return InvalidArgument("Expected a vmax array for adam_step with amsgrad");
  MultiStep ms = one_group(hp.decoupled ? OptKind::kAdamW : OptKind::kAdam, n, hp.lr, hp.weight_decay, hp.step);
  ms.beta1 = hp.beta1;
  ms.beta2 = hp.beta2;
  ms.eps = hp.eps;
  ms.amsgrad = hp.amsgrad;
  ms.maximize = hp.maximize;
  ms.decoupled = hp.decoupled;
  const double t = static_cast<double>(hp.step);
  ms.groups[0].c1 = static_cast<float>(hp.lr / (1.0 - std::pow(static_cast<double>(hp.beta1), t)));
  ms.groups[0].c2 = static_cast<float>(std::sqrt(1.0 - std::pow(static_cast<double>(hp.beta2), t)));
  return launch(ms, hp.grad_scale, param, grad, m, v, vmax, nullptr, nullptr);
}

Status rmsprop_step_f32_cuda(const RmspropParams& hp, float* param, const float* grad, float* sq, float* buf,
                             float* gavg, int64_t n) {
  MultiStep ms = one_group(OptKind::kRmsprop, n, hp.lr, hp.weight_decay, hp.step);
  ms.alpha = hp.alpha;
  ms.eps = hp.eps;
  ms.momentum = hp.momentum;
  ms.centered = hp.centered;
  ms.maximize = hp.maximize;
  return launch(ms, hp.grad_scale, param, grad, buf, sq, gavg, nullptr, nullptr);
}

Status adagrad_step_f32_cuda(const AdagradParams& hp, float* param, const float* grad, float* sum, int64_t n) {
  MultiStep ms = one_group(OptKind::kAdagrad, n, hp.lr, hp.weight_decay, hp.step);
  ms.eps = hp.eps;
  ms.maximize = hp.maximize;
  ms.groups[0].c1 = static_cast<float>(hp.lr / (1.0 + static_cast<double>(hp.step - 1) * hp.lr_decay));
  return launch(ms, hp.grad_scale, param, grad, nullptr, sum, nullptr, nullptr, nullptr);
}

}  // namespace cuda
}  // namespace nt
