#include "common.h"

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <new>

namespace ntb {

// ---- errors -------------------------------------------------------------------------------------
// Errors are built and thrown with raw Node-API calls whose failures are ignored: when a
// worker_thread is terminated while its JavaScript is inside a native call, the environment stops
// running JavaScript (from another thread, at any moment), every call that needs JavaScript
// fails, and node-addon-api would answer by throwing a C++ exception that cannot be turned into a
// JavaScript one and aborts the process. (NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS in binding.gyp
// covers node-addon-api's own throws the same way.)
Napi::Error MakeError(Napi::Env env, const nt::Status& st) {
  napi_value msg = nullptr, code = nullptr, err = nullptr;
  const std::string& m = st.message();
  const char* c = nt::status_code_name(st.code());
  if (napi_create_string_utf8(env, m.c_str(), m.size(), &msg) != napi_ok ||
      napi_create_string_utf8(env, c, NAPI_AUTO_LENGTH, &code) != napi_ok)
    return Napi::Error();
  const napi_status s = st.code() == nt::StatusCode::kInvalidArgumentType ? napi_create_type_error(env, code, msg, &err)
                                                                          : napi_create_error(env, code, msg, &err);
  if (s != napi_ok || err == nullptr) return Napi::Error();
  return Napi::Error(env, err);
}

static void ThrowStatus(Napi::Env env, const nt::Status& st) {
  bool pending = false;
  if (napi_is_exception_pending(env, &pending) != napi_ok || pending) return;
  napi_value msg = nullptr, code = nullptr, err = nullptr;
  const std::string& m = st.message();
  if (napi_create_string_utf8(env, m.c_str(), m.size(), &msg) != napi_ok ||
      napi_create_string_utf8(env, nt::status_code_name(st.code()), NAPI_AUTO_LENGTH, &code) != napi_ok)
    return;
  const napi_status s = st.code() == nt::StatusCode::kInvalidArgumentType ? napi_create_type_error(env, code, msg, &err)
                                                                          : napi_create_error(env, code, msg, &err);
  if (s == napi_ok) napi_throw(env, err);  // fails only while the environment shuts down
}

bool ThrowIfError(Napi::Env env, const nt::Status& st) {
  if (st.ok()) return false;
  ThrowStatus(env, st);
  return true;
}

void ThrowError(Napi::Env env, nt::StatusCode code, const std::string& message) {
  ThrowStatus(env, nt::Status(code, message));
}

// ---- argument helpers ---------------------------------------------------------------------------
bool ArgBuffer(const Napi::CallbackInfo& info, size_t i, const char* name, NativeBuffer** out, bool allow_null) {
  Napi::Env env = info.Env();
  Napi::Value v = info[i];
  if (allow_null && (v.IsNull() || v.IsUndefined())) {
    *out = nullptr;
    return true;
  }
  AddonData* data = env.GetInstanceData<AddonData>();
  if (!v.IsObject() || !v.As<Napi::Object>().InstanceOf(data->native_buffer.Value())) {
    ThrowError(env, nt::StatusCode::kInvalidArgumentType, std::string("Expected a NativeBuffer for ") + name);
    return false;
  }
  NativeBuffer* b = NativeBuffer::Unwrap(v.As<Napi::Object>());
  if (b->disposed()) {
    ThrowError(env, nt::StatusCode::kDisposed, std::string("Expected a live buffer for ") + name + " but it was disposed");
    return false;
  }
  *out = b;
  return true;
}

bool ArgInt(const Napi::CallbackInfo& info, size_t i, const char* name, int64_t* out, int64_t min, int64_t max) {
  Napi::Env env = info.Env();
  Napi::Value v = info[i];
  if (!v.IsNumber()) {
    ThrowError(env, nt::StatusCode::kInvalidArgumentType, std::string("Expected an integer for ") + name + " but received " + Describe(v));
    return false;
  }
  double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= static_cast<double>(min) && d <= static_cast<double>(max)) || d != static_cast<double>(static_cast<int64_t>(d))) {
    ThrowError(env, nt::StatusCode::kInvalidArgumentValue,
               std::string("Expected an integer in [") + std::to_string(min) + ", " + std::to_string(max) + "] for " +
                   name + " but received " + Describe(v));
    return false;
  }
  *out = static_cast<int64_t>(d);
  return true;
}

