// Elementwise float32 kernels:
//   binary_f32      out[r,c] = a[r,c] (+ - * /) b, b broadcast as [rows,cols] | [cols] | [rows] | [1]
//   scale_f32       out = alpha * x;  axpy_f32  y += alpha * x
//   act_forward_f32 / act_backward_f32   ReLU, leaky ReLU, ELU, GELU (tanh approximation), sigmoid,
//                   tanh, softplus; the backward takes the forward input x and output y
//   softmax_f32 / log_softmax_f32 / softmax_backward_f32 along the last axis of [rows, cols]
//
// Definitions: GELU(x) = 0.5 x (1 + tanh(u)), u = sqrt(2/pi) (x + 0.044715 x^3) (Hendrycks & Gimpel
// 2016, PyTorch approximate='tanh'), evaluated as x * sigmoid(2u), the same function without the
// cancellation in 1 + tanh(u) for negative x (its derivative likewise: (1 + tanh)/2 = s,
// 1 - tanh^2 = 4 s (1 - s)); ELU(x) = x > 0 ? x : alpha (e^x - 1) (Clevert et al. 2015);
// softplus(x) = max(x, 0) + log1p(e^-|x|) (overflow-free form); softmax subtracts the row max first.
//
// The fast paths are written so that g++ vectorises them in the baseline build (-O3
// -fno-math-errno): branch-free selects and exp_fast / tanh_fast, Cephes-style polynomial
// approximations (Moshier, Cephes Math Library, expf.c / tanhf.c) accurate to a few ulp. The
// activation and softmax loops live in kernels/act_loops.h, compiled again by the AVX2 and AVX-512
// libraries (native/cpu/x86/act_avx2.cc, native/cpu/avx512/act_avx512.cc) for their tables. The
// *_ref twins are scalar loops in double with libm. Work is split over flat ranges or rows with
// nt::parallel_for; each element's result never depends on the split.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>

#define NT_ACT_NS act_base
#include "kernels/act_loops.h"
#undef NT_ACT_NS
#include "kernels/act_detail.h"
#include "nodetrain/backend.h"
#include "nodetrain/kernels.h"
#include "nodetrain/parallel.h"

