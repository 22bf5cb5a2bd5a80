// The exp-heavy elementwise loops (activations forward/backward, softmax rows) as one source that
// each ISA level compiles with its own flags: native/kernels/elementwise.cc (baseline, namespace
// act_base), native/cpu/x86/act_avx2.cc (-mavx2 -mfma, act_avx2) and
// native/cpu/avx512/act_avx512.cc (-mavx512f..., act_avx512). Each includer defines NT_ACT_NS
// first; the distinct namespaces keep the differently-compiled copies apart at link time.
//
// exp_fast / tanh_fast / sigmoid_fast are branch-free Cephes-style approximations (Moshier,
// Cephes Math Library, expf.c / tanhf.c) accurate to a few ulp, written so that g++ vectorises the
// loops calling them at the includer's vector width (4, 8 or 16 floats). The float64 *_ref twins
// in elementwise.cc are the references for every level.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "nodetrain/kernels.h"

#ifndef NT_ACT_NS
#error "define NT_ACT_NS before including kernels/act_loops.h"
#endif

namespace nt {
namespace NT_ACT_NS {
// e^x, branch-free so loops calling it vectorise. Cephes expf: x = n ln2 + r, |r| <= ln2/2,
// e^r by a degree-6 polynomial, 2^n through the exponent bits. Relative error < 2 ulp on
// [-87, 88]; results below ~1e-38 flush to 0; inputs above 88 saturate at e^88; NaN stays NaN.
inline float exp_fast(float x) {
  x = x > 88.0f ? 88.0f : x;
  x = x < -88.0f ? -88.0f : x;
  float xs = x == x ? x : 0.0f;  // float -> int of NaN is undefined; the NaN still flows through r
  float fx = xs * 1.44269504088896341f + 0.5f;
#if defined(__SSE4_1__)
  // One roundps: with SSE4.1 (the AVX2 / AVX-512 builds) g++ does not if-convert the select below.
  float fn = std::floor(fx);
#else
  float fn = static_cast<float>(static_cast<int32_t>(fx));
  fn = fn > fx ? fn - 1.0f : fn;  // floor (exact for |fx| < 2^31, as is std::floor)
#endif
  float r = x - fn * 0.693359375f;
  r = r - fn * -2.12194440e-4f;
  float z = r * r;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * z + r + 1.0f;
  uint32_t bits = static_cast<uint32_t>(static_cast<int32_t>(fn) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}

// tanh: odd polynomial for |x| < 0.625 (Cephes tanhf), else 1 - 2/(e^{2|x|} + 1) written with
// e^{-2|x|} so it never overflows.
inline float tanh_fast(float x) {
  float ax = std::fabs(x);
  float e = exp_fast(-2.0f * ax);
  float big = (1.0f - e) / (1.0f + e);
  float z = ax * ax;
  float p = -5.70498872745e-3f;
  p = p * z + 2.06390887954e-2f;
  p = p * z - 5.37397155531e-2f;
  p = p * z + 1.33314422036e-1f;
  p = p * z - 3.33332819422e-1f;
  float small = p * z * ax + ax;
  return std::copysign(ax < 0.625f ? small : big, x);
}

inline float sigmoid_fast(float x) {
  float e = exp_fast(-std::fabs(x));
  float r = 1.0f / (1.0f + e);
  return x >= 0.0f ? r : e * r;
}

constexpr float kGeluC = 0.7978845608028654f;  // sqrt(2/pi)
constexpr float kGeluK = 0.044715f;

// One activation over [s, e); ACT is a template argument so each loop is a single straight body.
template <Act ACT>
void act_fwd_range(float alpha, const float* x, float* y, int64_t s, int64_t e) {
  for (int64_t i = s; i < e; ++i) {
    float v = x[i];
    float r;
    if (ACT == Act::kNone) r = v;
    else if (ACT == Act::kRelu) r = v < 0.0f ? 0.0f : v;  // NaN passes through
    else if (ACT == Act::kLeakyRelu) r = v < 0.0f ? alpha * v : v;
    else if (ACT == Act::kElu) r = v > 0.0f ? v : alpha * std::expm1(v);
    else if (ACT == Act::kGelu) r = v * sigmoid_fast(2.0f * kGeluC * (v + kGeluK * v * v * v));
    else if (ACT == Act::kSigmoid) r = sigmoid_fast(v);
    else if (ACT == Act::kTanh) r = tanh_fast(v);
    else r = (v > 0.0f ? v : 0.0f) + std::log1p(exp_fast(-std::fabs(v)));  // softplus
    y[i] = r;
  }
}

template <Act ACT>
void act_bwd_range(float alpha, const float* x, const float* y, const float* dy, float* dx, int64_t s, int64_t e) {
  for (int64_t i = s; i < e; ++i) {
    float g = dy[i];
    float r;
    if (ACT == Act::kNone) r = g;
    else if (ACT == Act::kRelu) r = x[i] > 0.0f ? g : 0.0f;
    else if (ACT == Act::kLeakyRelu) r = x[i] > 0.0f ? g : alpha * g;
    else if (ACT == Act::kElu) r = x[i] > 0.0f ? g : g * (y[i] + alpha);  // d/dx alpha(e^x - 1) = y + alpha
    else if (ACT == Act::kGelu) {
      float v = x[i];
      float v2 = v * v;
      float sg = sigmoid_fast(2.0f * kGeluC * (v + kGeluK * v2 * v));  // = (1 + tanh(u)) / 2
      r = g * (sg + 2.0f * v * sg * (1.0f - sg) * kGeluC * (1.0f + 3.0f * kGeluK * v2));
    } else if (ACT == Act::kSigmoid) r = g * y[i] * (1.0f - y[i]);
    else if (ACT == Act::kTanh) r = g * (1.0f - y[i] * y[i]);
    else r = g * sigmoid_fast(x[i]);  // softplus' = sigmoid
    dx[i] = r;
  }
}

// Row max with eight lanes (vectorises; a NaN anywhere makes the row's softmax NaN regardless).
inline float row_max(const float* x, int64_t n) {
  if (n < 8) {  // short rows (a few classes): no lanes to set up and fold
    float r = x[0];
    for (int64_t j = 1; j < n; ++j) r = x[j] > r ? x[j] : r;
    return r;
  }
  float m[8];
  for (int k = 0; k < 8; ++k) m[k] = x[0];
  int64_t j = 0;
  for (; j + 8 <= n; j += 8)
    for (int k = 0; k < 8; ++k) m[k] = x[j + k] > m[k] ? x[j + k] : m[k];
  float r = m[0];
  for (int k = 1; k < 8; ++k) r = m[k] > r ? m[k] : r;
  for (; j < n; ++j) r = x[j] > r ? x[j] : r;
  return r;
}

// Stores e^(x - m) into y (when y != null) and returns the sum, eight float lanes.
inline float exp_sum(const float* x, float m, int64_t n, float* y) {
  float s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t j = 0;
  if (y != nullptr) {
    for (; j + 8 <= n; j += 8)
      for (int k = 0; k < 8; ++k) {
        float e = exp_fast(x[j + k] - m);
        y[j + k] = e;
        s[k] += e;
      }
  } else {
    for (; j + 8 <= n; j += 8)
      for (int k = 0; k < 8; ++k) s[k] += exp_fast(x[j + k] - m);
  }
  float t = 0;
  for (; j < n; ++j) {
    float e = exp_fast(x[j] - m);
    if (y != nullptr) y[j] = e;
    t += e;
  }
  return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7])) + t;
}

