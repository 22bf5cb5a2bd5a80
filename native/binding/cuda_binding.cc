// The CUDA entry points, compiled into every build: without the CUDA backend (no NT_WITH_CUDA)
// cudaInfo() says so and the others throw ERR_NT_NO_DEVICE naming the build as what is missing.
//   cudaInfo() -> { built, available, reason, cublas, devices: [{ index, name, computeCapability,
//                   multiprocessors, totalMemory }] }
//   cudaKernel(name, buffers: Float32Array[], ints: number[], floats: number[]) -> number[]
//     test entry: uploads the arrays, runs one CUDA kernel (native/cuda/harness.cu lists them and
//     their argument orders), downloads every array back in place; returns its scalar results.
//   cudaBench(what, ints: number[]) -> milliseconds (median, CUDA events; scripts/device/check.sh)
// Both run synchronously on the calling thread: they exist for the device checks, not for training.
//   dataStreamPlan(rows, rowBytes, batch, budget, env?, freeBytes?) -> { budget, streamed, chunkRows,
//     chunks, ranges: [[begin, end], ...] }: the host-side plan of a streamed data set
//     (native/engine/data_stream.h), in every build (its tests run without a GPU). budget 0: taken
//     from env (NODETRAIN_CUDA_DATA_BUDGET's value) or 3/4 of freeBytes.
#include <string>
#include <vector>

#include "common.h"
#include "engine/data_stream.h"
#if defined(NT_WITH_CUDA)
#include "cuda/cuda_backend.h"
#endif