// Renders a received value the way lib/validate.ts describe() does, so that messages read the same
// on both sides of the boundary.
std::string Describe(Napi::Value v) {
  if (v.IsNull()) return "null";
  if (v.IsUndefined()) return "undefined";
  if (v.IsString()) {
    std::string t = v.As<Napi::String>().Utf8Value();
    if (t.size() > 40) t = t.substr(0, 37) + "...";
    std::string q = "\"";
    for (char c : t) {
      if (c == '"' || c == '\\') q += '\\';
      q += c;
    }
    return q + "\"";
  }
  if (v.IsNumber() || v.IsBoolean()) return v.ToString().Utf8Value();
  if (v.IsFunction()) return "a function";
  if (v.IsArray()) return "an array of length " + std::to_string(v.As<Napi::Array>().Length());
  if (v.IsTypedArray()) {
    static const char* const kNames[] = {"Int8Array",    "Uint8Array",   "Uint8ClampedArray", "Int16Array",
                                         "Uint16Array",  "Int32Array",   "Uint32Array",       "Float32Array",
                                         "Float64Array", "BigInt64Array", "BigUint64Array"};
    Napi::TypedArray a = v.As<Napi::TypedArray>();
    const size_t k = static_cast<size_t>(a.TypedArrayType());
    const char* name = k < sizeof(kNames) / sizeof(kNames[0]) ? kNames[k] : "TypedArray";
    return std::string("a ") + name + " of length " + std::to_string(a.ElementLength());
  }
  if (v.IsObject()) {
    Napi::Value ctor = v.As<Napi::Object>().Get("constructor");
    if (ctor.IsFunction()) {
      Napi::Value name = ctor.As<Napi::Object>().Get("name");
      if (name.IsString()) {
        const std::string n = name.As<Napi::String>().Utf8Value();
        if (!n.empty() && n != "Object") return "a " + n;
      }
    }
  }
  return "an object";
}

bool NameIndex(Napi::Env env, Napi::Value v, const std::string& name, const char* const* table, size_t count,
               int* out) {
  std::string names;
  for (size_t i = 0; i < count; ++i) names += (i ? ", '" : "'") + std::string(table[i]) + "'";
  if (!v.IsString()) {
    ThrowError(env, nt::StatusCode::kInvalidArgumentType,
               "Expected one of " + names + " for " + name + " but received " + Describe(v));
    return false;
  }
  const std::string s = v.As<Napi::String>().Utf8Value();
  for (size_t i = 0; i < count; ++i) {
    if (s == table[i]) {
      *out = static_cast<int>(i);
      return true;
    }
  }
  ThrowError(env, nt::StatusCode::kInvalidArgumentValue,
             "Expected one of " + names + " for " + name + " but received " + Describe(v));
  return false;
}

bool ArgCount(const Napi::CallbackInfo& info, size_t n, const char* fn) {
  if (info.Length() >= n) return true;
  ThrowError(info.Env(), nt::StatusCode::kInvalidArgumentType, "Expected " + std::to_string(n) + " arguments for " + fn +
                                                                " but received " + std::to_string(info.Length()));
  return false;
}

bool ArgDouble(const Napi::CallbackInfo& info, size_t i, const char* name, double* out) {
  Napi::Env env = info.Env();
  Napi::Value v = info[i];
  if (!v.IsNumber()) {
    ThrowError(env, nt::StatusCode::kInvalidArgumentType, std::string("Expected a number for ") + name);
    return false;
  }
  *out = v.As<Napi::Number>().DoubleValue();
  return true;
}