// Softmax of rows [r0, r1) of x [rows, cols] into y.
inline void softmax_rows(const float* x, int64_t cols, float* y, int64_t r0, int64_t r1) {
  for (int64_t r = r0; r < r1; ++r) {
    const float* xr = x + r * cols;
    float* yr = y + r * cols;
    float m = row_max(xr, cols);
    float inv = 1.0f / exp_sum(xr, m, cols, yr);
    for (int64_t j = 0; j < cols; ++j) yr[j] *= inv;
  }
}

// ---- fused softmax cross-entropy rows (native/kernels/loss.cc states the formulas) ----------------
// Rows [r0, r1) of logits [.., cols]: returns the sum of their losses and, where grad != null, writes
// grad = gscale * (p * sum_j t_j - t) (grad may alias the logits). kLabels: t is one-hot(labels[r]).
// The exponentials e^(x - m) run in float (exp_fast) over a flat block of up to kXentBuf values:
// several short rows at once, so a 3-class row does not cost a scalar exp per element. Row sums,
// the log-sum-exp, the loss and the gradient's p * tsum - t are computed in double. A row longer
// than kXentBuf goes by column chunks (its exponentials computed twice when there is a gradient).
constexpr int64_t kXentBuf = 1024;

// Natural log in double for the log-sum-exp, where the argument is a sum of exponentials (>= 1):
// s = 2^e * m with m in [sqrt(1/2), sqrt(2)), log m = 2 atanh(f) = 2 (f + f^3/3 + ... + f^15/15),
// f = (m - 1) / (m + 1), |f| <= 0.1716 (truncation below 2e-14 relative), and e ln 2 split in a
// high part exact in double and a low part. About 30 instructions against glibc's ~90 with the
// call; +-inf, NaN and values <= 0 go to std::log.
inline double log_sum(double s) {
  if (!(s > 0.0) || s > 1.0e300) return std::log(s);
  uint64_t bits;
  std::memcpy(&bits, &s, sizeof bits);
  int32_t e = static_cast<int32_t>((bits >> 52) & 0x7FF) - 1023;
  bits = (bits & 0x000FFFFFFFFFFFFFull) | 0x3FF0000000000000ull;
  double m;
  std::memcpy(&m, &bits, sizeof m);
  if (e == -1023) return std::log(s);  // subnormal
  if (m > 1.4142135623730951) {
    m *= 0.5;
    e += 1;
  }
  const double f = (m - 1.0) / (m + 1.0), f2 = f * f;
  double p = 1.0 / 15;
  p = p * f2 + 1.0 / 13;
  p = p * f2 + 1.0 / 11;
  p = p * f2 + 1.0 / 9;
  p = p * f2 + 1.0 / 7;
  p = p * f2 + 1.0 / 5;
  p = p * f2 + 1.0 / 3;
  const double logm = 2.0 * f + 2.0 * f * f2 * p;
  const double de = static_cast<double>(e);
  return de * 6.93147180369123816490e-01 + (de * 1.90821492927058770002e-10 + logm);
}

