// Shared binding helpers: the per-environment addon data, NativeBuffer (aligned native float32 /
// int32 storage owned by a JS object) and Status -> JS Error mapping. Only native/binding/ includes
// napi.h. Every binding function validates the invariants native code relies on and throws a JS
// Error with a `code`; JavaScript-facing checks with friendly messages live in lib/validate.ts.
#pragma once
#include <napi.h>

#include <cstdint>
#include <new>
#include <string>

#include "nodetrain/enums.h"
#include "nodetrain/status.h"

namespace ntb {

enum class DType : int { kFloat32 = 0, kInt32 = 1 };

class NativeBuffer : public Napi::ObjectWrap<NativeBuffer> {
 public:
  static Napi::Function Init(Napi::Env env);
  explicit NativeBuffer(const Napi::CallbackInfo& info);
  ~NativeBuffer() override;

  DType dtype() const { return dtype_; }
  int64_t length() const { return length_; }
  bool disposed() const { return disposed_; }
  void* raw() const { return data_; }
  float* f32() const { return static_cast<float*>(data_); }
  // A pinned buffer is in use by native work on another thread: dispose() throws until unpinned.
  void pin() { ++pins_; }
  void unpin() { --pins_; }
  int32_t* i32() const { return static_cast<int32_t*>(data_); }

 private:
  Napi::Value Read(const Napi::CallbackInfo& info);
  void Write(const Napi::CallbackInfo& info);
  void Dispose(const Napi::CallbackInfo& info);
  Napi::Value GetLength(const Napi::CallbackInfo& info);
  Napi::Value GetDType(const Napi::CallbackInfo& info);
  Napi::Value GetDisposed(const Napi::CallbackInfo& info);
  void Free();

  Napi::Env env_;
  DType dtype_ = DType::kFloat32;
  int64_t length_ = 0;
  void* data_ = nullptr;
  bool disposed_ = false;
  int pins_ = 0;
};

// Per-environment (main thread or worker_thread) data: constructors live here, never in statics.
struct AddonData {
  Napi::FunctionReference native_buffer;
  Napi::FunctionReference model;  // engine Model class (engine binding)
};

// Throws a JS Error with .code for a non-ok status. Returns true when it threw.
bool ThrowIfError(Napi::Env env, const nt::Status& st);
Napi::Error MakeError(Napi::Env env, const nt::Status& st);
// Drops a reference without letting any failure out (safe in callbacks during teardown).
template <typename T>
inline void ResetQuietly(Napi::Reference<T>& ref) {
  try {
    ref.Reset();
  } catch (...) {
  }
}
// Throws a JS Error whose .code is the status code's name (a TypeError for kInvalidArgumentType).
void ThrowError(Napi::Env env, nt::StatusCode code, const std::string& message);
// The code of a failed argument check: a wrong JavaScript type or a value out of range.
inline nt::StatusCode ArgCode(bool type_error) {
  return type_error ? nt::StatusCode::kInvalidArgumentType : nt::StatusCode::kInvalidArgumentValue;
}

// Argument extraction. Each throws (and returns false) with a clear message on failure.
bool ArgBuffer(const Napi::CallbackInfo& info, size_t i, const char* name, NativeBuffer** out, bool allow_null = false);
bool ArgInt(const Napi::CallbackInfo& info, size_t i, const char* name, int64_t* out, int64_t min = 0,
            int64_t max = (int64_t(1) << 53));
bool ArgFloat(const Napi::CallbackInfo& info, size_t i, const char* name, float* out);
bool ArgDouble(const Napi::CallbackInfo& info, size_t i, const char* name, double* out);
bool ArgBool(const Napi::CallbackInfo& info, size_t i, const char* name, bool* out);
// A name from one of the enum tables in nodetrain/enums.h: a string (else kInvalidArgumentType)
// that the table lists (else kInvalidArgumentValue). *out is the name's index.
bool NameIndex(Napi::Env env, Napi::Value v, const std::string& name, const char* const* table, size_t count, int* out);
template <class E, size_t N>
bool ParseName(Napi::Env env, Napi::Value v, const std::string& name, const char* const (&table)[N], E* out) {
  int i;
  if (!NameIndex(env, v, name, table, N, &i)) return false;
  *out = static_cast<E>(i);
  return true;
}
// JavaScript description of a received value for error messages ('abc' quoted, numbers plain).
std::string Describe(Napi::Value v);
// Checks buffer has dtype and at least `needed` elements.
bool CheckBuffer(Napi::Env env, NativeBuffer* b, const char* name, DType dtype, int64_t needed);

// a * b, or -1 when it overflows int64.
inline int64_t Mul(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_mul_overflow(a, b, &r)) return -1;
  return r;
}

// Runs a kernel call, turning escaped C++ exceptions into a Status.
template <class F>
nt::Status Guard(const char* what, F&& f) {
  try {
    return f();
  } catch (const std::bad_alloc&) {
    return nt::Status(nt::StatusCode::kOutOfMemory, std::string(what) + ": out of memory");
  } catch (...) {
    return nt::Internal(std::string(what) + ": unexpected exception");
  }
}

// Throws and returns false when fewer than n arguments were passed to fn.
bool ArgCount(const Napi::CallbackInfo& info, size_t n, const char* fn);

// Registration hooks, one per binding file.
void InitRuntime(Napi::Env env, Napi::Object exports);
void InitGemm(Napi::Env env, Napi::Object exports);
void InitReduce(Napi::Env env, Napi::Object exports);
void InitElementwise(Napi::Env env, Napi::Object exports);
void InitOptim(Napi::Env env, Napi::Object exports);
void InitEngine(Napi::Env env, Napi::Object exports);
void InitSchedule(Napi::Env env, Napi::Object exports);
void InitEnums(Napi::Env env, Napi::Object exports);
void InitCuda(Napi::Env env, Napi::Object exports);  // cuda_binding.cc (every build)
#if defined(NT_BENCH)
void InitBench(Napi::Env env, Napi::Object exports);  // native/bench/ (bench builds only)
#endif

}  // namespace ntb
