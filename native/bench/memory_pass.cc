// Benchmark-only entry points, compiled only into the bench build of the addon (NT_BENCH defined;
// scripts/bench/native/binding.gyp, built by scripts/bench/optim.js on first use). Never part of
// the public addon.
//   memoryPassBench(buffers: NativeBuffer[] (1..5, distinct), written: 1..buffers.length, n)
#if defined(NT_BENCH)
#include <string>

#include "binding/common.h"
#include "nodetrain/parallel.h"

namespace ntb {
namespace {

// ---- benchmark-only streaming pass --------------------------------------------------------------
// Reads R arrays and writes the first W of them in place: the same DRAM traffic as an optimizer
// step with R input and W output streams (Adam: R = 4, W = 3), chunked like the kernels. It is the
// bandwidth ceiling the fused steps are measured against in scripts/bench/optim.js.
template <int R, int W>
void StreamChunk(float* const* b, int64_t lo, int64_t hi) {
  float* __restrict__ x[R];
  for (int k = 0; k < R; ++k) x[k] = b[k];
  for (int64_t i = lo; i < hi; ++i) {
    float s = 0.0f;
    for (int k = 0; k < R; ++k) s += x[k][i];
    for (int k = 0; k < W; ++k) x[k][i] = s;
  }
}

template <int R, int W>
void StreamPass(float* const* b, int64_t n) {
  constexpr int64_t kParallelMin = int64_t(1) << 16, kGrain = int64_t(1) << 15;
  if (n < kParallelMin || nt::num_threads() <= 1) {
    StreamChunk<R, W>(b, 0, n);
    return;
  }
  nt::parallel_for(n / kGrain, [&](int ith, int nth) {
    int64_t lo, hi;
    nt::partition(n, ith, nth, 16, &lo, &hi);
    if (lo < hi) StreamChunk<R, W>(b, lo, hi);
  });
}

void MemoryPassBench(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsArray()) {
    ThrowError(env, nt::StatusCode::kInvalidArgumentType, "Expected an array of buffers for buffers");
    return;
  }
  Napi::Array arr = info[0].As<Napi::Array>();
  const uint32_t r = arr.Length();
  if (r < 1 || r > 5) {
    ThrowError(env, nt::StatusCode::kInvalidArgumentValue, "Expected 1 to 5 buffers for buffers");
    return;
  }
  int64_t w, n;
  if (!ArgInt(info, 1, "written", &w, 1, r) || !ArgInt(info, 2, "n", &n, 0)) return;
  float* ptrs[5] = {nullptr, nullptr, nullptr, nullptr, nullptr};
  AddonData* data = env.GetInstanceData<AddonData>();
  for (uint32_t k = 0; k < r; ++k) {
    Napi::Value v = arr.Get(k);
    if (!v.IsObject() || !v.As<Napi::Object>().InstanceOf(data->native_buffer.Value())) {
      ThrowError(env, nt::StatusCode::kInvalidArgumentType, "Expected a NativeBuffer for buffers[" + std::to_string(k) + "]");
      return;
    }
    NativeBuffer* b = NativeBuffer::Unwrap(v.As<Napi::Object>());
    std::string name = "buffers[" + std::to_string(k) + "]";
    if (b->disposed() || !CheckBuffer(env, b, name.c_str(), DType::kFloat32, n)) {
      if (b->disposed()) ThrowError(env, nt::StatusCode::kDisposed, "Expected a live buffer for " + name);
      return;
    }
    for (uint32_t j = 0; j < k; ++j) {
      if (ptrs[j] == b->f32()) {
        ThrowError(env, nt::StatusCode::kInvalidArgumentValue, "Expected distinct buffers for buffers");
        return;
      }
    }
    ptrs[k] = b->f32();
  }
  nt::Status st = Guard("memoryPassBench", [&] {
    switch (r * 10 + static_cast<uint32_t>(w)) {
      case 11: StreamPass<1, 1>(ptrs, n); break;
      case 21: StreamPass<2, 1>(ptrs, n); break;
      case 22: StreamPass<2, 2>(ptrs, n); break;
      case 31: StreamPass<3, 1>(ptrs, n); break;
      case 32: StreamPass<3, 2>(ptrs, n); break;
      case 33: StreamPass<3, 3>(ptrs, n); break;
      case 41: StreamPass<4, 1>(ptrs, n); break;
      case 42: StreamPass<4, 2>(ptrs, n); break;
      case 43: StreamPass<4, 3>(ptrs, n); break;
      case 44: StreamPass<4, 4>(ptrs, n); break;
      case 51: StreamPass<5, 1>(ptrs, n); break;
      case 52: StreamPass<5, 2>(ptrs, n); break;
      case 53: StreamPass<5, 3>(ptrs, n); break;
      case 54: StreamPass<5, 4>(ptrs, n); break;
      default: StreamPass<5, 5>(ptrs, n); break;
    }
    return nt::Status::Ok();
  });
  ThrowIfError(env, st);
}

}  // namespace

void InitBench(Napi::Env env, Napi::Object exports) {
  exports.Set("memoryPassBench", Napi::Function::New<MemoryPassBench>(env, "memoryPassBench"));
}

}  // namespace ntb
#endif  // NT_BENCH
