// AVX2/FMA bodies of the fused optimizer steps (native/kernels/optim.cc), 8 floats per iteration.
// Each function updates the range [b, e) of one chunk in place; optim.cc validates the arguments,
// computes the per-step scalars once, splits the range over threads and calls these only after
// nt::use_avx2(). The arithmetic is the same as the portable loops (PyTorch's algorithms, see
// optim.cc), except that a*b + c may be fused into one FMA and that Adam's denominator is
// sqrt(v) * (1/sqrt(bc2)) + eps with the reciprocal rounded once on the host (PyTorch divides by
// sqrt(bc2); the results agree to about an ulp). Why: a step should be memory bound, but sqrt and
// division are slow (on many x86 cores 256-bit sqrt/div run at the 128-bit rate per element), and
// Adam's sqrt + 2 divisions per element cost about as much as streaming its 7 arrays on one core;
// dropping one division and fusing the multiply-adds keeps the pass at DRAM speed.
// The scalar tails repeat the vector formula.
#include <immintrin.h>

#include <cmath>
#include <cstdint>

#include "nodetrain/kernels.h"

namespace nt {
namespace x86 {
namespace {

template <bool kWd, bool kMom, bool kFirst, bool kNesterov>
void sgd_loop(float gs, float wd, float lr, float mom, float damp1, float* __restrict__ p, const float* __restrict__ g,
              float* __restrict__ buf, int64_t b, int64_t e) {
  const __m256 vgs = _mm256_set1_ps(gs), vwd = _mm256_set1_ps(wd), vlr = _mm256_set1_ps(lr);
  const __m256 vmom = _mm256_set1_ps(mom), vd1 = _mm256_set1_ps(damp1);
  int64_t i = b;
  for (; i + 8 <= e; i += 8) {
    __m256 pi = _mm256_loadu_ps(p + i);
    __m256 gi = _mm256_mul_ps(vgs, _mm256_loadu_ps(g + i));
    if (kWd) gi = _mm256_fmadd_ps(vwd, pi, gi);
    if (kMom) {
      __m256 bi = kFirst ? gi : _mm256_fmadd_ps(vmom, _mm256_loadu_ps(buf + i), _mm256_mul_ps(vd1, gi));
      _mm256_storeu_ps(buf + i, bi);
      gi = kNesterov ? _mm256_fmadd_ps(vmom, bi, gi) : bi;
    }
    _mm256_storeu_ps(p + i, _mm256_fnmadd_ps(vlr, gi, pi));
  }
  for (; i < e; ++i) {
    float gi = gs * g[i];
    if (kWd) gi = gi + wd * p[i];
    if (kMom) {
      float bi = kFirst ? gi : mom * buf[i] + damp1 * gi;
      buf[i] = bi;
      gi = kNesterov ? gi + mom * bi : bi;
    }
    p[i] = p[i] - lr * gi;
  }
}

template <bool kWd, bool kDecoupled, bool kAmsgrad>
void adam_loop(float gs, float wd, float decay, float b1, float b2, float step_size, float inv_bc2_sqrt, float eps,
               float* __restrict__ p, const float* __restrict__ g, float* __restrict__ m, float* __restrict__ v,
               float* __restrict__ vmax, int64_t b, int64_t e) {
  const float omb1 = 1.0f - b1, omb2 = 1.0f - b2;
  const __m256 vgs = _mm256_set1_ps(gs), vwd = _mm256_set1_ps(wd), vdecay = _mm256_set1_ps(decay);
  const __m256 vb1 = _mm256_set1_ps(b1), vomb1 = _mm256_set1_ps(omb1), vb2 = _mm256_set1_ps(b2);
  const __m256 vomb2 = _mm256_set1_ps(omb2), vss = _mm256_set1_ps(step_size), vibc2 = _mm256_set1_ps(inv_bc2_sqrt);
  const __m256 veps = _mm256_set1_ps(eps);
  int64_t i = b;
  for (; i + 8 <= e; i += 8) {
    __m256 pi = _mm256_loadu_ps(p + i);
    __m256 gi = _mm256_mul_ps(vgs, _mm256_loadu_ps(g + i));
    if (kWd) {
      if (kDecoupled) {
        pi = _mm256_mul_ps(pi, vdecay);
      } else {
        gi = _mm256_fmadd_ps(vwd, pi, gi);
      }
    }
    const __m256 mi = _mm256_fmadd_ps(vb1, _mm256_loadu_ps(m + i), _mm256_mul_ps(vomb1, gi));
    __m256 vi = _mm256_fmadd_ps(vb2, _mm256_loadu_ps(v + i), _mm256_mul_ps(vomb2, _mm256_mul_ps(gi, gi)));
    _mm256_storeu_ps(m + i, mi);
    _mm256_storeu_ps(v + i, vi);
    if (kAmsgrad) {
      // max(old, v): returns v when either is NaN, as the portable `old > v ? old : v`.
      vi = _mm256_max_ps(_mm256_loadu_ps(vmax + i), vi);
      _mm256_storeu_ps(vmax + i, vi);
    }
    const __m256 denom = _mm256_fmadd_ps(_mm256_sqrt_ps(vi), vibc2, veps);
    _mm256_storeu_ps(p + i, _mm256_fnmadd_ps(vss, _mm256_div_ps(mi, denom), pi));
  }
  for (; i < e; ++i) {
    float pi = p[i];
    float gi = gs * g[i];
    if (kWd) {
      if (kDecoupled) {
        pi = pi * decay;
      } else {
        gi = gi + wd * pi;
      }
    }
    const float mi = b1 * m[i] + omb1 * gi;
    const float vi = b2 * v[i] + omb2 * (gi * gi);
    m[i] = mi;
    v[i] = vi;
    float vd = vi;
    if (kAmsgrad) {
      const float old = vmax[i];
      vd = old > vi ? old : vi;
      vmax[i] = vd;
    }
    p[i] = pi - step_size * (mi / (std::sqrt(vd) * inv_bc2_sqrt + eps));
  }
}

template <bool kWd, bool kCentered, bool kMom>
void rmsprop_loop(float gs, float wd, float lr, float a, float mom, float eps, float* __restrict__ p,
                  const float* __restrict__ g, float* __restrict__ sq, float* __restrict__ buf,
                  float* __restrict__ gavg, int64_t b, int64_t e) {
  const float oma = 1.0f - a;
  const __m256 vgs = _mm256_set1_ps(gs), vwd = _mm256_set1_ps(wd), vlr = _mm256_set1_ps(lr);
  const __m256 va = _mm256_set1_ps(a), voma = _mm256_set1_ps(oma), vmom = _mm256_set1_ps(mom);
  const __m256 veps = _mm256_set1_ps(eps), zero = _mm256_setzero_ps();
  int64_t i = b;
  for (; i + 8 <= e; i += 8) {
    const __m256 pi = _mm256_loadu_ps(p + i);
    __m256 gi = _mm256_mul_ps(vgs, _mm256_loadu_ps(g + i));
    if (kWd) gi = _mm256_fmadd_ps(vwd, pi, gi);
    const __m256 si = _mm256_fmadd_ps(va, _mm256_loadu_ps(sq + i), _mm256_mul_ps(voma, _mm256_mul_ps(gi, gi)));
    _mm256_storeu_ps(sq + i, si);
    __m256 var = si;
    if (kCentered) {
      const __m256 ga = _mm256_fmadd_ps(va, _mm256_loadu_ps(gavg + i), _mm256_mul_ps(voma, gi));
      _mm256_storeu_ps(gavg + i, ga);
      var = _mm256_max_ps(_mm256_fnmadd_ps(ga, ga, si), zero);  // clamp rounding below 0, as portable
    }
    const __m256 avg = _mm256_add_ps(_mm256_sqrt_ps(var), veps);
    if (kMom) {
      const __m256 bi = _mm256_fmadd_ps(vmom, _mm256_loadu_ps(buf + i), _mm256_div_ps(gi, avg));
      _mm256_storeu_ps(buf + i, bi);
      _mm256_storeu_ps(p + i, _mm256_fnmadd_ps(vlr, bi, pi));
    } else {
      _mm256_storeu_ps(p + i, _mm256_fnmadd_ps(vlr, _mm256_div_ps(gi, avg), pi));
    }
  }
  for (; i < e; ++i) {
    float gi = gs * g[i];
    if (kWd) gi = gi + wd * p[i];
    const float si = a * sq[i] + oma * (gi * gi);
    sq[i] = si;
    float var = si;
    if (kCentered) {
      const float ga = a * gavg[i] + oma * gi;
      gavg[i] = ga;
      var = si - ga * ga;
      var = var > 0.0f ? var : 0.0f;
    }
    const float avg = std::sqrt(var) + eps;
    if (kMom) {
      const float bi = mom * buf[i] + gi / avg;
      buf[i] = bi;
      p[i] = p[i] - lr * bi;
    } else {
      p[i] = p[i] - lr * (gi / avg);
    }
  }
}

template <bool kWd>
void adagrad_loop(float gs, float wd, float clr, float eps, float* __restrict__ p, const float* __restrict__ g,
                  float* __restrict__ sum, int64_t b, int64_t e) {
  const __m256 vgs = _mm256_set1_ps(gs), vwd = _mm256_set1_ps(wd), vclr = _mm256_set1_ps(clr);
  const __m256 veps = _mm256_set1_ps(eps);
  int64_t i = b;
  for (; i + 8 <= e; i += 8) {
    const __m256 pi = _mm256_loadu_ps(p + i);
    __m256 gi = _mm256_mul_ps(vgs, _mm256_loadu_ps(g + i));
    if (kWd) gi = _mm256_fmadd_ps(vwd, pi, gi);
    const __m256 si = _mm256_fmadd_ps(gi, gi, _mm256_loadu_ps(sum + i));
    _mm256_storeu_ps(sum + i, si);
    const __m256 step = _mm256_div_ps(gi, _mm256_add_ps(_mm256_sqrt_ps(si), veps));
    _mm256_storeu_ps(p + i, _mm256_fnmadd_ps(vclr, step, pi));
  }
  for (; i < e; ++i) {
    float gi = gs * g[i];
    if (kWd) gi = gi + wd * p[i];
    const float si = sum[i] + gi * gi;
    sum[i] = si;
    p[i] = p[i] - clr * (gi / (std::sqrt(si) + eps));
  }
}

}  // namespace

// Entry points (declared in native/kernels/optim.cc). gs is grad_scale with the maximize sign
// folded in; the remaining scalars are the per-step values computed once by the caller.
void sgd_f32_avx2(const SgdParams& hp, float gs, float* p, const float* g, float* buf, int64_t b, int64_t e) {
  const bool wd = hp.weight_decay != 0.0f, mom = hp.momentum != 0.0f, first = hp.step == 1;
  const float d1 = 1.0f - hp.dampening;
#define NT_SGD(W, M, F, N) sgd_loop<W, M, F, N>(gs, hp.weight_decay, hp.lr, hp.momentum, d1, p, g, buf, b, e)
  if (!mom) {
    if (wd) NT_SGD(true, false, false, false); else NT_SGD(false, false, false, false);
  } else if (hp.nesterov) {
    if (wd) {
      if (first) NT_SGD(true, true, true, true); else NT_SGD(true, true, false, true);
    } else {
      if (first) NT_SGD(false, true, true, true); else NT_SGD(false, true, false, true);
    }
  } else {
    if (wd) {
      if (first) NT_SGD(true, true, true, false); else NT_SGD(true, true, false, false);
    } else {
      if (first) NT_SGD(false, true, true, false); else NT_SGD(false, true, false, false);
    }
  }
#undef NT_SGD
}

void adam_f32_avx2(const AdamParams& hp, float gs, float decay, float step_size, float inv_bc2_sqrt, float* p,
                   const float* g, float* m, float* v, float* vmax, int64_t b, int64_t e) {
#define NT_ADAM(W, D, A) \
  adam_loop<W, D, A>(gs, hp.weight_decay, decay, hp.beta1, hp.beta2, step_size, inv_bc2_sqrt, hp.eps, p, g, m, v, vmax, b, e)
  const bool wd = hp.weight_decay != 0.0f;
  if (!wd) {
    if (hp.amsgrad) NT_ADAM(false, false, true); else NT_ADAM(false, false, false);
  } else if (hp.decoupled) {
    if (hp.amsgrad) NT_ADAM(true, true, true); else NT_ADAM(true, true, false);
  } else {
    if (hp.amsgrad) NT_ADAM(true, false, true); else NT_ADAM(true, false, false);
  }
#undef NT_ADAM
}

void rmsprop_f32_avx2(const RmspropParams& hp, float gs, float* p, const float* g, float* sq, float* buf, float* gavg,
                      int64_t b, int64_t e) {
#define NT_RMS(W, C, M) rmsprop_loop<W, C, M>(gs, hp.weight_decay, hp.lr, hp.alpha, hp.momentum, hp.eps, p, g, sq, buf, gavg, b, e)
  const bool wd = hp.weight_decay != 0.0f, mom = hp.momentum > 0.0f;
  if (wd) {
    if (hp.centered) {
      if (mom) NT_RMS(true, true, true); else NT_RMS(true, true, false);
    } else {
      if (mom) NT_RMS(true, false, true); else NT_RMS(true, false, false);
    }
  } else {
    if (hp.centered) {
      if (mom) NT_RMS(false, true, true); else NT_RMS(false, true, false);
    } else {
      if (mom) NT_RMS(false, false, true); else NT_RMS(false, false, false);
    }
  }
#undef NT_RMS
}

void adagrad_f32_avx2(const AdagradParams& hp, float gs, float clr, float* p, const float* g, float* sum, int64_t b,
                      int64_t e) {
  if (hp.weight_decay != 0.0f) {
    adagrad_loop<true>(gs, hp.weight_decay, clr, hp.eps, p, g, sum, b, e);
  } else {
    adagrad_loop<false>(gs, hp.weight_decay, clr, hp.eps, p, g, sum, b, e);
  }
}

}  // namespace x86
}  // namespace nt
