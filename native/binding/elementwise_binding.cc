// Elementwise, activation, softmax and loss bindings over NativeBuffers (see nodetrain/kernels.h):
//   binary(op, bc, a, b, rows, cols, out, useRef)       op: 0 add 1 sub 2 mul 3 div;
//                                                       bc: 0 full 1 row 2 col 3 scalar
//   scale(x, alpha, n, out, useRef);  axpy(alpha, x, n, y, useRef)
//   actForward(act, alpha, x, n, y, useRef);  actBackward(act, alpha, x, y, dy, n, dx, useRef)
//                                                       act: a name from nt::kActNames
//   softmax(x, rows, cols, y, useRef);  logSoftmax(x, rows, cols, y, useRef)
//   softmaxBackward(y, dy, rows, cols, dx, useRef)
//   softmaxXent(logits, targets | null, labels | null, rows, cols, grad | null, gradScale, useRef) -> loss
// Every extent the kernel touches is checked here; the kernel's Status becomes a JS Error.
#include <cstdint>
#include <limits>
#include <new>
#include <string>

#include "common.h"
#include "nodetrain/backend.h"
#include "nodetrain/kernels.h"

namespace ntb {
namespace {
// The active table's softmax (its ISA level follows setForcePortable / setMaxIsa).
nt::Status SoftmaxActive(const float* x, int64_t rows, int64_t cols, float* y) {
  return nt::cpu_backend().softmax(x, rows, cols, y);
}
}  // namespace
namespace {

constexpr int64_t kMaxDim = (int64_t(1) << 40);

bool F32(Napi::Env env, NativeBuffer* b, const char* name, int64_t n) {
  return CheckBuffer(env, b, name, DType::kFloat32, n);
}

void Binary(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!ArgCount(info, 8, "binary")) return;
  int64_t op, bc, rows, cols;
  NativeBuffer *a, *b, *out;
  bool use_ref;
  if (!ArgInt(info, 0, "op", &op, 0, 3) || !ArgInt(info, 1, "bc", &bc, 0, 3) || !ArgBuffer(info, 2, "a", &a) ||
      !ArgBuffer(info, 3, "b", &b) || !ArgInt(info, 4, "rows", &rows, 0, kMaxDim) ||
      !ArgInt(info, 5, "cols", &cols, 0, kMaxDim) || !ArgBuffer(info, 6, "out", &out) ||
      !ArgBool(info, 7, "useRef", &use_ref))
    return;
  const int64_t n = Mul(rows, cols);
  const auto mode = static_cast<nt::Broadcast>(bc);
  int64_t bn = n == 0 ? 0
               : mode == nt::Broadcast::kFull ? n
               : mode == nt::Broadcast::kRow  ? cols
               : mode == nt::Broadcast::kCol  ? rows
                                              : 1;
  if (!F32(env, a, "a", n) || !F32(env, b, "b", bn) || !F32(env, out, "out", n)) return;
  const auto bop = static_cast<nt::BinaryOp>(op);
  ThrowIfError(env, Guard("binary", [&] {
                 return use_ref ? nt::binary_f32_ref(bop, mode, a->f32(), b->f32(), rows, cols, out->f32())
                                : nt::binary_f32(bop, mode, a->f32(), b->f32(), rows, cols, out->f32());
               }));
}

void Scale(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!ArgCount(info, 5, "scale")) return;
  NativeBuffer *x, *out;
  float alpha;
  int64_t n;
  bool use_ref;
  if (!ArgBuffer(info, 0, "x", &x) || !ArgFloat(info, 1, "alpha", &alpha) || !ArgInt(info, 2, "n", &n, 0, kMaxDim) ||
      !ArgBuffer(info, 3, "out", &out) || !ArgBool(info, 4, "useRef", &use_ref))
    return;
  if (!F32(env, x, "x", n) || !F32(env, out, "out", n)) return;
  ThrowIfError(env, Guard("scale", [&] {
                 return use_ref ? nt::scale_f32_ref(x->f32(), alpha, n, out->f32())
                                : nt::scale_f32(x->f32(), alpha, n, out->f32());
               }));
}

