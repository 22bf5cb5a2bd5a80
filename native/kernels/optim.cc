// Fused optimizer steps: SGD (momentum, dampening, Nesterov), Adam / AdamW (AMSGrad), RMSprop
// (centered, momentum) and Adagrad (lr decay), each as ONE in-place pass over a flat float32
// parameter range [0, n) together with its gradient and optimizer state.
//
// Definitions: PyTorch's documented algorithms (torch.optim.SGD / Adam / AdamW / RMSprop / Adagrad,
// "Algorithm" boxes, and the `_single_tensor_*` implementations in torch/optim/{sgd,adam,rmsprop,
// adagrad}.py). Per element, with g = grad_scale * grad (negated when maximize):
//   SGD      g += wd*p; buf = (step == 1 ? g : momentum*buf + (1-dampening)*g);
//            g = nesterov ? g + momentum*buf : buf;  p -= lr*g
//   Adam     AdamW: p *= 1 - lr*wd, else g += wd*p; m = b1*m + (1-b1)g; v = b2*v + (1-b2)g²;
//            vmax = max(vmax, v) (amsgrad); p -= (lr/bc1) * m / (sqrt(v or vmax)/sqrt(bc2) + eps)
//   RMSprop  g += wd*p; sq = a*sq + (1-a)g²; centered: gavg = a*gavg + (1-a)g, avg = sqrt(sq - gavg²)
//            + eps else avg = sqrt(sq) + eps; momentum > 0: buf = momentum*buf + g/avg, p -= lr*buf,
//            else p -= lr*g/avg
//   Adagrad  clr = lr / (1 + (t-1)*lr_decay); g += wd*p; sum += g²; p -= clr * g / (sqrt(sum) + eps)
// Bias corrections and other per-step scalars are computed once here on the host, in double.
// The weight-decay term is only added when weight_decay != 0 (as PyTorch), so an infinite parameter
// with wd == 0 does not turn the update into NaN.
//
// Fast path: the element loop is a template over the option flags, so each instantiation is a
// branch-free loop that g++ vectorises (-O3 -fno-math-errno lets sqrt become sqrtps); large ranges
// are split into contiguous, 64-byte aligned chunks over nt::parallel_for. The step is memory bound
// (Adam streams 7 float arrays), so the chunking and vectorisation exist to reach DRAM bandwidth.
// In the AVX2 table (native/cpu/dispatch.cc), the chunks run the 256-bit AVX2/FMA bodies in
// native/cpu/x86/optim_f32_avx2.cc instead: the same formulas, except that Adam multiplies sqrt(v)
// by 1/sqrt(bc2) (rounded once on the host) instead of dividing by sqrt(bc2) — within an ulp of
// PyTorch's form, and one division fewer per element: sqrt and division throughput, not vector
// width, is what keeps a one-core Adam step below memory bandwidth.
// The _ref twins are straightforward single-threaded scalar loops with the same arithmetic order.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <type_traits>

#include "nodetrain/backend.h"
#include "kernels/variants.h"
#include "nodetrain/kernels.h"
#include "nodetrain/parallel.h"