namespace nt {
namespace {
using namespace act_base;  // exp_fast, sigmoid_fast, row_max, exp_sum, kGeluC, ... for the loops below

constexpr int64_t kGrain = int64_t(1) << 15;       // memory-bound ops: elements per task
constexpr int64_t kGrainHeavy = int64_t(1) << 12;  // ops with a transcendental per element
// Layer backward passes inside a training step: the pool's workers are awake between the step's
// GEMMs, so a hand-off costs about a microsecond and pays from 16k elements per task.
constexpr int64_t kGrainLayer = int64_t(1) << 14;

int64_t tasks_for(int64_t work, int64_t grain) { return std::max<int64_t>(1, std::min<int64_t>(work / grain, 1024)); }

// body(begin, end) over [0, n), split in 16-element (64-byte) aligned ranges.
template <class Body>
void flat_parallel(int64_t n, int64_t grain, Body&& body) {
  int64_t tasks = tasks_for(n, grain);
  if (tasks <= 1) {
    if (n > 0) body(int64_t(0), n);
    return;
  }
  parallel_for(tasks, [&](int ith, int nth) {
    int64_t b, e;
    partition(n, ith, nth, 16, &b, &e);
    if (b < e) body(b, e);
  });
}

// body(r0, r1) over rows.
template <class Body>
void row_parallel(int64_t rows, int64_t cols, int64_t grain, Body&& body) {
  int64_t tasks = std::min(rows, tasks_for(rows * cols, grain));
  if (tasks <= 1) {
    if (rows > 0) body(int64_t(0), rows);
    return;
  }
  parallel_for(tasks, [&](int ith, int nth) {
    int64_t b, e;
    partition(rows, ith, nth, 1, &b, &e);
    if (b < e) body(b, e);
  });
}

constexpr double kGeluCd = 0.7978845608028654;
constexpr double kGeluKd = 0.044715;

Status check_act(Act act) {
  const int a = static_cast<int>(act);
  if (a < 0 || a >= static_cast<int>(kNumActs))
    return InvalidArgument("Expected a known activation for the elementwise kernel but received " + std::to_string(a));
  return Status::Ok();
}

Status check_n(int64_t n, const void* p, const void* q) {
  if (n < 0) return InvalidArgument("elementwise: n must be non-negative");
  if (n > 0 && (p == nullptr || q == nullptr)) return InvalidArgument("elementwise: null pointer");
  return Status::Ok();
}

Status check_binary(BinaryOp op, Broadcast bc, const float* a, const float* b, int64_t rows, int64_t cols,
                    const float* out) {
  int o = static_cast<int>(op), c = static_cast<int>(bc);
  if (o < 0 || o > 3) return InvalidArgument("binary: unknown op");
  if (c < 0 || c > 3) return InvalidArgument("binary: unknown broadcast mode");
  if (rows < 0 || cols < 0) return InvalidArgument("binary: sizes must be non-negative");
  if (rows > 0 && cols > 0 && (a == nullptr || b == nullptr || out == nullptr)) return InvalidArgument("binary: null pointer");
  return Status::Ok();
}

Status check_rows(int64_t rows, int64_t cols, const void* p, const void* q, const void* r) {
  if (rows < 0 || cols < 0) return InvalidArgument("softmax: sizes must be non-negative");
  if (rows > 0 && cols > 0 && (p == nullptr || q == nullptr || r == nullptr)) return InvalidArgument("softmax: null pointer");
  return Status::Ok();
}

template <BinaryOp OP>
inline float bin(float a, float b) {
  if (OP == BinaryOp::kAdd) return a + b;
  if (OP == BinaryOp::kSub) return a - b;
  if (OP == BinaryOp::kMul) return a * b;
  return a / b;
}

template <BinaryOp OP>
void binary_impl(Broadcast bc, const float* a, const float* b, int64_t rows, int64_t cols, float* out) {
  int64_t n = rows * cols;
  switch (bc) {
    case Broadcast::kFull:
      flat_parallel(n, kGrain, [&](int64_t s, int64_t e) {
        for (int64_t i = s; i < e; ++i) out[i] = bin<OP>(a[i], b[i]);
      });
      break;
    case Broadcast::kScalar: {
      const float v = b[0];  // read once: out may alias b
      flat_parallel(n, kGrain, [&](int64_t s, int64_t e) {
        for (int64_t i = s; i < e; ++i) out[i] = bin<OP>(a[i], v);
      });
      break;
    }
    case Broadcast::kRow:
      row_parallel(rows, cols, kGrain, [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; ++r) {
          const float* ar = a + r * cols;
          float* o = out + r * cols;
          for (int64_t j = 0; j < cols; ++j) o[j] = bin<OP>(ar[j], b[j]);
        }
      });
      break;
    case Broadcast::kCol:
      row_parallel(rows, cols, kGrain, [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; ++r) {
          const float* ar = a + r * cols;
          float* o = out + r * cols;
          const float v = b[r];
          for (int64_t j = 0; j < cols; ++j) o[j] = bin<OP>(ar[j], v);
        }
      });
      break;
  }
}

}  // namespace