// out[i] = e^(in[i]) over n floats (vectorises at the includer's width).
inline void exp_block(float* v, int64_t n) {
  for (int64_t i = 0; i < n; ++i) v[i] = exp_fast(v[i]);
}

// Rows of at most kXentBuf values, several per exp block. CM > 0: the row length is at most CM, and
// every per-row loop runs to the constant CM with an early exit (straight-line code for a few
// classes, where a loop over a run-time length costs more in set-up and remainder handling than
// in work); CM == 0: any row length.
template <bool kLabels, int CM>
inline double xent_block_rows(const float* logits, const float* targets, const int32_t* labels, int64_t r0, int64_t r1,
                              int64_t cols, float* grad, float gscale, float* e) {
  const double gs = static_cast<double>(gscale);
  double total = 0;
  float mx[kXentBuf];
  const int64_t per = kXentBuf / cols;
  for (int64_t b0 = r0; b0 < r1; b0 += per) {
    const int64_t b1 = std::min(r1, b0 + per);
    const float* xb = logits + b0 * cols;
    for (int64_t r = 0; r < b1 - b0; ++r) {
      const float* x = xb + r * cols;
      float m = x[0];
      if (CM == 0) {
        m = row_max(x, cols);
      } else {
        for (int64_t j = 1; j < CM; ++j) {
          if (j >= cols) break;
          m = x[j] > m ? x[j] : m;
        }
      }
      mx[r] = m;
      for (int64_t j = 0; j < (CM > 0 ? CM : cols); ++j) {
        if (CM > 0 && j >= cols) break;
        e[r * cols + j] = x[j] - m;
      }
    }
    exp_block(e, (b1 - b0) * cols);
    for (int64_t r = 0; r < b1 - b0; ++r) {
      const float* x = xb + r * cols;
      const float* er = e + r * cols;
      const float* t = kLabels ? nullptr : targets + (b0 + r) * cols;
      const int32_t label = kLabels ? labels[b0 + r] : 0;
      double s = 0;
      for (int64_t j = 0; j < (CM > 0 ? CM : cols); ++j) {
        if (CM > 0 && j >= cols) break;
        s += static_cast<double>(er[j]);
      }
      const double lse = static_cast<double>(mx[r]) + log_sum(s);
      double tsum = 1.0;
      if (kLabels) {
        total += lse - static_cast<double>(x[label]);
      } else {
        tsum = 0;
        for (int64_t j = 0; j < (CM > 0 ? CM : cols); ++j) {
          if (CM > 0 && j >= cols) break;
          total += static_cast<double>(t[j]) * (lse - static_cast<double>(x[j]));
          tsum += static_cast<double>(t[j]);
        }
      }
      if (grad == nullptr) continue;
      float* g = grad + (b0 + r) * cols;
      const double inv = 1.0 / s;
      for (int64_t j = 0; j < (CM > 0 ? CM : cols); ++j) {
        if (CM > 0 && j >= cols) break;
        const double tj = kLabels ? (j == label ? 1.0 : 0.0) : static_cast<double>(t[j]);
        g[j] = static_cast<float>(gs * (static_cast<double>(er[j]) * inv * tsum - tj));
      }
    }
  }
  return total;
}