void Axpy(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!ArgCount(info, 5, "axpy")) return;
  NativeBuffer *x, *y;
  float alpha;
  int64_t n;
  bool use_ref;
  if (!ArgFloat(info, 0, "alpha", &alpha) || !ArgBuffer(info, 1, "x", &x) || !ArgInt(info, 2, "n", &n, 0, kMaxDim) ||
      !ArgBuffer(info, 3, "y", &y) || !ArgBool(info, 4, "useRef", &use_ref))
    return;
  if (!F32(env, x, "x", n) || !F32(env, y, "y", n)) return;
  ThrowIfError(env, Guard("axpy", [&] {
                 return use_ref ? nt::axpy_f32_ref(alpha, x->f32(), n, y->f32())
                                : nt::axpy_f32(alpha, x->f32(), n, y->f32());
               }));
}

void ActForward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!ArgCount(info, 6, "actForward")) return;
  nt::Act a;
  int64_t n;
  float alpha;
  NativeBuffer *x, *y;
  bool use_ref;
  if (!ParseName(env, info[0], "act", nt::kActNames, &a) || !ArgFloat(info, 1, "alpha", &alpha) || !ArgBuffer(info, 2, "x", &x) ||
      !ArgInt(info, 3, "n", &n, 0, kMaxDim) || !ArgBuffer(info, 4, "y", &y) || !ArgBool(info, 5, "useRef", &use_ref))
    return;
  if (!F32(env, x, "x", n) || !F32(env, y, "y", n)) return;
  ThrowIfError(env, Guard("actForward", [&] {
                 return use_ref ? nt::act_forward_f32_ref(a, alpha, x->f32(), n, y->f32())
                                : nt::cpu_backend().act_forward(a, alpha, x->f32(), n, y->f32());
               }));
}

void ActBackward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!ArgCount(info, 8, "actBackward")) return;
  nt::Act a;
  int64_t n;
  float alpha;
  NativeBuffer *x, *y, *dy, *dx;
  bool use_ref;
  if (!ParseName(env, info[0], "act", nt::kActNames, &a) || !ArgFloat(info, 1, "alpha", &alpha) || !ArgBuffer(info, 2, "x", &x) ||
      !ArgBuffer(info, 3, "y", &y) || !ArgBuffer(info, 4, "dy", &dy) || !ArgInt(info, 5, "n", &n, 0, kMaxDim) ||
      !ArgBuffer(info, 6, "dx", &dx) || !ArgBool(info, 7, "useRef", &use_ref))
    return;
  if (!F32(env, x, "x", n) || !F32(env, y, "y", n) || !F32(env, dy, "dy", n) || !F32(env, dx, "dx", n)) return;
  ThrowIfError(env, Guard("actBackward", [&] {
                 return use_ref ? nt::act_backward_f32_ref(a, alpha, x->f32(), y->f32(), dy->f32(), n, dx->f32())
                                : nt::cpu_backend().act_backward(a, alpha, x->f32(), y->f32(), dy->f32(), n, dx->f32());
               }));
}

template <nt::Status (*Fast)(const float*, int64_t, int64_t, float*),
          nt::Status (*Ref)(const float*, int64_t, int64_t, float*)>
void RowOp(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!ArgCount(info, 5, "softmax")) return;
  int64_t rows, cols;
  NativeBuffer *x, *y;
  bool use_ref;
  if (!ArgBuffer(info, 0, "x", &x) || !ArgInt(info, 1, "rows", &rows, 0, kMaxDim) ||
      !ArgInt(info, 2, "cols", &cols, 0, kMaxDim) || !ArgBuffer(info, 3, "y", &y) || !ArgBool(info, 4, "useRef", &use_ref))
    return;
  const int64_t n = Mul(rows, cols);
  if (!F32(env, x, "x", n) || !F32(env, y, "y", n)) return;
  ThrowIfError(env, Guard("softmax", [&] {
                 return use_ref ? Ref(x->f32(), rows, cols, y->f32()) : Fast(x->f32(), rows, cols, y->f32());
               }));
}