namespace {
// One ISA level's act/softmax loops (native/kernels/act_loops.h compiled with that level's flags).
struct ActLevel {
  void (*fwd)(Act act, float alpha, const float* x, float* y, int64_t s, int64_t e);
  void (*bwd)(Act act, float alpha, const float* x, const float* y, const float* dy, float* dx, int64_t s, int64_t e);
  void (*softmax_rows)(const float* x, int64_t cols, float* y, int64_t r0, int64_t r1);
  void (*from_output)(Act act, const float* y, const float* dy, float* dz, int64_t s, int64_t e);
};

void base_fwd(Act act, float alpha, const float* x, float* y, int64_t s, int64_t e) {
  act_base::act_fwd_any(act, alpha, x, y, s, e);
}
void base_bwd(Act act, float alpha, const float* x, const float* y, const float* dy, float* dx, int64_t s, int64_t e) {
  act_base::act_bwd_any(act, alpha, x, y, dy, dx, s, e);
}
void base_softmax_rows(const float* x, int64_t cols, float* y, int64_t r0, int64_t r1) {
  act_base::softmax_rows(x, cols, y, r0, r1);
}
void base_from_output(Act act, const float* y, const float* dy, float* dz, int64_t s, int64_t e) {
  act_base::from_output_any(act, y, dy, dz, s, e);
}
constexpr ActLevel kBaseLevel = {base_fwd, base_bwd, base_softmax_rows, base_from_output};
#if defined(NT_HAVE_AVX2_KERNELS)
constexpr ActLevel kAvx2Level = {act_detail::act_fwd_avx2, act_detail::act_bwd_avx2, act_detail::softmax_rows_avx2,
                                 act_detail::from_output_avx2};
#endif
#if defined(NT_HAVE_AVX512_KERNELS)
constexpr ActLevel kAvx512Level = {act_detail::act_fwd_avx512, act_detail::act_bwd_avx512,
                                   act_detail::softmax_rows_avx512, act_detail::from_output_avx512};
#endif

bool light_act(Act a) { return a == Act::kNone || a == Act::kRelu || a == Act::kLeakyRelu; }

Status softmax_impl(const ActLevel& lv, const float* x, int64_t rows, int64_t cols, float* y) {
  NT_RETURN_IF_ERROR(check_rows(rows, cols, x, y, x));
  if (rows == 0 || cols == 0) return Status::Ok();
  row_parallel(rows, cols, kGrainHeavy, [&](int64_t r0, int64_t r1) { lv.softmax_rows(x, cols, y, r0, r1); });
  return Status::Ok();
}

Status act_forward_impl(const ActLevel& lv, Act act, float alpha, const float* x, int64_t n, float* y) {
  NT_RETURN_IF_ERROR(check_act(act));
  NT_RETURN_IF_ERROR(check_n(n, x, y));
  flat_parallel(n, light_act(act) ? kGrain : kGrainHeavy, [&](int64_t s, int64_t e) { lv.fwd(act, alpha, x, y, s, e); });
  return Status::Ok();
}

Status act_backward_impl(const ActLevel& lv, Act act, float alpha, const float* x, const float* y, const float* dy,
                         int64_t n, float* dx) {
  NT_RETURN_IF_ERROR(check_act(act));
  NT_RETURN_IF_ERROR(check_n(n, x, y));
  NT_RETURN_IF_ERROR(check_n(n, dy, dx));
  const bool heavy = act == Act::kGelu || act == Act::kSoftplus;
  flat_parallel(n, heavy ? kGrainHeavy : kGrain, [&](int64_t s, int64_t e) { lv.bwd(act, alpha, x, y, dy, dx, s, e); });
  return Status::Ok();
}
}  // namespace

// ---- binary -------------------------------------------------------------------------------------
Status binary_f32(BinaryOp op, Broadcast bc, const float* a, const float* b, int64_t rows, int64_t cols, float* out) {
  NT_RETURN_IF_ERROR(check_binary(op, bc, a, b, rows, cols, out));
  if (rows == 0 || cols == 0) return Status::Ok();
  switch (op) {
    case BinaryOp::kAdd: binary_impl<BinaryOp::kAdd>(bc, a, b, rows, cols, out); break;
    case BinaryOp::kSub: binary_impl<BinaryOp::kSub>(bc, a, b, rows, cols, out); break;
    case BinaryOp::kMul: binary_impl<BinaryOp::kMul>(bc, a, b, rows, cols, out); break;
    case BinaryOp::kDiv: binary_impl<BinaryOp::kDiv>(bc, a, b, rows, cols, out); break;
  }
  return Status::Ok();
}

Status binary_f32_ref(BinaryOp op, Broadcast bc, const float* a, const float* b, int64_t rows, int64_t cols, float* out) {
  NT_RETURN_IF_ERROR(check_binary(op, bc, a, b, rows, cols, out));
  if (rows == 0 || cols == 0) return Status::Ok();
  const float scalar = b[0];
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < cols; ++j) {
      float av = a[r * cols + j];
      float bv = bc == Broadcast::kFull ? b[r * cols + j] : bc == Broadcast::kRow ? b[j] : bc == Broadcast::kCol ? b[r] : scalar;
      float v;
      switch (op) {
        case BinaryOp::kAdd: v = av + bv; break;
        case BinaryOp::kSub: v = av - bv; break;
        case BinaryOp::kMul: v = av * bv; break;
        default: v = av / bv; break;
      }
      out[r * cols + j] = v;
    }
  return Status::Ok();
}

// ---- scale, axpy ----------------------------------------------------------------------------------
Status scale_f32(const float* x, float alpha, int64_t n, float* out) {
  NT_RETURN_IF_ERROR(check_n(n, x, out));
  flat_parallel(n, kGrain, [&](int64_t s, int64_t e) {
    for (int64_t i = s; i < e; ++i) out[i] = alpha * x[i];
  });
  return Status::Ok();
}

