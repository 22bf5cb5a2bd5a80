// Vectorised exp / sigmoid / tanh / GELU and the GEMM's fused bias + activation epilogue, written
// once over a vector trait V and instantiated by the AVX2 and AVX-512 kernel files with their own
// traits (native/cpu/x86/vec_avx2.h, native/cpu/avx512/vec_avx512.h), so both ISA levels run the
// same algorithm with the same constants:
//   exp      Cephes expf: x clamped to [-87, 87] (2^n stays a normal float), n = round(x log2 e),
//            r = x - n ln2 with ln2 split in two constants, degree-5 minimax polynomial, times 2^n
//            through the exponent bits; about 1 ulp.
//   sigmoid  1 / (1 + exp(-x)).
//   tanh     Cephes tanhf odd polynomial for |x| < 0.625, 1 - 2 / (exp(2|x|) + 1) with the sign of
//            x restored above.
//   GELU     the tanh form through 0.5 (1 + tanh(u)) = sigmoid(2u), which avoids the cancellation
//            of 1 + tanh(u) for large negative x.
// The scalar references are the std:: functions (gemm_f32_ref).
//
// V supplies: W (floats per vector), reg, zero(), set1(f), add, sub, mul, div, fmadd(a, b, c) =
// a*b + c, fnmadd(a, b, c) = c - a*b, min, max, round(x) (to nearest even), pow2n(n) (2^n for a
// reg holding integral n in [-126, 127]), abs(x), copy_sign(mag, x), select_lt(a, b, t, f)
// (a < b ? t : f, ordered), load/store (unaligned) and load_tail/store_tail(p, [x,] n), 1 <= n < W.
#pragma once
#include <cstdint>

namespace nt {
namespace vec {

template <class V>
inline typename V::reg exp(typename V::reg x) {
  x = V::min(V::max(x, V::set1(-87.0f)), V::set1(87.0f));
  const typename V::reg fx = V::round(V::mul(x, V::set1(1.44269504088896341f)));
  typename V::reg r = V::fnmadd(fx, V::set1(0.693359375f), x);
  r = V::fnmadd(fx, V::set1(-2.12194440e-4f), r);
  typename V::reg y = V::set1(1.9875691500E-4f);
  y = V::fmadd(y, r, V::set1(1.3981999507E-3f));
  y = V::fmadd(y, r, V::set1(8.3334519073E-3f));
  y = V::fmadd(y, r, V::set1(4.1665795894E-2f));
  y = V::fmadd(y, r, V::set1(1.6666665459E-1f));
  y = V::fmadd(y, r, V::set1(5.0000001201E-1f));
  y = V::fmadd(y, V::mul(r, r), V::add(r, V::set1(1.0f)));
  return V::mul(y, V::pow2n(fx));
}

template <class V>
inline typename V::reg sigmoid(typename V::reg x) {
  const typename V::reg one = V::set1(1.0f);
  return V::div(one, V::add(one, exp<V>(V::sub(V::zero(), x))));
}

template <class V>
inline typename V::reg tanh(typename V::reg x) {
  const typename V::reg one = V::set1(1.0f);
  const typename V::reg ax = V::abs(x);
  const typename V::reg e = exp<V>(V::add(ax, ax));
  const typename V::reg big = V::copy_sign(V::sub(one, V::div(V::set1(2.0f), V::add(e, one))), x);
  const typename V::reg z = V::mul(x, x);
  typename V::reg p = V::set1(-5.70498872745E-3f);
  p = V::fmadd(p, z, V::set1(2.06390887954E-2f));
  p = V::fmadd(p, z, V::set1(-5.37397155531E-2f));
  p = V::fmadd(p, z, V::set1(1.33314422036E-1f));
  p = V::fmadd(p, z, V::set1(-3.33332819422E-1f));
  const typename V::reg small = V::fmadd(V::mul(p, z), x, x);
  return V::select_lt(ax, V::set1(0.625f), small, big);
}

template <class V>
inline typename V::reg gelu(typename V::reg x) {
  // x * sigmoid(2u), u = sqrt(2/pi) * (x + 0.044715 x^3)
  const typename V::reg x3 = V::mul(V::mul(x, x), x);
  const typename V::reg u2 = V::mul(V::set1(2.0f * 0.7978845608028654f), V::fmadd(V::set1(0.044715f), x3, x));
  return V::mul(x, sigmoid<V>(u2));
}

// Act values (nodetrain/kernels.h): kNone 0, kRelu 1, kGelu 4, kSigmoid 5, kTanh 6.
constexpr int kActRelu = 1, kActGelu = 4, kActSigmoid = 5, kActTanh = 6;

template <class V, int kAct>
inline typename V::reg activate(typename V::reg v) {
  if (kAct == kActRelu) return V::max(v, V::zero());
  if (kAct == kActGelu) return gelu<V>(v);
  if (kAct == kActSigmoid) return sigmoid<V>(v);
  if (kAct == kActTanh) return tanh<V>(v);
  return v;
}

// c = act(c + bias) on a rows x cols block of C (row stride ldc; bias may be null), full vectors
// then one masked tail per row: every column goes through the same vector code and rounding.
template <class V, int kAct>
void epilogue_rows(float* c, int64_t ldc, int64_t rows, int64_t cols, const float* bias) {
  for (int64_t i = 0; i < rows; ++i) {
    float* ci = c + i * ldc;
    int64_t j = 0;
    for (; j + V::W <= cols; j += V::W) {
      typename V::reg v = V::load(ci + j);
      if (bias) v = V::add(v, V::load(bias + j));
      V::store(ci + j, activate<V, kAct>(v));
    }
    if (j < cols) {
      const int n = static_cast<int>(cols - j);
      typename V::reg v = V::load_tail(ci + j, n);
      if (bias) v = V::add(v, V::load_tail(bias + j, n));
      V::store_tail(ci + j, activate<V, kAct>(v), n);
    }
  }
}

template <class V>
void epilogue(float* c, int64_t ldc, int64_t rows, int64_t cols, const float* bias, int act) {
  switch (act) {
    case kActRelu: return epilogue_rows<V, kActRelu>(c, ldc, rows, cols, bias);
    case kActGelu: return epilogue_rows<V, kActGelu>(c, ldc, rows, cols, bias);
    case kActSigmoid: return epilogue_rows<V, kActSigmoid>(c, ldc, rows, cols, bias);
    case kActTanh: return epilogue_rows<V, kActTanh>(c, ldc, rows, cols, bias);
    default: return epilogue_rows<V, 0>(c, ldc, rows, cols, bias);
  }
}

}  // namespace vec
}  // namespace nt
