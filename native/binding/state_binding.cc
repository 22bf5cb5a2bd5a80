// NativeModel: parameters, gradients and the optimizer state in and out (Float32Arrays copied
// across; the optimizer state is one struct, nt::OptimizerState).
#include <cmath>
#include <cstring>

#include "engine_spec.h"
#include "model_wrap.h"

namespace ntb {
namespace {

bool IsF32(Napi::Value v) {
  return v.IsTypedArray() && v.As<Napi::TypedArray>().TypedArrayType() == napi_float32_array;
}

Napi::Value CopyOut(Napi::Env env, const nt::Backend& be, const float* p, size_t n) {
  Napi::Float32Array a = Napi::Float32Array::New(env, n);
  if (n) be.copy_to_host(a.Data(), p, n * sizeof(float));
  return a;
}
Napi::Value CopyOut(Napi::Env env, const nt::Backend& be, const nt::DeviceArray& d) {
  return CopyOut(env, be, d.data(), d.size());
}
void CopyIn(const nt::Backend& be, Napi::Float32Array a, float* dst) {
  if (a.ElementLength()) be.copy_to_device(dst, a.Data(), a.ElementLength() * sizeof(float));
}

// Checks that info[i] is a Float32Array of n values, then copies it to dst.
bool CopyArg(const Napi::CallbackInfo& info, size_t i, const char* name, const nt::Backend& be, float* dst, size_t n) {
  Napi::Env env = info.Env();
  if (!IsF32(info[i])) {
    ThrowError(env, nt::StatusCode::kInvalidArgumentType,
               std::string("Expected a Float32Array for ") + name + " but received " + Describe(info[i]));
    return false;
  }
  Napi::Float32Array a = info[i].As<Napi::Float32Array>();
  if (a.ElementLength() != n) {
    ThrowError(env, nt::StatusCode::kInvalidArgumentValue, std::string("Expected ") + std::to_string(n) +
                                                               " values for " + name + " but received " +
                                                               std::to_string(a.ElementLength()));
    return false;
  }
  CopyIn(be, a, dst);
  return true;
}

}  // namespace

// While fit or trainBatch runs, the weights read are the serving snapshot (never a torn mix).
Napi::Value ModelWrap::ReadParams(const Napi::CallbackInfo& info) {
  if (!CheckBuilt(info.Env())) return info.Env().Undefined();
  if (busy_ && !Paused()) return CopyOut(info.Env(), model_->backend(), *model_->serving());
  return CopyOut(info.Env(), model_->backend(), model_->arena(), static_cast<size_t>(model_->num_params()));
}

void ModelWrap::WriteParams(const Napi::CallbackInfo& info) {
  if (!CheckIdle(info.Env(), true)) return;
  if (CopyArg(info, 0, "params", model_->backend(), model_->arena(), static_cast<size_t>(model_->num_params()))) {
    RefreshSnapshot();
    model_->publish();  // inference serves the written weights from now on
  }
}

// Weights or state written by a callback while training is paused become the divergence
// guard's "last good" state, so a later recovery does not undo them.
void ModelWrap::RefreshSnapshot() {
  if (model_->has_snapshot()) model_->take_snapshot();
}

Napi::Value ModelWrap::ReadGrads(const Napi::CallbackInfo& info) {
  if (!CheckIdle(info.Env(), true)) return info.Env().Undefined();
  return CopyOut(info.Env(), model_->backend(), model_->grads(), static_cast<size_t>(model_->num_trainable()));
}

// {step, m, v, vmax} (empty arrays where the optimizer keeps no such state)
Napi::Value ModelWrap::ReadState(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!CheckIdle(env, true)) return env.Undefined();
  const nt::Backend& be = model_->backend();
  nt::OptimizerState& st = model_->optimizer_state();
  Napi::Object o = Napi::Object::New(env);
  o.Set("step", static_cast<double>(st.step));
  o.Set("m", CopyOut(env, be, st.m));
  o.Set("v", CopyOut(env, be, st.v));
  o.Set("vmax", CopyOut(env, be, st.vmax));
  Napi::Float64Array hs = Napi::Float64Array::New(env, 3);
  hs[0] = st.hd_mult;
  hs[1] = st.hd_have_dir ? 1.0 : 0.0;
  hs[2] = st.hd_dir_norm;
  o.Set("hyper", hs);
  o.Set("hyperDir", CopyOut(env, be, st.hd_dir));
  return o;
}