Status scale_f32_ref(const float* x, float alpha, int64_t n, float* out) {
  NT_RETURN_IF_ERROR(check_n(n, x, out));
  for (int64_t i = 0; i < n; ++i) out[i] = alpha * x[i];
  return Status::Ok();
}

Status axpy_f32(float alpha, const float* x, int64_t n, float* y) {
  NT_RETURN_IF_ERROR(check_n(n, x, y));
  // No FMA contraction in the baseline build, so this rounds exactly like the reference.
  flat_parallel(n, kGrain, [&](int64_t s, int64_t e) {
    for (int64_t i = s; i < e; ++i) y[i] += alpha * x[i];
  });
  return Status::Ok();
}

Status axpy_f32_ref(float alpha, const float* x, int64_t n, float* y) {
  NT_RETURN_IF_ERROR(check_n(n, x, y));
  for (int64_t i = 0; i < n; ++i) y[i] += alpha * x[i];
  return Status::Ok();
}

// ---- activations ----------------------------------------------------------------------------------
Status act_forward_f32(Act act, float alpha, const float* x, int64_t n, float* y) {
  return act_forward_impl(kBaseLevel, act, alpha, x, n, y);
}

Status act_forward_f32_ref(Act act, float alpha, const float* x, int64_t n, float* y) {
  NT_RETURN_IF_ERROR(check_act(act));
  NT_RETURN_IF_ERROR(check_n(n, x, y));
  const double al = alpha;
  for (int64_t i = 0; i < n; ++i) {
    double v = x[i], r;
    switch (act) {
      case Act::kNone: r = v; break;
      case Act::kRelu: r = v < 0 ? 0.0 : v; break;
      case Act::kLeakyRelu: r = v < 0 ? al * v : v; break;
      case Act::kElu: r = v > 0 ? v : al * std::expm1(v); break;
      case Act::kGelu: r = v / (1.0 + std::exp(-2.0 * kGeluCd * (v + kGeluKd * v * v * v))); break;
      case Act::kSigmoid: r = 1.0 / (1.0 + std::exp(-v)); break;
      case Act::kTanh: r = std::tanh(v); break;
      default: r = std::max(v, 0.0) + std::log1p(std::exp(-std::fabs(v))); break;
    }
    y[i] = static_cast<float>(r);
  }
  return Status::Ok();
}

Status act_backward_f32(Act act, float alpha, const float* x, const float* y, const float* dy, int64_t n, float* dx) {
  return act_backward_impl(kBaseLevel, act, alpha, x, y, dy, n, dx);
}

Status act_backward_f32_ref(Act act, float alpha, const float* x, const float* y, const float* dy, int64_t n,
                            float* dx) {
  NT_RETURN_IF_ERROR(check_act(act));
  NT_RETURN_IF_ERROR(check_n(n, x, y));
  NT_RETURN_IF_ERROR(check_n(n, dy, dx));
  const double al = alpha;
  for (int64_t i = 0; i < n; ++i) {
    double v = x[i], yv = y[i], g = dy[i], d;
    switch (act) {
      case Act::kNone: d = 1; break;
      case Act::kRelu: d = v > 0 ? 1.0 : 0.0; break;
      case Act::kLeakyRelu: d = v > 0 ? 1.0 : al; break;
      case Act::kElu: d = v > 0 ? 1.0 : yv + al; break;
      case Act::kGelu: {
        double sg = 1.0 / (1.0 + std::exp(-2.0 * kGeluCd * (v + kGeluKd * v * v * v)));
        d = sg + 2.0 * v * sg * (1.0 - sg) * kGeluCd * (1.0 + 3.0 * kGeluKd * v * v);
        break;
      }
      case Act::kSigmoid: d = yv * (1.0 - yv); break;
      case Act::kTanh: d = 1.0 - yv * yv; break;
      default: d = 1.0 / (1.0 + std::exp(-v)); break;
    }
    dx[i] = static_cast<float>(g * d);
  }
  return Status::Ok();
}