template <bool kLabels>
inline double xent_rows_t(const float* logits, const float* targets, const int32_t* labels, int64_t r0, int64_t r1,
                          int64_t cols, float* grad, float gscale) {
  alignas(64) float e[kXentBuf];
  const double gs = static_cast<double>(gscale);
  double total = 0;
  if (cols > kXentBuf) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* x = logits + r * cols;
      const float* t = kLabels ? nullptr : targets + r * cols;
      const int32_t label = kLabels ? labels[r] : 0;
      const float m = row_max(x, cols);
      double s = 0, tsum = kLabels ? 1.0 : 0.0;
      for (int64_t c0 = 0; c0 < cols; c0 += kXentBuf) {
        const int64_t n = std::min(kXentBuf, cols - c0);
        for (int64_t j = 0; j < n; ++j) e[j] = x[c0 + j] - m;
        exp_block(e, n);
        for (int64_t j = 0; j < n; ++j) s += static_cast<double>(e[j]);
      }
      const double lse = static_cast<double>(m) + log_sum(s);
      if (kLabels) {
        total += lse - static_cast<double>(x[label]);
      } else {
        for (int64_t j = 0; j < cols; ++j) {
          total += static_cast<double>(t[j]) * (lse - static_cast<double>(x[j]));
          tsum += static_cast<double>(t[j]);
        }
      }
      if (grad == nullptr) continue;
      float* g = grad + r * cols;
      const double inv = 1.0 / s;
      for (int64_t c0 = 0; c0 < cols; c0 += kXentBuf) {
        const int64_t n = std::min(kXentBuf, cols - c0);
        for (int64_t j = 0; j < n; ++j) e[j] = x[c0 + j] - m;  // read before g (which may be x) is written
        exp_block(e, n);
        for (int64_t j = 0; j < n; ++j) {
          const double tj = kLabels ? (c0 + j == label ? 1.0 : 0.0) : static_cast<double>(t[c0 + j]);
          g[c0 + j] = static_cast<float>(gs * (static_cast<double>(e[j]) * inv * tsum - tj));
        }
      }
    }
    return total;
  }
  if (cols <= 4) return xent_block_rows<kLabels, 4>(logits, targets, labels, r0, r1, cols, grad, gscale, e);
  if (cols <= 16) return xent_block_rows<kLabels, 16>(logits, targets, labels, r0, r1, cols, grad, gscale, e);
  return xent_block_rows<kLabels, 0>(logits, targets, labels, r0, r1, cols, grad, gscale, e);
}

