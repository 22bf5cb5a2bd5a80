// Spec parsing for the engine binding: the string-typed specs of lib/native/engine.ts become the
// engine's C++ specs here, each name mapped to its enum once (nodetrain/enums.h), and the data
// views of fit/evaluate/trainBatch are unwrapped from NativeBuffers.
#pragma once
#include <string>
#include <vector>

#include "common.h"
#include "engine/model.h"
#include "engine/trainer.h"

namespace ntb {

bool ParseSpec(Napi::Env env, Napi::Value v, nt::ModelSpec* spec);
bool ParseOptimizer(Napi::Env env, Napi::Value v, nt::OptimizerSpec* o);
NativeBuffer* UnwrapBuffer(Napi::Env env, Napi::Value v, const std::string& name);
// Data view from (x, y) NativeBuffers; y float32 [rows, y_cols] or int32 labels [rows].
bool ParseData(Napi::Env env, Napi::Value xv, Napi::Value yv, int64_t rows, int64_t cols, const std::string& what,
               nt::DataView* d, std::vector<NativeBuffer*>* used);
// Optional-field readers: a present field of the wrong type throws (kInvalidArgumentType).
bool NumField(Napi::Env env, Napi::Object o, const char* key, const std::string& where, double def, double* out);
bool BoolField(Napi::Env env, Napi::Object o, const char* key, const std::string& where, bool def, bool* out);

// Lenient readers for option objects TypeScript already validated: the default unless a number/boolean.
inline double NumOr(Napi::Object o, const char* k, double d) {
  Napi::Value v = o.Get(k);
  return v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : d;
}
inline bool BoolOr(Napi::Object o, const char* k, bool d) {
  Napi::Value v = o.Get(k);
  return v.IsBoolean() ? v.As<Napi::Boolean>().Value() : d;
}

Napi::Array ToArray(Napi::Env env, const std::vector<double>& v);
Napi::Object LogsToJs(Napi::Env env, const nt::EpochLogs& l);

}  // namespace ntb