// ---- softmax ----------------------------------------------------------------------------------------
Status softmax_f32(const float* x, int64_t rows, int64_t cols, float* y) { return softmax_impl(kBaseLevel, x, rows, cols, y); }
#if defined(NT_HAVE_AVX2_KERNELS)
Status softmax_f32_avx2(const float* x, int64_t rows, int64_t cols, float* y) {
  return softmax_impl(kAvx2Level, x, rows, cols, y);
}
Status act_forward_f32_avx2(Act act, float alpha, const float* x, int64_t n, float* y) {
  return act_forward_impl(kAvx2Level, act, alpha, x, n, y);
}
Status act_backward_f32_avx2(Act act, float alpha, const float* x, const float* y, const float* dy, int64_t n,
                             float* dx) {
  return act_backward_impl(kAvx2Level, act, alpha, x, y, dy, n, dx);
}
#endif
#if defined(NT_HAVE_AVX512_KERNELS)
Status softmax_f32_avx512(const float* x, int64_t rows, int64_t cols, float* y) {
  return softmax_impl(kAvx512Level, x, rows, cols, y);
}
Status act_forward_f32_avx512(Act act, float alpha, const float* x, int64_t n, float* y) {
  return act_forward_impl(kAvx512Level, act, alpha, x, n, y);
}
Status act_backward_f32_avx512(Act act, float alpha, const float* x, const float* y, const float* dy, int64_t n,
                               float* dx) {
  return act_backward_impl(kAvx512Level, act, alpha, x, y, dy, n, dx);
}
#endif

Status softmax_f32_ref(const float* x, int64_t rows, int64_t cols, float* y) {
  NT_RETURN_IF_ERROR(check_rows(rows, cols, x, y, x));
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * cols;
    float* yr = y + r * cols;
    double m = -std::numeric_limits<double>::infinity();
    for (int64_t j = 0; j < cols; ++j) m = std::max(m, static_cast<double>(xr[j]));
    double s = 0;
    for (int64_t j = 0; j < cols; ++j) s += std::exp(static_cast<double>(xr[j]) - m);
    for (int64_t j = 0; j < cols; ++j) yr[j] = static_cast<float>(std::exp(static_cast<double>(xr[j]) - m) / s);
  }
  return Status::Ok();
}

Status log_softmax_f32(const float* x, int64_t rows, int64_t cols, float* y) {
  NT_RETURN_IF_ERROR(check_rows(rows, cols, x, y, x));
  if (rows == 0 || cols == 0) return Status::Ok();
  row_parallel(rows, cols, kGrainHeavy, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* xr = x + r * cols;
      float* yr = y + r * cols;
      float m = row_max(xr, cols);
      float ls = std::log(exp_sum(xr, m, cols, nullptr));
      for (int64_t j = 0; j < cols; ++j) yr[j] = (xr[j] - m) - ls;
    }
  });
  return Status::Ok();
}

Status log_softmax_f32_ref(const float* x, int64_t rows, int64_t cols, float* y) {
  NT_RETURN_IF_ERROR(check_rows(rows, cols, x, y, x));
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * cols;
    float* yr = y + r * cols;
    double m = -std::numeric_limits<double>::infinity();
    for (int64_t j = 0; j < cols; ++j) m = std::max(m, static_cast<double>(xr[j]));
    double s = 0;
    for (int64_t j = 0; j < cols; ++j) s += std::exp(static_cast<double>(xr[j]) - m);
    double ls = std::log(s);
    for (int64_t j = 0; j < cols; ++j) yr[j] = static_cast<float>((static_cast<double>(xr[j]) - m) - ls);
  }
  return Status::Ok();
}

Status softmax_backward_f32(const float* y, const float* dy, int64_t rows, int64_t cols, float* dx) {
  NT_RETURN_IF_ERROR(check_rows(rows, cols, y, dy, dx));
  if (rows == 0 || cols == 0) return Status::Ok();
  row_parallel(rows, cols, kGrain, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* yr = y + r * cols;
      const float* gr = dy + r * cols;
      float* dr = dx + r * cols;
      double a[4] = {0, 0, 0, 0};
      int64_t j = 0;
      for (; j + 4 <= cols; j += 4)
        for (int k = 0; k < 4; ++k) a[k] += static_cast<double>(yr[j + k]) * static_cast<double>(gr[j + k]);
      double t = 0;
      for (; j < cols; ++j) t += static_cast<double>(yr[j]) * static_cast<double>(gr[j]);
      const float s = static_cast<float>((a[0] + a[1]) + (a[2] + a[3]) + t);
      for (j = 0; j < cols; ++j) dr[j] = yr[j] * (gr[j] - s);
    }
  });
  return Status::Ok();
}