void ModelWrap::WriteState(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!CheckIdle(env, true)) return;
  if (!info[0].IsObject()) {
    ThrowError(env, nt::StatusCode::kInvalidArgumentType, "Expected an object for state but received " + Describe(info[0]));
    return;
  }
  Napi::Object o = info[0].As<Napi::Object>();
  nt::OptimizerState& st = model_->optimizer_state();
  nt::DeviceArray* arrays[] = {&st.m, &st.v, &st.vmax};
  const char* names[] = {"m", "v", "vmax"};
  for (int i = 0; i < 3; ++i) {
    Napi::Value v = o.Get(names[i]);
    if (!IsF32(v)) {
      ThrowError(env, nt::StatusCode::kInvalidArgumentType,
                 std::string("Expected a Float32Array for state.") + names[i] + " but received " + Describe(v));
      return;
    }
    if (v.As<Napi::Float32Array>().ElementLength() != arrays[i]->size()) {
      ThrowError(env, nt::StatusCode::kInvalidArgumentValue,
                 std::string("Expected a Float32Array of ") + std::to_string(arrays[i]->size()) + " values for state." +
                     names[i] + " (state saved for another optimizer or model?) but received " +
                     std::to_string(v.As<Napi::Float32Array>().ElementLength()));
      return;
    }
  }
  const double step = NumOr(o, "step", 0);
  if (!(step >= 0) || step != static_cast<double>(static_cast<int64_t>(step))) {
    ThrowError(env, nt::StatusCode::kInvalidArgumentValue,
               "Expected a non-negative integer for state.step but received " + Describe(o.Get("step")));
    return;
  }
  // Optional hypergradient state (absent in states saved without it: start fresh).
  Napi::Value hv = o.Get("hyper"), dv = o.Get("hyperDir");
  double mult = 1.0, dir_norm = 0;
  bool have_dir = false;
  const bool has_hyper = hv.IsTypedArray() && hv.As<Napi::TypedArray>().TypedArrayType() == napi_float64_array &&
                         hv.As<Napi::Float64Array>().ElementLength() == 3;
  if (has_hyper) {
    Napi::Float64Array ha = hv.As<Napi::Float64Array>();
    mult = ha[0];
    have_dir = ha[1] != 0.0;
    dir_norm = ha[2];
    if (!(mult >= 0) || !std::isfinite(mult) || !std::isfinite(dir_norm)) {
      ThrowError(env, nt::StatusCode::kInvalidArgumentValue,
                 "Expected finite values for state.hyper but received [" + std::to_string(mult) + ", " +
                     std::to_string(ha[1]) + ", " + std::to_string(dir_norm) + "]");
      return;
    }
    if (have_dir && (!IsF32(dv) || dv.As<Napi::Float32Array>().ElementLength() != st.hd_dir.size())) {
      ThrowError(env, nt::StatusCode::kInvalidArgumentValue,
                 "Expected a Float32Array of " + std::to_string(st.hd_dir.size()) + " values for state.hyperDir but received " +
                     Describe(dv));
      return;
    }
  }
  const nt::Backend& be = model_->backend();
  for (int i = 0; i < 3; ++i) CopyIn(be, o.Get(names[i]).As<Napi::Float32Array>(), arrays[i]->data());
  if (has_hyper && have_dir) CopyIn(be, dv.As<Napi::Float32Array>(), st.hd_dir.data());
  st.hd_mult = mult;
  st.hd_have_dir = have_dir && !st.hd_dir.empty();
  st.hd_dir_norm = dir_norm;
  st.step = static_cast<int64_t>(step);
  RefreshSnapshot();
}

}  // namespace ntb