bool ArgFloat(const Napi::CallbackInfo& info, size_t i, const char* name, float* out) {
  double d;
  if (!ArgDouble(info, i, name, &d)) return false;
  *out = static_cast<float>(d);
  return true;
}

bool ArgBool(const Napi::CallbackInfo& info, size_t i, const char* name, bool* out) {
  Napi::Env env = info.Env();
  Napi::Value v = info[i];
  if (!v.IsBoolean()) {
    ThrowError(env, nt::StatusCode::kInvalidArgumentType, std::string("Expected a boolean for ") + name);
    return false;
  }
  *out = v.As<Napi::Boolean>().Value();
  return true;
}

bool CheckBuffer(Napi::Env env, NativeBuffer* b, const char* name, DType dtype, int64_t needed) {
  if (b == nullptr) {
    ThrowError(env, nt::StatusCode::kInvalidArgumentValue, std::string("Expected a buffer for ") + name);
    return false;
  }
  if (b->dtype() != dtype) {
    ThrowError(env, nt::StatusCode::kInvalidArgumentType,
               std::string("Expected a ") + (dtype == DType::kFloat32 ? "float32" : "int32") + " buffer for " + name);
    return false;
  }
  if (needed < 0 || b->length() < needed) {
    ThrowError(env, nt::StatusCode::kInvalidArgumentValue,
               std::string("Expected at least ") + std::to_string(needed) + " elements in " + name + " but it has " +
                   std::to_string(b->length()));
    return false;
  }
  return true;
}

// ---- NativeBuffer -------------------------------------------------------------------------------
// new NativeBuffer(dtype: 0 float32 | 1 int32, length)  -> zero-filled, 64-byte aligned.
Napi::Function NativeBuffer::Init(Napi::Env env) {
  return DefineClass(env, "NativeBuffer",
                     {InstanceMethod<&NativeBuffer::Read>("read"), InstanceMethod<&NativeBuffer::Write>("write"),
                      InstanceMethod<&NativeBuffer::Dispose>("dispose"),
                      InstanceAccessor<&NativeBuffer::GetLength>("length"),
                      InstanceAccessor<&NativeBuffer::GetDType>("dtype"),
                      InstanceAccessor<&NativeBuffer::GetDisposed>("disposed")});
}

NativeBuffer::NativeBuffer(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NativeBuffer>(info), env_(info.Env()) {
  int64_t dt, len;
  if (!ArgInt(info, 0, "dtype", &dt, 0, 1)) return;
  if (!ArgInt(info, 1, "length", &len, 0, (int64_t(1) << 40))) return;
  dtype_ = static_cast<DType>(dt);
  length_ = len;
  size_t bytes = static_cast<size_t>(len) * 4;
  size_t rounded = (bytes + 63) / 64 * 64;
  if (rounded == 0) rounded = 64;
  data_ = std::aligned_alloc(64, rounded);
  if (data_ == nullptr) {
    length_ = 0;
    ThrowError(info.Env(), nt::StatusCode::kOutOfMemory,
               "Could not allocate " + std::to_string(bytes) + " bytes for a tensor");
    return;
  }
  std::memset(data_, 0, rounded);
  int64_t ignored;
  napi_adjust_external_memory(info.Env(), static_cast<int64_t>(rounded), &ignored);  // never throws
}

void NativeBuffer::Free() {
  if (data_ != nullptr) {
    std::free(data_);
    data_ = nullptr;
    size_t rounded = (static_cast<size_t>(length_) * 4 + 63) / 64 * 64;
    if (rounded == 0) rounded = 64;
    int64_t ignored;
    napi_adjust_external_memory(env_, -static_cast<int64_t>(rounded), &ignored);  // never throws
  }
  disposed_ = true;
}

NativeBuffer::~NativeBuffer() {
  if (data_ != nullptr) std::free(data_);  // no napi calls during finalization
}

void NativeBuffer::Dispose(const Napi::CallbackInfo& info) {
  if (pins_ > 0) {
    ThrowError(info.Env(), nt::StatusCode::kBusy, "Cannot dispose a tensor while a running fit, evaluate or predict uses it");
    return;
  }
  Free();
}

Napi::Value NativeBuffer::GetLength(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(length_));
}
Napi::Value NativeBuffer::GetDType(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), dtype_ == DType::kFloat32 ? "float32" : "int32");
}
Napi::Value NativeBuffer::GetDisposed(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), disposed_);
}

