// Fused optimizer steps on the device: SGD (momentum, dampening, Nesterov), Adam/AdamW (AMSGrad),
// RMSProp (centered, momentum) and AdaGrad, PyTorch's documented algorithms with the same float32
// operation order as native/kernels/optim.cc (adam_step_f32_ref and its twins), so CUDA and CPU
// agree to rounding. ONE launch updates every parameter group of the arena (multi_step): each group
// is a [begin, end) range with its own rate and weight decay, passed by value in the kernel's
// parameters, the way apex's multi_tensor_apply and llm.c's llmc/adamw.cuh update all tensors in
// one launch. The gradient scale of global-norm clipping and the skip flag of the non-finite check
// are read from device memory (reduce.cu), so the step needs no host round trip. The arena is
// walked in aligned chunks of four elements with 16-byte loads and stores (group_walk.h says how a
// chunk that straddles a group boundary or a frozen gap falls back to single elements); the step
// moves 7 floats per Adam parameter and nothing else, so its speed is the memory's.
// Per-step scalars (bias corrections, AdaGrad's decayed rate) are computed once on the host.
#include <cmath>

#include "cuda/common.cuh"
#include "cuda/cuda_kernels.h"
#include "cuda/group_walk.h"

namespace nt {
namespace cuda {
namespace {

constexpr int kThreads = 256;

struct KernelStep {
  MultiStep ms;
  float host_scale;
};

// Which state arrays a configuration reads and writes (the others may be null).
struct Uses {
  bool s1 = false, s2 = false, s3 = false;
};
__host__ __device__ __forceinline__ Uses uses_of(const MultiStep& ms) {
  Uses u;
  switch (ms.kind) {
    case OptKind::kSgd: u.s1 = ms.momentum != 0.f; break;
    case OptKind::kAdam:
    case OptKind::kAdamW: u.s1 = u.s2 = true; u.s3 = ms.amsgrad; break;
    case OptKind::kRmsprop: u.s2 = true; u.s3 = ms.centered; u.s1 = ms.momentum > 0.f; break;
    case OptKind::kAdagrad: u.s2 = true; break;
  }
  return u;
}

// One element's update on values in registers: p and the state values a (s1), b (s2), c (s3) are
// read and written; the caller loads and stores only the arrays uses_of names.
__device__ __forceinline__ void update_vals(const MultiStep& ms, const GroupStep& gp, float gs, float& p, float g,
                                            float& a, float& b, float& c) {
  float pi = p;
  float gi = gs * g;
  if (ms.maximize) gi = -gi;
  const float wd = gp.weight_decay, lr = gp.lr;
  switch (ms.kind) {
    case OptKind::kSgd: {
      if (wd != 0.f) gi = gi + wd * pi;
      if (ms.momentum != 0.f) {
        const float bi = ms.step == 1 ? gi : ms.momentum * a + (1.f - ms.dampening) * gi;
        a = bi;
        gi = ms.nesterov ? gi + ms.momentum * bi : bi;
      }
      p = pi - lr * gi;
      break;
    }
    case OptKind::kAdam:
    case OptKind::kAdamW: {
      if (wd != 0.f) {
        if (ms.decoupled) pi = pi * (1.f - lr * wd);
        else gi = gi + wd * pi;
      }
      const float m = ms.beta1 * a + (1.f - ms.beta1) * gi;
      const float v = ms.beta2 * b + (1.f - ms.beta2) * (gi * gi);
      a = m;
      b = v;
      float vd = v;
      if (ms.amsgrad) {
        vd = fmaxf(c, vd);
        c = vd;
      }
      const float denom = sqrtf(vd) / gp.c2 + ms.eps;
      p = pi - gp.c1 * (m / denom);
      break;
    }
    case OptKind::kRmsprop: {
      if (wd != 0.f) gi = gi + wd * pi;
      const float sq = ms.alpha * b + (1.f - ms.alpha) * (gi * gi);
      b = sq;
      float var = sq;
      if (ms.centered) {
        const float ga = ms.alpha * c + (1.f - ms.alpha) * gi;
        c = ga;
        var = var - ga * ga;
        if (!(var > 0.f)) var = 0.f;
      }
      const float avg = sqrtf(var) + ms.eps;
      if (ms.momentum > 0.f) {
        const float bb = ms.momentum * a + gi / avg;
        a = bb;
        p = pi - lr * bb;
      } else {
        p = pi - lr * (gi / avg);
      }
      break;
    }
    case OptKind::kAdagrad: {
      if (wd != 0.f) gi = gi + wd * pi;
      const float sum = b + gi * gi;
      b = sum;
      p = pi - gp.c1 * (gi / (sqrtf(sum) + ms.eps));
      break;
    }
  }
}

__device__ __forceinline__ void update_one(const MultiStep& ms, const Uses& u, const GroupStep& gp, float gs, int64_t i,
                                           float* p, const float* g, float* s1, float* s2, float* s3) {
  float pv = p[i], a = u.s1 ? s1[i] : 0.f, b = u.s2 ? s2[i] : 0.f, c = u.s3 ? s3[i] : 0.f;
  update_vals(ms, gp, gs, pv, g[i], a, b, c);
  p[i] = pv;
  if (u.s1) s1[i] = a;
  if (u.s2) s2[i] = b;
  if (u.s3) s3[i] = c;
}

// Four consecutive elements of one group, 16-byte loads and stores (the arrays are 16-byte aligned
// and i a multiple of 4: the launcher checks).
__device__ __forceinline__ void update_four(const MultiStep& ms, const Uses& u, const GroupStep& gp, float gs, int64_t i,
                                            float* p, const float* g, float* s1, float* s2, float* s3) {
  float4 pv = *reinterpret_cast<const float4*>(p + i);
  const float4 gv = *reinterpret_cast<const float4*>(g + i);
  const float4 zero = make_float4(0.f, 0.f, 0.f, 0.f);
  float4 a = u.s1 ? *reinterpret_cast<const float4*>(s1 + i) : zero;
  float4 b = u.s2 ? *reinterpret_cast<const float4*>(s2 + i) : zero;
  float4 c = u.s3 ? *reinterpret_cast<const float4*>(s3 + i) : zero;
  update_vals(ms, gp, gs, pv.x, gv.x, a.x, b.x, c.x);
  update_vals(ms, gp, gs, pv.y, gv.y, a.y, b.y, c.y);
  update_vals(ms, gp, gs, pv.z, gv.z, a.z, b.z, c.z);
  update_vals(ms, gp, gs, pv.w, gv.w, a.w, b.w, c.w);
  *reinterpret_cast<float4*>(p + i) = pv;
  if (u.s1) *reinterpret_cast<float4*>(s1 + i) = a;
  if (u.s2) *reinterpret_cast<float4*>(s2 + i) = b;
  if (u.s3) *reinterpret_cast<float4*>(s3 + i) = c;
}

// W = 4: the arena in aligned chunks of four elements, 16-byte accesses for every chunk inside one
// group (group_walk.h); W = 1 where an array is not 16-byte aligned.
template <int W>
__global__ void __launch_bounds__(kThreads) multi_step_k(const KernelStep ks, float* p, const float* g, float* s1,
                                                         float* s2, float* s3, const float* dev_scale,
                                                         const int* dev_flag) {
  if (dev_flag && *dev_flag) return;  // non-finite gradient: the whole step is skipped
  const MultiStep& ms = ks.ms;
  const Uses u = uses_of(ms);
  const float gs = ks.host_scale * (dev_scale ? *dev_scale : 1.f);
  const ChunkRange cr = chunks_covering<W>(ms.groups[0].begin, ms.groups[ms.ngroups - 1].end);
  const int64_t stride = static_cast<int64_t>(blockDim.x) * gridDim.x;
  int grp = 0;
  for (int64_t q = cr.first + blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; q < cr.last; q += stride) {
    walk_chunk<W>(
        ms.groups, ms.ngroups, q, &grp,
        [&](int k, int64_t i) {
          if (W == 4) update_four(ms, u, ms.groups[k], gs, i, p, g, s1, s2, s3);
          else update_one(ms, u, ms.groups[k], gs, i, p, g, s1, s2, s3);
        },
        [&](int k, int64_t i) { update_one(ms, u, ms.groups[k], gs, i, p, g, s1, s2, s3); });
  }
}

bool aligned16(const void* x) { return (reinterpret_cast<uintptr_t>(x) & 15) == 0; }

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
  if (ms.groups[0].begin < 0)
    return InvalidArgument("Expected group ranges at element >= 0 for the fused step but received " +
                           std::to_string(ms.groups[0].begin));
  const int64_t n = ms.groups[ms.ngroups - 1].end - ms.groups[0].begin;
  if (n <= 0) return Status::Ok();
  const Uses u = uses_of(ms);
  if (!p || !g || (u.s1 && !s1) || (u.s2 && !s2) || (u.s3 && !s3))
    return InvalidArgument(std::string("Expected the parameter, gradient and every state array this optimizer keeps (") +
                           (u.s1 ? "s1 " : "") + (u.s2 ? "s2 " : "") + (u.s3 ? "s3" : "") +
                           ") for the fused step but received a null one");
  KernelStep ks{ms, host_scale};
  // A few waves of resident blocks: each thread walks the arena with a grid stride. State arrays
  // the optimizer does not keep (uses_of) are never touched and do not count.
  if (aligned16(p) && aligned16(g) && (!u.s1 || aligned16(s1)) && (!u.s2 || aligned16(s2)) && (!u.s3 || aligned16(s3)))
    multi_step_k<4><<<grid_for((n + 3) / 4 + 1, kThreads, 132 * 16), kThreads, 0, cur_stream()>>>(ks, p, g, s1, s2, s3,
                                                                                                   dev_scale, dev_flag);
  else
    multi_step_k<1><<<grid_for(n, kThreads, 132 * 16), kThreads, 0, cur_stream()>>>(ks, p, g, s1, s2, s3, dev_scale,
                                                                                     dev_flag);
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