Status softmax_backward_f32_ref(const float* y, const float* dy, int64_t rows, int64_t cols, float* dx) {
  NT_RETURN_IF_ERROR(check_rows(rows, cols, y, dy, dx));
  for (int64_t r = 0; r < rows; ++r) {
    const float* yr = y + r * cols;
    const float* gr = dy + r * cols;
    float* dr = dx + r * cols;
    double s = 0;
    for (int64_t j = 0; j < cols; ++j) s += static_cast<double>(yr[j]) * static_cast<double>(gr[j]);
    for (int64_t j = 0; j < cols; ++j)
      dr[j] = static_cast<float>(static_cast<double>(yr[j]) * (static_cast<double>(gr[j]) - s));
  }
  return Status::Ok();
}

// ---- activation backward from the output, clamp, column-block copies ---------------------------
bool act_backward_from_output_supported(Act a) {
  return a == Act::kNone || a == Act::kRelu || a == Act::kSigmoid || a == Act::kTanh;
}

namespace {
Status check_from_output(const char* who, Act a, int64_t n, const void* y, const void* dy, const void* dz) {
  if (!act_backward_from_output_supported(a))
    return InvalidArgument(std::string("Expected one of 'linear', 'relu', 'sigmoid', 'tanh' for the ") + who +
                           " activation but received \"" + act_name(a) + "\"");
  if (n < 0) return InvalidArgument(std::string("Expected n >= 0 for ") + who + " but received " + std::to_string(n));
  if (n > 0 && (y == nullptr || dy == nullptr || dz == nullptr))
    return InvalidArgument(std::string("Expected non-null buffers for ") + who + " but received null");
  return Status::Ok();
}
}  // namespace

namespace {
Status from_output_impl(const ActLevel& lv, const char* who, Act a, const float* y, const float* dy, int64_t n, float* dz) {
  NT_RETURN_IF_ERROR(check_from_output(who, a, n, y, dy, dz));
  // Elementwise: the split never changes a result. A batch's hidden layer (128 x 256) already
  // splits in two; anything under 2 * kGrainLayer elements stays on the calling thread.
  flat_parallel(n, kGrainLayer, [&](int64_t s, int64_t e) { lv.from_output(a, y, dy, dz, s, e); });
  return Status::Ok();
}
}  // namespace

Status act_backward_from_output_f32(Act a, const float* y, const float* dy, int64_t n, float* dz) {
  return from_output_impl(kBaseLevel, "act_backward_from_output_f32", a, y, dy, n, dz);
}
#if defined(NT_HAVE_AVX2_KERNELS)
Status act_backward_from_output_f32_avx2(Act a, const float* y, const float* dy, int64_t n, float* dz) {
  return from_output_impl(kAvx2Level, "act_backward_from_output_f32", a, y, dy, n, dz);
}
#endif
#if defined(NT_HAVE_AVX512_KERNELS)
Status act_backward_from_output_f32_avx512(Act a, const float* y, const float* dy, int64_t n, float* dz) {
  return from_output_impl(kAvx512Level, "act_backward_from_output_f32", a, y, dy, n, dz);
}
#endif

Status act_backward_from_output_f32_ref(Act a, const float* y, const float* dy, int64_t n, float* dz) {
  NT_RETURN_IF_ERROR(check_from_output("act_backward_from_output_f32_ref", a, n, y, dy, dz));
  for (int64_t i = 0; i < n; ++i) {
    const double yi = y[i], g = dy[i];
    double d = g;
    if (a == Act::kRelu) d = yi > 0.0 ? g : 0.0;
    if (a == Act::kSigmoid) d = g * yi * (1.0 - yi);
    if (a == Act::kTanh) d = g * (1.0 - yi * yi);
    dz[i] = static_cast<float>(d);
  }
  return Status::Ok();
}

Status clamp_f32(float* x, float lo, float hi, int64_t n) {
  NT_RETURN_IF_ERROR(check_n(n, x, x));
  for (int64_t t = 0; t < n; ++t) x[t] = std::min(std::max(x[t], lo), hi);
  return Status::Ok();
}

Status clamp_f32_ref(float* x, float lo, float hi, int64_t n) {
  NT_RETURN_IF_ERROR(check_n(n, x, x));
  for (int64_t t = 0; t < n; ++t) x[t] = x[t] < lo ? lo : (x[t] > hi ? hi : x[t]);
  return Status::Ok();
}