// read(offset = 0, count = length - offset) -> Float32Array | Int32Array (a copy)
Napi::Value NativeBuffer::Read(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (disposed_) {
    ThrowError(env, nt::StatusCode::kDisposed, "Expected a live tensor for read but it was disposed");
    return env.Undefined();
  }
  int64_t off = 0, count = length_;
  if (info.Length() > 0 && !info[0].IsUndefined() && !ArgInt(info, 0, "offset", &off, 0, length_)) return env.Undefined();
  count = length_ - off;
  if (info.Length() > 1 && !info[1].IsUndefined() && !ArgInt(info, 1, "count", &count, 0, length_ - off))
    return env.Undefined();
  // Raw Node-API calls: while a worker_thread terminates, allocation fails and JavaScript cannot
  // run, so a thrown Napi::Error would escape the callback and abort the process.
  napi_value ab, arr;
  void* data = nullptr;
  if (napi_create_arraybuffer(env, static_cast<size_t>(count) * 4, &data, &ab) != napi_ok) return Napi::Value();
  if (count > 0) std::memcpy(data, static_cast<char*>(data_) + off * 4, static_cast<size_t>(count) * 4);
  const napi_typedarray_type t = dtype_ == DType::kFloat32 ? napi_float32_array : napi_int32_array;
  if (napi_create_typedarray(env, t, static_cast<size_t>(count), ab, 0, &arr) != napi_ok) return Napi::Value();
  return Napi::Value(env, arr);
}

// write(src: Float32Array | Int32Array (matching dtype), offset = 0)
void NativeBuffer::Write(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (disposed_) {
    ThrowError(env, nt::StatusCode::kDisposed, "Expected a live tensor for write but it was disposed");
    return;
  }
  if (pins_ > 0) {
    ThrowError(env, nt::StatusCode::kBusy, "Expected a tensor no running work uses for write but a running fit, evaluate or predict uses it");
    return;
  }
  if (!info[0].IsTypedArray()) {
    ThrowError(env, nt::StatusCode::kInvalidArgumentType, "Expected a typed array for src");
    return;
  }
  Napi::TypedArray ta = info[0].As<Napi::TypedArray>();
  napi_typedarray_type want = dtype_ == DType::kFloat32 ? napi_float32_array : napi_int32_array;
  if (ta.TypedArrayType() != want) {
    ThrowError(env, nt::StatusCode::kInvalidArgumentType,
               std::string("Expected a ") + (dtype_ == DType::kFloat32 ? "Float32Array" : "Int32Array") + " for src");
    return;
  }
  int64_t off = 0;
  if (info.Length() > 1 && !info[1].IsUndefined() && !ArgInt(info, 1, "offset", &off, 0, length_)) return;
  int64_t n = static_cast<int64_t>(ta.ElementLength());
  if (off + n > length_) {
    ThrowError(env, nt::StatusCode::kInvalidArgumentValue, "Expected src to fit in the buffer: " + std::to_string(n) +
                                                  " elements at offset " + std::to_string(off) + " exceed length " +
                                                  std::to_string(length_));
    return;
  }
  const char* src = static_cast<const char*>(ta.ArrayBuffer().Data()) + ta.ByteOffset();
  if (n > 0) std::memcpy(static_cast<char*>(data_) + off * 4, src, static_cast<size_t>(n) * 4);
}

}  // namespace ntb