void SoftmaxBackward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!ArgCount(info, 6, "softmaxBackward")) return;
  int64_t rows, cols;
  NativeBuffer *y, *dy, *dx;
  bool use_ref;
  if (!ArgBuffer(info, 0, "y", &y) || !ArgBuffer(info, 1, "dy", &dy) || !ArgInt(info, 2, "rows", &rows, 0, kMaxDim) ||
      !ArgInt(info, 3, "cols", &cols, 0, kMaxDim) || !ArgBuffer(info, 4, "dx", &dx) ||
      !ArgBool(info, 5, "useRef", &use_ref))
    return;
  const int64_t n = Mul(rows, cols);
  if (!F32(env, y, "y", n) || !F32(env, dy, "dy", n) || !F32(env, dx, "dx", n)) return;
  ThrowIfError(env, Guard("softmaxBackward", [&] {
                 return use_ref ? nt::softmax_backward_f32_ref(y->f32(), dy->f32(), rows, cols, dx->f32())
                                : nt::softmax_backward_f32(y->f32(), dy->f32(), rows, cols, dx->f32());
               }));
}

Napi::Value SoftmaxXent(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!ArgCount(info, 8, "softmaxXent")) return env.Undefined();
  NativeBuffer *logits, *targets, *labels, *grad;
  int64_t rows, cols;
  float grad_scale;
  bool use_ref;
  if (!ArgBuffer(info, 0, "logits", &logits) || !ArgBuffer(info, 1, "targets", &targets, true) ||
      !ArgBuffer(info, 2, "labels", &labels, true) || !ArgInt(info, 3, "rows", &rows, 0, kMaxDim) ||
      !ArgInt(info, 4, "cols", &cols, 0, kMaxDim) || !ArgBuffer(info, 5, "grad", &grad, true) ||
      !ArgFloat(info, 6, "gradScale", &grad_scale) || !ArgBool(info, 7, "useRef", &use_ref))
    return env.Undefined();
  if ((targets == nullptr) == (labels == nullptr)) {
    ThrowError(env, nt::StatusCode::kInvalidArgumentValue, "Expected exactly one of targets and labels");
    return env.Undefined();
  }
  const int64_t n = Mul(rows, cols);
  if (!F32(env, logits, "logits", n)) return env.Undefined();
  if (targets != nullptr && !F32(env, targets, "targets", n)) return env.Undefined();
  if (labels != nullptr && !CheckBuffer(env, labels, "labels", DType::kInt32, rows)) return env.Undefined();
  if (grad != nullptr) {
    if (!F32(env, grad, "grad", n)) return env.Undefined();
    if (grad == logits || grad == targets) {
      ThrowError(env, nt::StatusCode::kInvalidArgumentValue, "Expected grad to be a buffer distinct from logits and targets");
      return env.Undefined();
    }
  }
  const float* t = targets ? targets->f32() : nullptr;
  const int32_t* l = labels ? labels->i32() : nullptr;
  float* g = grad ? grad->f32() : nullptr;
  double loss = 0;
  if (ThrowIfError(env, Guard("softmaxXent", [&] {
                     return use_ref ? nt::softmax_xent_f32_ref(logits->f32(), t, l, rows, cols, &loss, g, grad_scale)
                                    : nt::softmax_xent_f32(logits->f32(), t, l, rows, cols, &loss, g, grad_scale);
                   })))
    return env.Undefined();
  return Napi::Number::New(env, loss);
}

}  // namespace

void InitElementwise(Napi::Env env, Napi::Object exports) {
  exports.Set("binary", Napi::Function::New<Binary>(env, "binary"));
  exports.Set("scale", Napi::Function::New<Scale>(env, "scale"));
  exports.Set("axpy", Napi::Function::New<Axpy>(env, "axpy"));
  exports.Set("actForward", Napi::Function::New<ActForward>(env, "actForward"));
  exports.Set("actBackward", Napi::Function::New<ActBackward>(env, "actBackward"));
  exports.Set("softmax", Napi::Function::New<RowOp<SoftmaxActive, nt::softmax_f32_ref>>(env, "softmax"));
  exports.Set("logSoftmax", Napi::Function::New<RowOp<nt::log_softmax_f32, nt::log_softmax_f32_ref>>(env, "logSoftmax"));
  exports.Set("softmaxBackward", Napi::Function::New<SoftmaxBackward>(env, "softmaxBackward"));
  exports.Set("softmaxXent", Napi::Function::New<SoftmaxXent>(env, "softmaxXent"));
}

}  // namespace ntb