namespace {
Status check_cols(const char* who, int64_t rows, int64_t cols, int64_t lds, int64_t ldd, const void* s, const void* d) {
  if (rows < 0 || cols < 0 || lds < cols || ldd < cols)
    return InvalidArgument(std::string("Expected rows, cols >= 0 and strides >= cols for ") + who +
                           " but received rows " + std::to_string(rows) + ", cols " + std::to_string(cols) +
                           ", strides " + std::to_string(lds) + " and " + std::to_string(ldd));
  if (rows > 0 && cols > 0 && (s == nullptr || d == nullptr))
    return InvalidArgument(std::string("Expected non-null buffers for ") + who + " but received null");
  return Status::Ok();
}
}  // namespace

Status copy_cols_f32(const float* src, int64_t rows, int64_t cols, int64_t lds, float* dst, int64_t ldd,
                     bool accumulate) {
  NT_RETURN_IF_ERROR(check_cols("copy_cols_f32", rows, cols, lds, ldd, src, dst));
  for (int64_t r = 0; r < rows; ++r) {
    const float* s = src + r * lds;
    float* d = dst + r * ldd;
    if (accumulate) {
      for (int64_t t = 0; t < cols; ++t) d[t] += s[t];
    } else if (cols > 0) {
      std::memcpy(d, s, static_cast<size_t>(cols) * sizeof(float));
    }
  }
  return Status::Ok();
}

Status copy_cols_f32_ref(const float* src, int64_t rows, int64_t cols, int64_t lds, float* dst, int64_t ldd,
                         bool accumulate) {
  NT_RETURN_IF_ERROR(check_cols("copy_cols_f32_ref", rows, cols, lds, ldd, src, dst));
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t t = 0; t < cols; ++t)
      dst[r * ldd + t] = accumulate ? static_cast<float>(static_cast<double>(dst[r * ldd + t]) + src[r * lds + t])
                                    : src[r * lds + t];
  return Status::Ok();
}

namespace {
// act_backward_from_output: buf y, dy, dz; i n, act.  copy_cols: buf src, dst; i rows, cols, lds, ldd, accumulate.
template <bool kRef>
Status abo(const KernelArgs& a) {
  if (a.nbuf < 3 || a.ni < 2) return InvalidArgument("Expected 3 buffers and 2 integers for act_backward_from_output_f32");
  const int64_t n = a.i[0];
  if (a.i[1] < 0 || a.i[1] >= static_cast<int64_t>(kNumActs))
    return InvalidArgument("Expected an activation index for act_backward_from_output_f32 but received " +
                           std::to_string(a.i[1]));
  for (int b = 0; b < 3; ++b)
    if (n < 0 || !a.buf[b] || a.len[b] < n)
      return InvalidArgument("Expected at least " + std::to_string(n) + " elements for buffer " + std::to_string(b));
  const Act act = static_cast<Act>(a.i[1]);
  return kRef ? act_backward_from_output_f32_ref(act, a.buf[0], a.buf[1], n, a.buf[2])
              : cpu_backend().act_backward_from_output(act, a.buf[0], a.buf[1], n, a.buf[2]);
}
template <bool kRef>
Status cc(const KernelArgs& a) {
  if (a.nbuf < 2 || a.ni < 5) return InvalidArgument("Expected 2 buffers and 5 integers for copy_cols_f32");
  const int64_t rows = a.i[0], cols = a.i[1], lds = a.i[2], ldd = a.i[3];
  NT_RETURN_IF_ERROR(check_cols("copy_cols_f32", rows, cols, lds, ldd, a.buf[0], a.buf[1]));
  const int64_t ns = rows && cols ? (rows - 1) * lds + cols : 0, nd = rows && cols ? (rows - 1) * ldd + cols : 0;
  if (a.len[0] < ns || a.len[1] < nd)
    return InvalidArgument("Expected buffers of at least " + std::to_string(ns) + " and " + std::to_string(nd) +
                           " elements for copy_cols_f32");
  return (kRef ? copy_cols_f32_ref : copy_cols_f32)(a.buf[0], rows, cols, lds, a.buf[1], ldd, a.i[4] != 0);
}
}  // namespace

NT_REGISTER_KERNEL(KernelVariants{"act_backward_from_output_f32", abo<false>, abo<true>});
NT_REGISTER_KERNEL(KernelVariants{"copy_cols_f32", cc<false>, cc<true>});

}  // namespace nt
