// Bindings of the fused optimizer steps (native/kernels/optim.cc) over NativeBuffers.
//
//   sgdStep(param, grad, momentumBuf | null, n | undefined, hp, useRef?)
//   adamStep(param, grad, m, v, vmax | null, n | undefined, hp, useRef?)
//   rmspropStep(param, grad, sq, buf | null, gavg | null, n | undefined, hp, useRef?)
//   adagradStep(param, grad, sum, n | undefined, hp, useRef?)
//
// n defaults to param.length; every buffer must be float32 and hold at least n elements. hp holds
// the camelCase hyperparameters of the kernel's params struct (missing fields take the struct
// defaults); `step` is the 1-based step count after increment. useRef selects the scalar _ref twin.
// Hyperparameter ranges and array overlap are checked by the kernels (ERR_NT_INVALID_ARGUMENT);
// the friendly validation lives in lib/optim/steps.ts.
#include <new>
#include <string>
#include <vector>

#include "common.h"
#include "nodetrain/kernels.h"
#include "nodetrain/parallel.h"

namespace ntb {
namespace {

bool HpObject(const Napi::CallbackInfo& info, size_t i, Napi::Object* out) {
  if (!info[i].IsObject()) {
    ThrowError(info.Env(), nt::StatusCode::kInvalidArgumentType, "Expected an object for hp");
    return false;
  }
  *out = info[i].As<Napi::Object>();
  return true;
}

bool HpFloat(Napi::Env env, const Napi::Object& hp, const char* key, float* out) {
  Napi::Value v = hp.Get(key);
  if (v.IsUndefined()) return true;
  if (!v.IsNumber()) {
    ThrowError(env, nt::StatusCode::kInvalidArgumentType, std::string("Expected a number for hp.") + key);
    return false;
  }
  *out = static_cast<float>(v.As<Napi::Number>().DoubleValue());
  return true;
}

bool HpBool(Napi::Env env, const Napi::Object& hp, const char* key, bool* out) {
  Napi::Value v = hp.Get(key);
  if (v.IsUndefined()) return true;
  if (!v.IsBoolean()) {
    ThrowError(env, nt::StatusCode::kInvalidArgumentType, std::string("Expected a boolean for hp.") + key);
    return false;
  }
  *out = v.As<Napi::Boolean>().Value();
  return true;
}

bool HpStep(Napi::Env env, const Napi::Object& hp, int64_t* out) {
  Napi::Value v = hp.Get("step");
  if (v.IsUndefined()) return true;
  double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : 0.0;
  if (!v.IsNumber() || !(d >= 1.0 && d <= 9007199254740991.0) || d != static_cast<double>(static_cast<int64_t>(d))) {
    ThrowError(env, ArgCode(!v.IsNumber()), "Expected an integer >= 1 for hp.step but received " + Describe(v));
    return false;
  }
  *out = static_cast<int64_t>(d);
  return true;
}

// n (argument i): undefined -> param.length, else an integer in [0, param.length].
bool ArgCount(const Napi::CallbackInfo& info, size_t i, NativeBuffer* param, int64_t* n) {
  if (info[i].IsUndefined()) {
    *n = param->length();
    return true;
  }
  return ArgInt(info, i, "n", n, 0, param->length());
}

bool ArgUseRef(const Napi::CallbackInfo& info, size_t i, bool* use_ref) {
  *use_ref = false;
  if (info.Length() <= i || info[i].IsUndefined()) return true;
  return ArgBool(info, i, "useRef", use_ref);
}

// Buffers: required ones must be float32 with >= n elements; optional ones may be null.
bool ArgF32(const Napi::CallbackInfo& info, size_t i, const char* name, bool optional, NativeBuffer** out) {
  if (!ArgBuffer(info, i, name, out, optional)) return false;
  if (*out == nullptr) return true;
  return CheckBuffer(info.Env(), *out, name, DType::kFloat32, 0);
}

bool CheckLen(Napi::Env env, NativeBuffer* b, const char* name, int64_t n) {
  return b == nullptr || CheckBuffer(env, b, name, DType::kFloat32, n);
}

float* F32(NativeBuffer* b) { return b == nullptr ? nullptr : b->f32(); }

// Kernel calls may only fail through Status; anything thrown (e.g. std::bad_alloc from the pool's
// std::function) becomes a Status so no C++ exception crosses into N-API.
template <class Fn>
nt::Status Guard(const Fn& fn) {
  try {
    return fn();
  } catch (const std::bad_alloc&) {
    return nt::Status(nt::StatusCode::kOutOfMemory, "Out of memory in an optimizer step");
  } catch (...) {
    return nt::Internal("Unexpected exception in an optimizer step");
  }
}

void SgdStep(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  NativeBuffer *param, *grad, *buf;
  int64_t n;
  Napi::Object hp;
  bool use_ref;
  if (!ArgF32(info, 0, "param", false, &param) || !ArgF32(info, 1, "grad", false, &grad) ||
      !ArgF32(info, 2, "momentumBuf", true, &buf) || !ArgCount(info, 3, param, &n) || !HpObject(info, 4, &hp) ||
      !ArgUseRef(info, 5, &use_ref))
    return;
  if (!CheckLen(env, grad, "grad", n) || !CheckLen(env, buf, "momentumBuf", n)) return;
  nt::SgdParams p;
  if (!HpFloat(env, hp, "lr", &p.lr) || !HpFloat(env, hp, "momentum", &p.momentum) ||
      !HpFloat(env, hp, "dampening", &p.dampening) || !HpFloat(env, hp, "weightDecay", &p.weight_decay) ||
      !HpBool(env, hp, "nesterov", &p.nesterov) || !HpBool(env, hp, "maximize", &p.maximize) ||
      !HpFloat(env, hp, "gradScale", &p.grad_scale) || !HpStep(env, hp, &p.step))
    return;
  ThrowIfError(env, Guard([&] {
                 return use_ref ? nt::sgd_step_f32_ref(p, param->f32(), grad->f32(), F32(buf), n)
                                : nt::sgd_step_f32(p, param->f32(), grad->f32(), F32(buf), n);
               }));
}

void AdamStep(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  NativeBuffer *param, *grad, *m, *v, *vmax;
  int64_t n;
  Napi::Object hp;
  bool use_ref;
  if (!ArgF32(info, 0, "param", false, &param) || !ArgF32(info, 1, "grad", false, &grad) ||
      !ArgF32(info, 2, "m", false, &m) || !ArgF32(info, 3, "v", false, &v) || !ArgF32(info, 4, "vmax", true, &vmax) ||
      !ArgCount(info, 5, param, &n) || !HpObject(info, 6, &hp) || !ArgUseRef(info, 7, &use_ref))
    return;
  if (!CheckLen(env, grad, "grad", n) || !CheckLen(env, m, "m", n) || !CheckLen(env, v, "v", n) ||
      !CheckLen(env, vmax, "vmax", n))
    return;
  nt::AdamParams p;
  if (!HpFloat(env, hp, "lr", &p.lr) || !HpFloat(env, hp, "beta1", &p.beta1) || !HpFloat(env, hp, "beta2", &p.beta2) ||
      !HpFloat(env, hp, "eps", &p.eps) || !HpFloat(env, hp, "weightDecay", &p.weight_decay) ||
      !HpBool(env, hp, "decoupled", &p.decoupled) || !HpBool(env, hp, "amsgrad", &p.amsgrad) ||
      !HpBool(env, hp, "maximize", &p.maximize) || !HpFloat(env, hp, "gradScale", &p.grad_scale) ||
      !HpStep(env, hp, &p.step))
    return;
  ThrowIfError(env, Guard([&] {
                 return use_ref ? nt::adam_step_f32_ref(p, param->f32(), grad->f32(), m->f32(), v->f32(), F32(vmax), n)
                                : nt::adam_step_f32(p, param->f32(), grad->f32(), m->f32(), v->f32(), F32(vmax), n);
               }));
}

void RmspropStep(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  NativeBuffer *param, *grad, *sq, *buf, *gavg;
  int64_t n;
  Napi::Object hp;
  bool use_ref;
  if (!ArgF32(info, 0, "param", false, &param) || !ArgF32(info, 1, "grad", false, &grad) ||
      !ArgF32(info, 2, "sq", false, &sq) || !ArgF32(info, 3, "buf", true, &buf) ||
      !ArgF32(info, 4, "gavg", true, &gavg) || !ArgCount(info, 5, param, &n) || !HpObject(info, 6, &hp) ||
      !ArgUseRef(info, 7, &use_ref))
    return;
  if (!CheckLen(env, grad, "grad", n) || !CheckLen(env, sq, "sq", n) || !CheckLen(env, buf, "buf", n) ||
      !CheckLen(env, gavg, "gavg", n))
    return;
  nt::RmspropParams p;
  if (!HpFloat(env, hp, "lr", &p.lr) || !HpFloat(env, hp, "alpha", &p.alpha) || !HpFloat(env, hp, "eps", &p.eps) ||
      !HpFloat(env, hp, "weightDecay", &p.weight_decay) || !HpFloat(env, hp, "momentum", &p.momentum) ||
      !HpBool(env, hp, "centered", &p.centered) || !HpBool(env, hp, "maximize", &p.maximize) ||
      !HpFloat(env, hp, "gradScale", &p.grad_scale) || !HpStep(env, hp, &p.step))
    return;
  ThrowIfError(env, Guard([&] {
                 return use_ref
                            ? nt::rmsprop_step_f32_ref(p, param->f32(), grad->f32(), sq->f32(), F32(buf), F32(gavg), n)
                            : nt::rmsprop_step_f32(p, param->f32(), grad->f32(), sq->f32(), F32(buf), F32(gavg), n);
               }));
}

void AdagradStep(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  NativeBuffer *param, *grad, *sum;
  int64_t n;
  Napi::Object hp;
  bool use_ref;
  if (!ArgF32(info, 0, "param", false, &param) || !ArgF32(info, 1, "grad", false, &grad) ||
      !ArgF32(info, 2, "sum", false, &sum) || !ArgCount(info, 3, param, &n) || !HpObject(info, 4, &hp) ||
      !ArgUseRef(info, 5, &use_ref))
    return;
  if (!CheckLen(env, grad, "grad", n) || !CheckLen(env, sum, "sum", n)) return;
  nt::AdagradParams p;
  if (!HpFloat(env, hp, "lr", &p.lr) || !HpFloat(env, hp, "lrDecay", &p.lr_decay) ||
      !HpFloat(env, hp, "weightDecay", &p.weight_decay) || !HpFloat(env, hp, "eps", &p.eps) ||
      !HpBool(env, hp, "maximize", &p.maximize) || !HpFloat(env, hp, "gradScale", &p.grad_scale) ||
      !HpStep(env, hp, &p.step))
    return;
  ThrowIfError(env, Guard([&] {
                 return use_ref ? nt::adagrad_step_f32_ref(p, param->f32(), grad->f32(), sum->f32(), n)
                                : nt::adagrad_step_f32(p, param->f32(), grad->f32(), sum->f32(), n);
               }));
}

}  // namespace

void InitOptim(Napi::Env env, Napi::Object exports) {
  exports.Set("sgdStep", Napi::Function::New<SgdStep>(env, "sgdStep"));
  exports.Set("adamStep", Napi::Function::New<AdamStep>(env, "adamStep"));
  exports.Set("rmspropStep", Napi::Function::New<RmspropStep>(env, "rmspropStep"));
  exports.Set("adagradStep", Napi::Function::New<AdagradStep>(env, "adagradStep"));
}

}  // namespace ntb
