// enums(): the name tables of nodetrain/enums.h and the registered op names, so that
// test/native/enums.test.ts can check them equal to lib/native/enums.ts. kernelCall(): the
// generic entry to registered kernels (NT_REGISTER_KERNEL) for their parity tests:
//   kernelCall(name, useRef, buffers: (NativeBuffer | null)[], ints: number[], nums: number[])
// Neither is part of the public API (lib/index.ts); tests reach them through binding().
#include <string>
#include <vector>

#include "common.h"
#include "engine/op.h"
#include "nodetrain/backend.h"

namespace ntb {
namespace {

template <size_t N>
Napi::Array Table(Napi::Env env, const char* const (&t)[N]) {
  Napi::Array a = Napi::Array::New(env, N);
  for (size_t i = 0; i < N; ++i) a.Set(static_cast<uint32_t>(i), t[i]);
  return a;
}

Napi::Value Enums(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("activations", Table(env, nt::kActNames));
  o.Set("losses", Table(env, nt::kLossNames));
  o.Set("metrics", Table(env, nt::kMetricNames));
  o.Set("optimizers", Table(env, nt::kOptimizerNames));
  o.Set("precisions", Table(env, nt::kPrecisionNames));
  o.Set("devices", Table(env, nt::kDeviceNames));
  o.Set("statusCodes", Table(env, nt::kStatusCodeNames));
  const std::vector<std::string> ops = nt::registered_ops();
  Napi::Array a = Napi::Array::New(env, ops.size());
  for (size_t i = 0; i < ops.size(); ++i) a.Set(static_cast<uint32_t>(i), ops[i]);
  o.Set("ops", a);
  Napi::Array k = Napi::Array::New(env, static_cast<size_t>(nt::num_registered_kernels()));
  for (int i = 0; i < nt::num_registered_kernels(); ++i) k.Set(static_cast<uint32_t>(i), nt::registered_kernel(i)->name);
  o.Set("kernels", k);
  return o;
}

bool NumberList(Napi::Env env, Napi::Value v, const char* name, std::vector<double>* out) {
  if (!v.IsArray()) {
    ThrowError(env, nt::StatusCode::kInvalidArgumentType, std::string("Expected an array for ") + name +
                                                              " but received " + Describe(v));
    return false;
  }
  Napi::Array a = v.As<Napi::Array>();
  if (a.Length() > static_cast<uint32_t>(nt::KernelArgs::kMax)) {
    ThrowError(env, nt::StatusCode::kInvalidArgumentValue,
               std::string("Expected at most ") + std::to_string(nt::KernelArgs::kMax) + " values for " + name +
                   " but received " + std::to_string(a.Length()));
    return false;
  }
  for (uint32_t i = 0; i < a.Length(); ++i) {
    Napi::Value x = a.Get(i);
    if (!x.IsNumber()) {
      ThrowError(env, nt::StatusCode::kInvalidArgumentType, std::string("Expected a number for ") + name + "[" +
                                                                std::to_string(i) + "] but received " + Describe(x));
      return false;
    }
    out->push_back(x.As<Napi::Number>().DoubleValue());
  }
  return true;
}

void KernelCall(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!ArgCount(info, 5, "kernelCall")) return;
  if (!info[0].IsString()) {
    ThrowError(env, nt::StatusCode::kInvalidArgumentType, "Expected a kernel name for name but received " + Describe(info[0]));
    return;
  }
  const std::string name = info[0].As<Napi::String>().Utf8Value();
  const nt::KernelVariants* k = nt::find_kernel(name.c_str());
  if (!k) {
    ThrowError(env, nt::StatusCode::kInvalidArgumentValue, "Expected a registered kernel for name but received \"" + name + "\"");
    return;
  }
  bool use_ref;
  if (!ArgBool(info, 1, "useRef", &use_ref)) return;
  nt::KernelArgs args;
  if (!info[2].IsArray()) {
    ThrowError(env, nt::StatusCode::kInvalidArgumentType, "Expected an array for buffers but received " + Describe(info[2]));
    return;
  }
  Napi::Array bufs = info[2].As<Napi::Array>();
  if (bufs.Length() > static_cast<uint32_t>(nt::KernelArgs::kMax)) {
    ThrowError(env, nt::StatusCode::kInvalidArgumentValue, "Expected at most " + std::to_string(nt::KernelArgs::kMax) +
                                                               " buffers but received " + std::to_string(bufs.Length()));
    return;
  }
  AddonData* data = env.GetInstanceData<AddonData>();
  for (uint32_t i = 0; i < bufs.Length(); ++i) {
    Napi::Value v = bufs.Get(i);
    if (v.IsNull() || v.IsUndefined()) continue;
    if (!v.IsObject() || !v.As<Napi::Object>().InstanceOf(data->native_buffer.Value())) {
      ThrowError(env, nt::StatusCode::kInvalidArgumentType,
                 "Expected a NativeBuffer or null for buffers[" + std::to_string(i) + "] but received " + Describe(v));
      return;
    }
    NativeBuffer* b = NativeBuffer::Unwrap(v.As<Napi::Object>());
    if (b->disposed()) {
      ThrowError(env, nt::StatusCode::kDisposed, "Expected a live buffer for buffers[" + std::to_string(i) + "] but it was disposed");
      return;
    }
    if (b->dtype() != DType::kFloat32) {
      ThrowError(env, nt::StatusCode::kInvalidArgumentValue, "Expected a float32 buffer for buffers[" + std::to_string(i) + "] but received int32");
      return;
    }
    args.buf[i] = b->f32();
    args.len[i] = b->length();
  }
  args.nbuf = static_cast<int>(bufs.Length());
  std::vector<double> ints, nums;
  if (!NumberList(env, info[3], "ints", &ints) || !NumberList(env, info[4], "nums", &nums)) return;
  for (size_t i = 0; i < ints.size(); ++i) args.i[i] = static_cast<int64_t>(ints[i]);
  for (size_t i = 0; i < nums.size(); ++i) args.f[i] = nums[i];
  args.ni = static_cast<int>(ints.size());
  args.nf = static_cast<int>(nums.size());
  nt::KernelFn fn = use_ref ? k->ref : nt::cpu_backend().extension(name.c_str());
  ThrowIfError(env, Guard(name.c_str(), [&] { return fn(args); }));
}

}  // namespace

void InitEnums(Napi::Env env, Napi::Object exports) {
  exports.Set("enums", Napi::Function::New<Enums>(env, "enums"));
  exports.Set("kernelCall", Napi::Function::New<KernelCall>(env, "kernelCall"));
}

}  // namespace ntb