namespace nt {

#if defined(NT_HAVE_AVX2_KERNELS)
namespace x86 {  // native/cpu/x86/optim_f32_avx2.cc; gs has the maximize sign folded in
void sgd_f32_avx2(const SgdParams& hp, float gs, float* p, const float* g, float* buf, int64_t b, int64_t e);
void adam_f32_avx2(const AdamParams& hp, float gs, float decay, float step_size, float inv_bc2_sqrt, float* p,
                   const float* g, float* m, float* v, float* vmax, int64_t b, int64_t e);
void rmsprop_f32_avx2(const RmspropParams& hp, float gs, float* p, const float* g, float* sq, float* buf, float* gavg,
                      int64_t b, int64_t e);
void adagrad_f32_avx2(const AdagradParams& hp, float gs, float clr, float* p, const float* g, float* sum, int64_t b,
                      int64_t e);
}  // namespace x86
#endif

namespace {

// Ranges below this size run on the calling thread: a pool hand-off costs more than the pass.
constexpr int64_t kParallelMin = int64_t(1) << 16;
// Elements per task for large ranges (128 KiB per stream).
constexpr int64_t kGrain = int64_t(1) << 15;

std::string fmt(double v) {
  char b[40];
  std::snprintf(b, sizeof b, "%.9g", v);
  return b;
}

Status range_error(const char* what, const char* name, double v) {
  return InvalidArgument(std::string("Expected ") + what + " for " + name + " but received " + fmt(v));
}

Status check_finite(const char* name, float v) {
  if (!std::isfinite(v)) return range_error("a finite number", name, v);
  return Status::Ok();
}
Status check_nonneg(const char* name, float v) {
  if (!std::isfinite(v) || v < 0.0f) return range_error("a finite number >= 0", name, v);
  return Status::Ok();
}
Status check_positive(const char* name, float v) {
  if (!std::isfinite(v) || !(v > 0.0f)) return range_error("a finite number > 0", name, v);
  return Status::Ok();
}
Status check_unit(const char* name, float v) {  // [0, 1)
  if (!std::isfinite(v) || v < 0.0f || v >= 1.0f) return range_error("a number in [0, 1)", name, v);
  return Status::Ok();
}

// Common checks: sizes, step, required pointers, and no overlap between the arrays (the fast loops
// promise the compiler that they do not alias).
Status check_arrays(int64_t n, int64_t step, const float* const* ptrs, const char* const* names, int count) {
  if (n < 0) return range_error("an integer >= 0", "n", static_cast<double>(n));
  if (step < 1) return range_error("an integer >= 1", "step", static_cast<double>(step));
  if (n == 0) return Status::Ok();
  for (int i = 0; i < count; ++i) {
    if (ptrs[i] == nullptr) return InvalidArgument(std::string("Expected a non-null array for ") + names[i]);
  }
  const uintptr_t bytes = static_cast<uintptr_t>(n) * sizeof(float);
  for (int i = 0; i < count; ++i) {
    for (int j = i + 1; j < count; ++j) {
      uintptr_t a = reinterpret_cast<uintptr_t>(ptrs[i]), b = reinterpret_cast<uintptr_t>(ptrs[j]);
      if (a < b + bytes && b < a + bytes) {
        return InvalidArgument(std::string("Expected non-overlapping arrays for ") + names[i] + " and " + names[j]);
      }
    }
  }
  return Status::Ok();
}

// Runs fn(begin, end) over [0, n): inline for small n, else in aligned chunks on the pool.
template <class Fn>
void run_chunks(int64_t n, const Fn& fn) {
  if (n < kParallelMin || num_threads() <= 1) {
    fn(int64_t(0), n);
    return;
  }
  parallel_for(n / kGrain, [&](int ith, int nth) {
    int64_t b, e;
    partition(n, ith, nth, 16, &b, &e);
    if (b < e) fn(b, e);
  });
}

// Turns runtime flags into compile-time constants: with_flags(f, a, b) calls f(A, B) with
// std::integral_constant<bool, ...> arguments, so the loop below is instantiated per combination.
template <class F>
void with_flags(const F& f) {
  f();
}
template <class F, class... Rest>
void with_flags(const F& f, bool first, Rest... rest) {
  if (first) {
    with_flags([&](auto... xs) { f(std::true_type{}, xs...); }, rest...);
  } else {
    with_flags([&](auto... xs) { f(std::false_type{}, xs...); }, rest...);
  }
}

// ---- SGD ----------------------------------------------------------------------------------------
struct SgdScalars {
  float gs, wd, lr, mom, damp1;  // damp1 = 1 - dampening
};

Status sgd_check(const SgdParams& p, float* param, const float* grad, float* buf, int64_t n) {
  NT_RETURN_IF_ERROR(check_nonneg("lr", p.lr));
  NT_RETURN_IF_ERROR(check_nonneg("momentum", p.momentum));
  NT_RETURN_IF_ERROR(check_finite("dampening", p.dampening));
  NT_RETURN_IF_ERROR(check_nonneg("weight_decay", p.weight_decay));
  NT_RETURN_IF_ERROR(check_finite("grad_scale", p.grad_scale));
  if (p.nesterov && (p.momentum <= 0.0f || p.dampening != 0.0f)) {
    return InvalidArgument("Expected momentum > 0 and dampening == 0 for nesterov but received momentum " +
                           fmt(p.momentum) + " and dampening " + fmt(p.dampening));
  }
  const bool mom = p.momentum != 0.0f;
  const float* ptrs[3] = {param, grad, buf};
  const char* names[3] = {"param", "grad", "momentum_buf"};
  return check_arrays(n, p.step, ptrs, names, mom ? 3 : 2);
}

SgdScalars sgd_scalars(const SgdParams& p) {
  return {p.maximize ? -p.grad_scale : p.grad_scale, p.weight_decay, p.lr, p.momentum, 1.0f - p.dampening};
}

template <bool kWd, bool kMom, bool kFirst, bool kNesterov>
void sgd_loop(SgdScalars s, float* __restrict__ p, const float* __restrict__ g, float* __restrict__ buf,
              int64_t b, int64_t e) {
  for (int64_t i = b; i < e; ++i) {
    float gi = s.gs * g[i];
    if (kWd) gi = gi + s.wd * p[i];
    if (kMom) {
      float bi = kFirst ? gi : s.mom * buf[i] + s.damp1 * gi;
      buf[i] = bi;
      gi = kNesterov ? gi + s.mom * bi : bi;
    }
    p[i] = p[i] - s.lr * gi;
  }
}

// ---- Adam / AdamW -------------------------------------------------------------------------------
struct AdamScalars {
  float gs, wd, decay, b1, omb1, b2, omb2, step_size, bc2_sqrt, inv_bc2_sqrt, eps;
};

Status adam_check(const AdamParams& p, float* param, const float* grad, float* m, float* v, float* vmax, int64_t n) {
  NT_RETURN_IF_ERROR(check_nonneg("lr", p.lr));
  NT_RETURN_IF_ERROR(check_unit("beta1", p.beta1));
  NT_RETURN_IF_ERROR(check_unit("beta2", p.beta2));
  NT_RETURN_IF_ERROR(check_positive("eps", p.eps));
  NT_RETURN_IF_ERROR(check_nonneg("weight_decay", p.weight_decay));
  NT_RETURN_IF_ERROR(check_finite("grad_scale", p.grad_scale));
  const float* ptrs[5] = {param, grad, m, v, vmax};
  const char* names[5] = {"param", "grad", "m", "v", "vmax"};
  return check_arrays(n, p.step, ptrs, names, p.amsgrad ? 5 : 4);
}

AdamScalars adam_scalars(const AdamParams& p) {
  const double t = static_cast<double>(p.step);
  const double bc1 = 1.0 - std::pow(static_cast<double>(p.beta1), t);
  const double bc2 = 1.0 - std::pow(static_cast<double>(p.beta2), t);
  AdamScalars s;
  s.gs = p.maximize ? -p.grad_scale : p.grad_scale;
  s.wd = p.weight_decay;
  s.decay = static_cast<float>(1.0 - static_cast<double>(p.lr) * p.weight_decay);
  s.b1 = p.beta1;
  s.omb1 = 1.0f - p.beta1;
  s.b2 = p.beta2;
  s.omb2 = 1.0f - p.beta2;
  s.step_size = static_cast<float>(p.lr / bc1);
  s.bc2_sqrt = static_cast<float>(std::sqrt(bc2));
  s.inv_bc2_sqrt = static_cast<float>(1.0 / std::sqrt(bc2));
  s.eps = p.eps;
  return s;
}

template <bool kWd, bool kDecoupled, bool kAmsgrad>
void adam_loop(AdamScalars s, float* __restrict__ p, const float* __restrict__ g, float* __restrict__ m,
               float* __restrict__ v, float* __restrict__ vmax, int64_t b, int64_t e) {
  for (int64_t i = b; i < e; ++i) {
    float pi = p[i];
    float gi = s.gs * g[i];
    if (kWd) {
      if (kDecoupled) {
        pi = pi * s.decay;
      } else {
        gi = gi + s.wd * pi;
      }
    }
    const float mi = s.b1 * m[i] + s.omb1 * gi;
    const float vi = s.b2 * v[i] + s.omb2 * (gi * gi);
    m[i] = mi;
    v[i] = vi;
    float vd = vi;
    if (kAmsgrad) {
      const float old = vmax[i];
      vd = old > vi ? old : vi;
      vmax[i] = vd;
    }
    const float denom = std::sqrt(vd) / s.bc2_sqrt + s.eps;
    p[i] = pi - s.step_size * (mi / denom);
  }
}

// ---- RMSprop ------------------------------------------------------------------------------------
struct RmspropScalars {
  float gs, wd, lr, a, oma, mom, eps;
};

Status rmsprop_check(const RmspropParams& p, float* param, const float* grad, float* sq, float* buf, float* gavg,
                     int64_t n) {
  NT_RETURN_IF_ERROR(check_nonneg("lr", p.lr));
  if (!std::isfinite(p.alpha) || p.alpha < 0.0f || p.alpha > 1.0f) {
    return range_error("a number in [0, 1]", "alpha", p.alpha);
  }
  NT_RETURN_IF_ERROR(check_positive("eps", p.eps));
  NT_RETURN_IF_ERROR(check_nonneg("weight_decay", p.weight_decay));
  NT_RETURN_IF_ERROR(check_nonneg("momentum", p.momentum));
  NT_RETURN_IF_ERROR(check_finite("grad_scale", p.grad_scale));
  const float* ptrs[5] = {param, grad, sq, nullptr, nullptr};
  const char* names[5] = {"param", "grad", "sq", nullptr, nullptr};
  int count = 3;
  if (p.momentum > 0.0f) {
    ptrs[count] = buf;
    names[count++] = "buf";
  }
  if (p.centered) {
    ptrs[count] = gavg;
    names[count++] = "gavg";
  }
  return check_arrays(n, p.step, ptrs, names, count);
}

RmspropScalars rmsprop_scalars(const RmspropParams& p) {
  return {p.maximize ? -p.grad_scale : p.grad_scale, p.weight_decay, p.lr, p.alpha, 1.0f - p.alpha, p.momentum,
          p.eps};
}

template <bool kWd, bool kCentered, bool kMom>
void rmsprop_loop(RmspropScalars s, float* __restrict__ p, const float* __restrict__ g, float* __restrict__ sq,
                  float* __restrict__ buf, float* __restrict__ gavg, int64_t b, int64_t e) {
  for (int64_t i = b; i < e; ++i) {
    float gi = s.gs * g[i];
    if (kWd) gi = gi + s.wd * p[i];
    const float si = s.a * sq[i] + s.oma * (gi * gi);
    sq[i] = si;
    float var = si;
    if (kCentered) {
      const float ga = s.a * gavg[i] + s.oma * gi;
      gavg[i] = ga;
      var = si - ga * ga;
      // sq >= gavg² holds exactly in real arithmetic; clamp the rounding case instead of sqrt(<0) = NaN.
      var = var > 0.0f ? var : 0.0f;
    }
    const float avg = std::sqrt(var) + s.eps;
    if (kMom) {
      const float bi = s.mom * buf[i] + gi / avg;
      buf[i] = bi;
      p[i] = p[i] - s.lr * bi;
    } else {
      p[i] = p[i] - s.lr * (gi / avg);
    }
  }
}

// ---- Adagrad ------------------------------------------------------------------------------------
struct AdagradScalars {
  float gs, wd, clr, eps;
};

Status adagrad_check(const AdagradParams& p, float* param, const float* grad, float* sum, int64_t n) {
  NT_RETURN_IF_ERROR(check_nonneg("lr", p.lr));
  NT_RETURN_IF_ERROR(check_nonneg("lr_decay", p.lr_decay));
  NT_RETURN_IF_ERROR(check_nonneg("weight_decay", p.weight_decay));
  NT_RETURN_IF_ERROR(check_positive("eps", p.eps));
  NT_RETURN_IF_ERROR(check_finite("grad_scale", p.grad_scale));
  const float* ptrs[3] = {param, grad, sum};
  const char* names[3] = {"param", "grad", "sum"};
  return check_arrays(n, p.step, ptrs, names, 3);
}

AdagradScalars adagrad_scalars(const AdagradParams& p) {
  const double clr = static_cast<double>(p.lr) / (1.0 + static_cast<double>(p.step - 1) * p.lr_decay);
  return {p.maximize ? -p.grad_scale : p.grad_scale, p.weight_decay, static_cast<float>(clr), p.eps};
}

template <bool kWd>
void adagrad_loop(AdagradScalars s, float* __restrict__ p, const float* __restrict__ g, float* __restrict__ sum,
                  int64_t b, int64_t e) {
  for (int64_t i = b; i < e; ++i) {
    float gi = s.gs * g[i];
    if (kWd) gi = gi + s.wd * p[i];
    const float si = sum[i] + gi * gi;
    sum[i] = si;
    p[i] = p[i] - s.clr * (gi / (std::sqrt(si) + s.eps));
  }
}

}  // namespace

// ---- entry points -------------------------------------------------------------------------------
Status sgd_step_f32_portable(const SgdParams& hp, float* param, const float* grad, float* momentum_buf, int64_t n) {
  NT_RETURN_IF_ERROR(sgd_check(hp, param, grad, momentum_buf, n));
  if (n == 0) return Status::Ok();
  const SgdScalars s = sgd_scalars(hp);
  with_flags(
      [&](auto wd, auto mom, auto first, auto nest) {
        run_chunks(n, [&](int64_t b, int64_t e) {
          sgd_loop<decltype(wd)::value, decltype(mom)::value, decltype(first)::value && decltype(mom)::value,
                   decltype(nest)::value && decltype(mom)::value>(s, param, grad, momentum_buf, b, e);
        });
      },
      hp.weight_decay != 0.0f, hp.momentum != 0.0f, hp.step == 1, hp.nesterov);
  return Status::Ok();
}

#if defined(NT_HAVE_AVX2_KERNELS)
Status sgd_step_f32_avx2(const SgdParams& hp, float* param, const float* grad, float* momentum_buf, int64_t n) {
  NT_RETURN_IF_ERROR(sgd_check(hp, param, grad, momentum_buf, n));
  if (n == 0) return Status::Ok();
  const SgdScalars s = sgd_scalars(hp);
  run_chunks(n, [&](int64_t b, int64_t e) { x86::sgd_f32_avx2(hp, s.gs, param, grad, momentum_buf, b, e); });
  return Status::Ok();
}
#endif

Status sgd_step_f32(const SgdParams& hp, float* param, const float* grad, float* momentum_buf, int64_t n) {
  return cpu_backend().sgd_step(hp, param, grad, momentum_buf, n);
}

Status sgd_step_f32_ref(const SgdParams& hp, float* param, const float* grad, float* momentum_buf, int64_t n) {
  NT_RETURN_IF_ERROR(sgd_check(hp, param, grad, momentum_buf, n));
  const SgdScalars s = sgd_scalars(hp);
  for (int64_t i = 0; i < n; ++i) {
    float gi = s.gs * grad[i];
    if (hp.weight_decay != 0.0f) gi = gi + s.wd * param[i];
    if (hp.momentum != 0.0f) {
      float bi = hp.step == 1 ? gi : s.mom * momentum_buf[i] + s.damp1 * gi;
      momentum_buf[i] = bi;
      gi = hp.nesterov ? gi + s.mom * bi : bi;
    }
    param[i] = param[i] - s.lr * gi;
  }
  return Status::Ok();
}

Status adam_step_f32_portable(const AdamParams& hp, float* param, const float* grad, float* m, float* v, float* vmax,
                     int64_t n) {
  NT_RETURN_IF_ERROR(adam_check(hp, param, grad, m, v, vmax, n));
  if (n == 0) return Status::Ok();
  const AdamScalars s = adam_scalars(hp);
  with_flags(
      [&](auto wd, auto dec, auto ams) {
        run_chunks(n, [&](int64_t b, int64_t e) {
          adam_loop<decltype(wd)::value, decltype(dec)::value, decltype(ams)::value>(s, param, grad, m, v, vmax, b,
                                                                                     e);
        });
      },
      hp.weight_decay != 0.0f, hp.decoupled, hp.amsgrad);
  return Status::Ok();
}

#if defined(NT_HAVE_AVX2_KERNELS)
Status adam_step_f32_avx2(const AdamParams& hp, float* param, const float* grad, float* m, float* v, float* vmax,
                     int64_t n) {
  NT_RETURN_IF_ERROR(adam_check(hp, param, grad, m, v, vmax, n));
  if (n == 0) return Status::Ok();
  const AdamScalars s = adam_scalars(hp);
  run_chunks(n, [&](int64_t b, int64_t e) {
    x86::adam_f32_avx2(hp, s.gs, s.decay, s.step_size, s.inv_bc2_sqrt, param, grad, m, v, vmax, b, e);
  });
  return Status::Ok();
}
#endif

Status adam_step_f32(const AdamParams& hp, float* param, const float* grad, float* m, float* v, float* vmax,
                     int64_t n) {
  return cpu_backend().adam_step(hp, param, grad, m, v, vmax, n);
}

Status adam_step_f32_ref(const AdamParams& hp, float* param, const float* grad, float* m, float* v, float* vmax,
                         int64_t n) {
  NT_RETURN_IF_ERROR(adam_check(hp, param, grad, m, v, vmax, n));
  const AdamScalars s = adam_scalars(hp);
  for (int64_t i = 0; i < n; ++i) {
    float pi = param[i];
    float gi = s.gs * grad[i];
    if (hp.weight_decay != 0.0f) {
      if (hp.decoupled) {
        pi = pi * s.decay;
      } else {
        gi = gi + s.wd * pi;
      }
    }
    m[i] = s.b1 * m[i] + s.omb1 * gi;
    v[i] = s.b2 * v[i] + s.omb2 * (gi * gi);
    float vd = v[i];
    if (hp.amsgrad) {
      if (vmax[i] > vd) vd = vmax[i];
      vmax[i] = vd;
    }
    const float denom = std::sqrt(vd) / s.bc2_sqrt + s.eps;
    param[i] = pi - s.step_size * (m[i] / denom);
  }
  return Status::Ok();
}

Status rmsprop_step_f32_portable(const RmspropParams& hp, float* param, const float* grad, float* sq, float* buf, float* gavg,
                        int64_t n) {
  NT_RETURN_IF_ERROR(rmsprop_check(hp, param, grad, sq, buf, gavg, n));
  if (n == 0) return Status::Ok();
  const RmspropScalars s = rmsprop_scalars(hp);
  with_flags(
      [&](auto wd, auto cen, auto mom) {
        run_chunks(n, [&](int64_t b, int64_t e) {
          rmsprop_loop<decltype(wd)::value, decltype(cen)::value, decltype(mom)::value>(s, param, grad, sq, buf, gavg,
                                                                                        b, e);
        });
      },
      hp.weight_decay != 0.0f, hp.centered, hp.momentum > 0.0f);
  return Status::Ok();
}

#if defined(NT_HAVE_AVX2_KERNELS)
Status rmsprop_step_f32_avx2(const RmspropParams& hp, float* param, const float* grad, float* sq, float* buf, float* gavg,
                        int64_t n) {
  NT_RETURN_IF_ERROR(rmsprop_check(hp, param, grad, sq, buf, gavg, n));
  if (n == 0) return Status::Ok();
  const RmspropScalars s = rmsprop_scalars(hp);
  run_chunks(n, [&](int64_t b, int64_t e) { x86::rmsprop_f32_avx2(hp, s.gs, param, grad, sq, buf, gavg, b, e); });
  return Status::Ok();
}
#endif

Status rmsprop_step_f32(const RmspropParams& hp, float* param, const float* grad, float* sq, float* buf, float* gavg,
                        int64_t n) {
  return cpu_backend().rmsprop_step(hp, param, grad, sq, buf, gavg, n);
}

Status rmsprop_step_f32_ref(const RmspropParams& hp, float* param, const float* grad, float* sq, float* buf,
                            float* gavg, int64_t n) {
  NT_RETURN_IF_ERROR(rmsprop_check(hp, param, grad, sq, buf, gavg, n));
  const RmspropScalars s = rmsprop_scalars(hp);
  for (int64_t i = 0; i < n; ++i) {
    float gi = s.gs * grad[i];
    if (hp.weight_decay != 0.0f) gi = gi + s.wd * param[i];
    sq[i] = s.a * sq[i] + s.oma * (gi * gi);
    float var = sq[i];
    if (hp.centered) {
      gavg[i] = s.a * gavg[i] + s.oma * gi;
      var = var - gavg[i] * gavg[i];
      if (!(var > 0.0f)) var = 0.0f;
    }
    const float avg = std::sqrt(var) + s.eps;
    if (hp.momentum > 0.0f) {
      buf[i] = s.mom * buf[i] + gi / avg;
      param[i] = param[i] - s.lr * buf[i];
    } else {
      param[i] = param[i] - s.lr * (gi / avg);
    }
  }
  return Status::Ok();
}

Status adagrad_step_f32_portable(const AdagradParams& hp, float* param, const float* grad, float* sum, int64_t n) {
  NT_RETURN_IF_ERROR(adagrad_check(hp, param, grad, sum, n));
  if (n == 0) return Status::Ok();
  const AdagradScalars s = adagrad_scalars(hp);
  with_flags(
      [&](auto wd) {
        run_chunks(n, [&](int64_t b, int64_t e) { adagrad_loop<decltype(wd)::value>(s, param, grad, sum, b, e); });
      },
      hp.weight_decay != 0.0f);
  return Status::Ok();
}

#if defined(NT_HAVE_AVX2_KERNELS)
Status adagrad_step_f32_avx2(const AdagradParams& hp, float* param, const float* grad, float* sum, int64_t n) {
  NT_RETURN_IF_ERROR(adagrad_check(hp, param, grad, sum, n));
  if (n == 0) return Status::Ok();
  const AdagradScalars s = adagrad_scalars(hp);
  run_chunks(n, [&](int64_t b, int64_t e) { x86::adagrad_f32_avx2(hp, s.gs, s.clr, param, grad, sum, b, e); });
  return Status::Ok();
}
#endif

Status adagrad_step_f32(const AdagradParams& hp, float* param, const float* grad, float* sum, int64_t n) {
  return cpu_backend().adagrad_step(hp, param, grad, sum, n);
}

Status adagrad_step_f32_ref(const AdagradParams& hp, float* param, const float* grad, float* sum, int64_t n) {
  NT_RETURN_IF_ERROR(adagrad_check(hp, param, grad, sum, n));
  const AdagradScalars s = adagrad_scalars(hp);
  for (int64_t i = 0; i < n; ++i) {
    float gi = s.gs * grad[i];
    if (hp.weight_decay != 0.0f) gi = gi + s.wd * param[i];
    sum[i] = sum[i] + gi * gi;
    param[i] = param[i] - s.clr * (gi / (std::sqrt(sum[i]) + s.eps));
  }
  return Status::Ok();
}

}  // namespace nt