inline double xent_rows(const float* logits, const float* targets, const int32_t* labels, int64_t r0, int64_t r1,
                        int64_t cols, float* grad, float gscale) {
  return labels != nullptr ? xent_rows_t<true>(logits, nullptr, labels, r0, r1, cols, grad, gscale)
                           : xent_rows_t<false>(logits, targets, nullptr, r0, r1, cols, grad, gscale);
}

// Activation backward from the output y = act(z) over [s, e): dz = dy * act'(z) written with y
// (relu, sigmoid, tanh; linear copies). dz may be dy (the engine's case): that loop reads and
// writes one pointer, so it vectorises without an overlap check.
template <Act ACT>
inline float from_output(float y, float g) {
  if (ACT == Act::kRelu) return y > 0.0f ? g : 0.0f;
  if (ACT == Act::kSigmoid) return g * y * (1.0f - y);
  if (ACT == Act::kTanh) return g * (1.0f - y * y);
  return g;
}
template <Act ACT>
inline void from_output_range(const float* y, const float* dy, float* dz, int64_t s, int64_t e) {
  if (dz == dy) {
    for (int64_t i = s; i < e; ++i) dz[i] = from_output<ACT>(y[i], dz[i]);
  } else {
    for (int64_t i = s; i < e; ++i) dz[i] = from_output<ACT>(y[i], dy[i]);
  }
}
inline void from_output_any(Act act, const float* y, const float* dy, float* dz, int64_t s, int64_t e) {
  switch (act) {
    case Act::kRelu: return from_output_range<Act::kRelu>(y, dy, dz, s, e);
    case Act::kSigmoid: return from_output_range<Act::kSigmoid>(y, dy, dz, s, e);
    case Act::kTanh: return from_output_range<Act::kTanh>(y, dy, dz, s, e);
    default:
      if (dz != dy && e > s) std::memcpy(dz + s, dy + s, static_cast<size_t>(e - s) * sizeof(float));
  }
}

// The non-template entry points of one level (act is a valid nt::Act).
inline void act_fwd_any(Act act, float alpha, const float* x, float* y, int64_t s, int64_t e) {
  switch (act) {
    case Act::kNone: return act_fwd_range<Act::kNone>(alpha, x, y, s, e);
    case Act::kRelu: return act_fwd_range<Act::kRelu>(alpha, x, y, s, e);
    case Act::kLeakyRelu: return act_fwd_range<Act::kLeakyRelu>(alpha, x, y, s, e);
    case Act::kElu: return act_fwd_range<Act::kElu>(alpha, x, y, s, e);
    case Act::kGelu: return act_fwd_range<Act::kGelu>(alpha, x, y, s, e);
    case Act::kSigmoid: return act_fwd_range<Act::kSigmoid>(alpha, x, y, s, e);
    case Act::kTanh: return act_fwd_range<Act::kTanh>(alpha, x, y, s, e);
    case Act::kSoftplus: return act_fwd_range<Act::kSoftplus>(alpha, x, y, s, e);
  }
}

inline void act_bwd_any(Act act, float alpha, const float* x, const float* y, const float* dy, float* dx, int64_t s,
                        int64_t e) {
  switch (act) {
    case Act::kNone: return act_bwd_range<Act::kNone>(alpha, x, y, dy, dx, s, e);
    case Act::kRelu: return act_bwd_range<Act::kRelu>(alpha, x, y, dy, dx, s, e);
    case Act::kLeakyRelu: return act_bwd_range<Act::kLeakyRelu>(alpha, x, y, dy, dx, s, e);
    case Act::kElu: return act_bwd_range<Act::kElu>(alpha, x, y, dy, dx, s, e);
    case Act::kGelu: return act_bwd_range<Act::kGelu>(alpha, x, y, dy, dx, s, e);
    case Act::kSigmoid: return act_bwd_range<Act::kSigmoid>(alpha, x, y, dy, dx, s, e);
    case Act::kTanh: return act_bwd_range<Act::kTanh>(alpha, x, y, dy, dx, s, e);
    case Act::kSoftplus: return act_bwd_range<Act::kSoftplus>(alpha, x, y, dy, dx, s, e);
  }
}

}  // namespace NT_ACT_NS
}  // namespace nt
