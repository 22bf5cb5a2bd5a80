// Runtime controls: thread count, forced portable kernels, CPU features, build info.
#include "common.h"
#include "nodetrain/cpu_features.h"
#include "nodetrain/parallel.h"

namespace ntb {
namespace {

Napi::Value GetNumThreads(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), nt::num_threads()); }

void SetNumThreads(const Napi::CallbackInfo& info) {
  int64_t n;
  if (!ArgInt(info, 0, "threads", &n, 1, 256)) return;
  nt::set_num_threads(static_cast<int>(n));
}

void SetForcePortable(const Napi::CallbackInfo& info) {
  bool on;
  if (!ArgBool(info, 0, "on", &on)) return;
  nt::set_force_portable(on);
}

Napi::Value GetForcePortable(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), nt::force_portable());
}

Napi::Value CpuFeatures(const Napi::CallbackInfo& info) {
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("avx2", nt::cpu_features().avx2);
  o.Set("fma", nt::cpu_features().fma);
#if defined(NT_HAVE_AVX2_KERNELS)
  o.Set("avx2Kernels", true);
#else
  o.Set("avx2Kernels", false);
#endif
  o.Set("useAvx2", nt::use_avx2());
  return o;
}

}  // namespace

void InitRuntime(Napi::Env env, Napi::Object exports) {
  exports.Set("getNumThreads", Napi::Function::New<GetNumThreads>(env, "getNumThreads"));
  exports.Set("setNumThreads", Napi::Function::New<SetNumThreads>(env, "setNumThreads"));
  exports.Set("setForcePortable", Napi::Function::New<SetForcePortable>(env, "setForcePortable"));
  exports.Set("getForcePortable", Napi::Function::New<GetForcePortable>(env, "getForcePortable"));
  exports.Set("cpuFeatures", Napi::Function::New<CpuFeatures>(env, "cpuFeatures"));
  exports.Set("abiVersion", Napi::Number::New(env, 1));
}

}  // namespace ntb
