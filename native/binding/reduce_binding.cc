// Reduction bindings over NativeBuffers (see the reductions in nodetrain/kernels.h):
//   reduce(op, x, outer, axis, inner, out, useRef)        op: 0 sum, 1 mean, 2 max, 3 min
//   argmax(x, outer, axis, inner, out: int32, useRef)
//   sumSquares(x, n, useRef) -> number;  dot(x, y, n, useRef) -> number
//   colSum(x, rows, cols, ldx, out, accumulate, useRef)
// Every extent the kernel touches is checked here; the kernel's Status becomes a JS Error.
#include <cstdint>
#include <limits>
#include <new>
#include <string>

#include "common.h"
#include "nodetrain/kernels.h"

namespace ntb {
namespace {

constexpr int64_t kMaxDim = (int64_t(1) << 40);

void Reduce(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!ArgCount(info, 7, "reduce")) return;
  int64_t op, outer, axis, inner;
  NativeBuffer *x, *out;
  bool use_ref;
  if (!ArgInt(info, 0, "op", &op, 0, 3) || !ArgBuffer(info, 1, "x", &x) || !ArgInt(info, 2, "outer", &outer, 0, kMaxDim) ||
      !ArgInt(info, 3, "axis", &axis, 0, kMaxDim) || !ArgInt(info, 4, "inner", &inner, 0, kMaxDim) ||
      !ArgBuffer(info, 5, "out", &out) || !ArgBool(info, 6, "useRef", &use_ref))
    return;
  if (!CheckBuffer(env, x, "x", DType::kFloat32, Mul(Mul(outer, axis), inner)) ||
      !CheckBuffer(env, out, "out", DType::kFloat32, Mul(outer, inner)))
    return;
  auto rop = static_cast<nt::ReduceOp>(op);
  ThrowIfError(env, Guard("reduce", [&] {
                 return use_ref ? nt::reduce_f32_ref(rop, x->f32(), outer, axis, inner, out->f32())
                                : nt::reduce_f32(rop, x->f32(), outer, axis, inner, out->f32());
               }));
}

void Argmax(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!ArgCount(info, 6, "argmax")) return;
  int64_t outer, axis, inner;
  NativeBuffer *x, *out;
  bool use_ref;
  if (!ArgBuffer(info, 0, "x", &x) || !ArgInt(info, 1, "outer", &outer, 0, kMaxDim) ||
      !ArgInt(info, 2, "axis", &axis, 0, kMaxDim) || !ArgInt(info, 3, "inner", &inner, 0, kMaxDim) ||
      !ArgBuffer(info, 4, "out", &out) || !ArgBool(info, 5, "useRef", &use_ref))
    return;
  if (!CheckBuffer(env, x, "x", DType::kFloat32, Mul(Mul(outer, axis), inner)) ||
      !CheckBuffer(env, out, "out", DType::kInt32, Mul(outer, inner)))
    return;
  ThrowIfError(env, Guard("argmax", [&] {
                 return use_ref ? nt::argmax_f32_ref(x->f32(), outer, axis, inner, out->i32())
                                : nt::argmax_f32(x->f32(), outer, axis, inner, out->i32());
               }));
}

Napi::Value SumSquares(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!ArgCount(info, 3, "sumSquares")) return env.Undefined();
  int64_t n;
  NativeBuffer* x;
  bool use_ref;
  if (!ArgBuffer(info, 0, "x", &x) || !ArgInt(info, 1, "n", &n, 0, kMaxDim) || !ArgBool(info, 2, "useRef", &use_ref))
    return env.Undefined();
  if (!CheckBuffer(env, x, "x", DType::kFloat32, n)) return env.Undefined();
  double r = 0;
  if (ThrowIfError(env, Guard("sumSquares", [&] {
                     return use_ref ? nt::sum_squares_f32_ref(x->f32(), n, &r) : nt::sum_squares_f32(x->f32(), n, &r);
                   })))
    return env.Undefined();
  return Napi::Number::New(env, r);
}

Napi::Value Dot(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!ArgCount(info, 4, "dot")) return env.Undefined();
  int64_t n;
  NativeBuffer *x, *y;
  bool use_ref;
  if (!ArgBuffer(info, 0, "x", &x) || !ArgBuffer(info, 1, "y", &y) || !ArgInt(info, 2, "n", &n, 0, kMaxDim) ||
      !ArgBool(info, 3, "useRef", &use_ref))
    return env.Undefined();
  if (!CheckBuffer(env, x, "x", DType::kFloat32, n) || !CheckBuffer(env, y, "y", DType::kFloat32, n))
    return env.Undefined();
  double r = 0;
  if (ThrowIfError(env, Guard("dot", [&] {
                     return use_ref ? nt::dot_f32_ref(x->f32(), y->f32(), n, &r) : nt::dot_f32(x->f32(), y->f32(), n, &r);
                   })))
    return env.Undefined();
  return Napi::Number::New(env, r);
}

void ColSum(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!ArgCount(info, 7, "colSum")) return;
  int64_t rows, cols, ldx;
  NativeBuffer *x, *out;
  bool accumulate, use_ref;
  if (!ArgBuffer(info, 0, "x", &x) || !ArgInt(info, 1, "rows", &rows, 0, kMaxDim) ||
      !ArgInt(info, 2, "cols", &cols, 0, kMaxDim) || !ArgInt(info, 3, "ldx", &ldx, 0, kMaxDim) ||
      !ArgBuffer(info, 4, "out", &out) || !ArgBool(info, 5, "accumulate", &accumulate) ||
      !ArgBool(info, 6, "useRef", &use_ref))
    return;
  if (ldx < cols) {
    ThrowError(env, nt::StatusCode::kInvalidArgumentValue, "Expected ldx to be at least cols");
    return;
  }
  if (out == x) {
    ThrowError(env, nt::StatusCode::kInvalidArgumentValue, "Expected out to be a buffer distinct from x");
    return;
  }
  int64_t extent = 0;
  if (rows > 0 && cols > 0) {
    int64_t m = Mul(rows - 1, ldx);
    if (m < 0 || __builtin_add_overflow(m, cols, &extent)) extent = -1;
  }
  if (!CheckBuffer(env, x, "x", DType::kFloat32, extent) || !CheckBuffer(env, out, "out", DType::kFloat32, cols)) return;
  ThrowIfError(env, Guard("colSum", [&] {
                 return use_ref ? nt::col_sum_f32_ref(x->f32(), rows, cols, ldx, out->f32(), accumulate)
                                : nt::col_sum_f32(x->f32(), rows, cols, ldx, out->f32(), accumulate);
               }));
}

}  // namespace

void InitReduce(Napi::Env env, Napi::Object exports) {
  exports.Set("reduce", Napi::Function::New<Reduce>(env, "reduce"));
  exports.Set("argmax", Napi::Function::New<Argmax>(env, "argmax"));
  exports.Set("sumSquares", Napi::Function::New<SumSquares>(env, "sumSquares"));
  exports.Set("dot", Napi::Function::New<Dot>(env, "dot"));
  exports.Set("colSum", Napi::Function::New<ColSum>(env, "colSum"));
}

}  // namespace ntb