namespace ntb {
namespace {

constexpr const char* kNoCudaBuild =
    "This build of nodetrain has no CUDA backend: build it with `npm run build:cuda` (needs the CUDA toolkit) and "
    "load it with NODETRAIN_BACKEND=cuda";

Napi::Value CudaInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  Napi::Array list = Napi::Array::New(env);
#if defined(NT_WITH_CUDA)
  std::string why, which;
  const bool ok = nt::cuda::available(&why);
  o.Set("built", true);
  o.Set("available", ok);
  o.Set("reason", ok ? std::string() : why);
  o.Set("cublas", ok && nt::cuda::cublas_loaded(&which) ? Napi::Value(Napi::String::New(env, which)) : env.Null());
  std::vector<nt::cuda::DeviceInfo> devs;
  if (ok && nt::cuda::devices(&devs).ok()) {
    for (size_t i = 0; i < devs.size(); ++i) {
      Napi::Object d = Napi::Object::New(env);
      d.Set("index", devs[i].index);
      d.Set("name", devs[i].name);
      d.Set("computeCapability", std::to_string(devs[i].major) + "." + std::to_string(devs[i].minor));
      d.Set("multiprocessors", devs[i].multiprocessors);
      d.Set("totalMemory", static_cast<double>(devs[i].total_memory));
      list.Set(static_cast<uint32_t>(i), d);
    }
  }
#else
  o.Set("built", false);
  o.Set("available", false);
  o.Set("reason", kNoCudaBuild);
  o.Set("cublas", env.Null());
#endif
  o.Set("devices", list);
  return o;
}

#if defined(NT_WITH_CUDA)
bool NumberList(Napi::Env env, Napi::Value v, const char* name, std::vector<double>* out) {
  if (!v.IsArray()) {
    ThrowError(env, nt::StatusCode::kInvalidArgumentType,
               std::string("Expected an array of numbers for ") + name + " but received " + Describe(v));
    return false;
  }
  Napi::Array a = v.As<Napi::Array>();
  for (uint32_t i = 0; i < a.Length(); ++i) {
    Napi::Value e = a.Get(i);
    if (!e.IsNumber()) {
      ThrowError(env, nt::StatusCode::kInvalidArgumentType,
                 std::string("Expected a number for ") + name + "[" + std::to_string(i) + "] but received " + Describe(e));
      return false;
    }
    out->push_back(e.As<Napi::Number>().DoubleValue());
  }
  return true;
}
#endif

Napi::Value CudaKernel(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
#if defined(NT_WITH_CUDA)
  if (!ArgCount(info, 4, "cudaKernel")) return env.Undefined();
  if (!info[0].IsString()) {
    ThrowError(env, nt::StatusCode::kInvalidArgumentType, "Expected a string for name but received " + Describe(info[0]));
    return env.Undefined();
  }
  const std::string name = info[0].As<Napi::String>().Utf8Value();
  nt::KernelArgs args;
  if (!info[1].IsArray()) {
    ThrowError(env, nt::StatusCode::kInvalidArgumentType, "Expected an array of Float32Arrays for buffers but received " + Describe(info[1]));
    return env.Undefined();
  }
  Napi::Array bufs = info[1].As<Napi::Array>();
  if (bufs.Length() > static_cast<uint32_t>(nt::KernelArgs::kMax)) {
    ThrowError(env, nt::StatusCode::kInvalidArgumentValue, "Expected at most 8 buffers but received " + std::to_string(bufs.Length()));
    return env.Undefined();
  }
  for (uint32_t i = 0; i < bufs.Length(); ++i) {
    Napi::Value b = bufs.Get(i);
    if (!b.IsTypedArray() || b.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
      ThrowError(env, nt::StatusCode::kInvalidArgumentType,
                 "Expected a Float32Array for buffers[" + std::to_string(i) + "] but received " + Describe(b));
      return env.Undefined();
    }
    Napi::Float32Array f = b.As<Napi::Float32Array>();
    args.buf[i] = f.Data();
    args.len[i] = static_cast<int64_t>(f.ElementLength());
  }
  args.nbuf = static_cast<int>(bufs.Length());
  std::vector<double> ints, floats;
  if (!NumberList(env, info[2], "ints", &ints) || !NumberList(env, info[3], "floats", &floats)) return env.Undefined();
  if (ints.size() > 8 || floats.size() > 8) {
    ThrowError(env, nt::StatusCode::kInvalidArgumentValue, "Expected at most 8 ints and 8 floats but received more");
    return env.Undefined();
  }
  for (size_t i = 0; i < ints.size(); ++i) args.i[i] = static_cast<int64_t>(ints[i]);
  for (size_t i = 0; i < floats.size(); ++i) args.f[i] = floats[i];
  args.ni = static_cast<int>(ints.size());
  args.nf = static_cast<int>(floats.size());
  std::vector<double> scalars;
  if (ThrowIfError(env, Guard("cudaKernel", [&] { return nt::cuda::run_kernel_on_host_buffers(name, args, &scalars); })))
    return env.Undefined();
  Napi::Array out = Napi::Array::New(env, scalars.size());
  for (size_t i = 0; i < scalars.size(); ++i) out.Set(static_cast<uint32_t>(i), scalars[i]);
  return out;
#else
  ThrowError(env, nt::StatusCode::kNoDevice, kNoCudaBuild);
  return env.Undefined();
#endif
}

Napi::Value CudaBench(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
#if defined(NT_WITH_CUDA)
  if (!ArgCount(info, 2, "cudaBench")) return env.Undefined();
  if (!info[0].IsString()) {
    ThrowError(env, nt::StatusCode::kInvalidArgumentType, "Expected a string for what but received " + Describe(info[0]));
    return env.Undefined();
  }
  std::vector<double> d;
  if (!NumberList(env, info[1], "ints", &d)) return env.Undefined();
  std::vector<int64_t> iv(d.begin(), d.end());
  double ms = 0;
  if (ThrowIfError(env, Guard("cudaBench", [&] { return nt::cuda::bench(info[0].As<Napi::String>().Utf8Value(), iv, &ms); })))
    return env.Undefined();
  return Napi::Number::New(env, ms);
#else
  ThrowError(env, nt::StatusCode::kNoDevice, kNoCudaBuild);
  return env.Undefined();
#endif
}

Napi::Value DataStreamPlan(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  for (int k = 0; k < 4; ++k)
    if (!info[k].IsNumber()) {
      ThrowError(env, nt::StatusCode::kInvalidArgumentType, "Expected numbers for rows, rowBytes, batch and budget");
      return env.Undefined();
    }
  const int64_t rows = info[0].As<Napi::Number>().Int64Value();
  const int64_t row_bytes = info[1].As<Napi::Number>().Int64Value();
  const int64_t batch = info[2].As<Napi::Number>().Int64Value();
  const double budget_d = info[3].As<Napi::Number>().DoubleValue();
  if (!(budget_d >= 0) || budget_d > 9007199254740991.0) {
    ThrowError(env, nt::StatusCode::kInvalidArgumentValue,
               "Expected a number of bytes >= 0 for budget but received " + std::to_string(budget_d));
    return env.Undefined();
  }
  uint64_t budget = static_cast<uint64_t>(budget_d);
  if (budget == 0) {
    std::string ev;
    const bool has_env = info[4].IsString();
    if (has_env) ev = info[4].As<Napi::String>().Utf8Value();
    const uint64_t free_b = info[5].IsNumber() ? static_cast<uint64_t>(info[5].As<Napi::Number>().DoubleValue()) : 0;
    if (ThrowIfError(env, nt::data_budget(has_env ? ev.c_str() : nullptr, free_b, &budget))) return env.Undefined();
  }
  nt::DataStreamPlan plan;
  if (ThrowIfError(env, nt::plan_data_stream(rows, row_bytes, batch, budget, &plan))) return env.Undefined();
  Napi::Object o = Napi::Object::New(env);
  o.Set("budget", Napi::Number::New(env, static_cast<double>(budget)));
  o.Set("streamed", Napi::Boolean::New(env, plan.streamed));
  o.Set("chunkRows", Napi::Number::New(env, static_cast<double>(plan.chunk_rows)));
  o.Set("chunks", Napi::Number::New(env, static_cast<double>(plan.chunks)));
  Napi::Array ranges = Napi::Array::New(env);
  for (int64_t c = 0; c < plan.chunks && c < 100000; ++c) {
    int64_t b, e;
    nt::chunk_range(plan, rows, c, &b, &e);
    Napi::Array r = Napi::Array::New(env, 2);
    r.Set(0u, Napi::Number::New(env, static_cast<double>(b)));
    r.Set(1u, Napi::Number::New(env, static_cast<double>(e)));
    ranges.Set(static_cast<uint32_t>(c), r);
  }
  o.Set("ranges", ranges);
  return o;
}

}  // namespace

void InitCuda(Napi::Env env, Napi::Object exports) {
  exports.Set("cudaInfo", Napi::Function::New(env, CudaInfo, "cudaInfo"));
  exports.Set("cudaKernel", Napi::Function::New(env, CudaKernel, "cudaKernel"));
  exports.Set("cudaBench", Napi::Function::New(env, CudaBench, "cudaBench"));
  exports.Set("dataStreamPlan", Napi::Function::New(env, DataStreamPlan, "dataStreamPlan"));
}

}  // namespace ntb
