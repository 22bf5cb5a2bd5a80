// NativeModel.setActiveWidths / calibrateBatch: the plan run as one of its sub-networks (one-shot
// architecture search; native/engine/slim.cc) and batch-norm recalibration off the main thread.
#include "model_wrap.h"

namespace ntb {

// setActiveWidths(widths: number[]) : one entry per native node (0 full, k units, -1 bypass); [] resets.
void ModelWrap::SetActiveWidths(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!CheckIdle(env)) return;
  if (!info[0].IsArray()) {
    ThrowError(env, nt::StatusCode::kInvalidArgumentType, "Expected an array of widths for widths but received " +
                                                              std::string(info[0].IsUndefined() ? "undefined" : "another value"));
    return;
  }
  Napi::Array a = info[0].As<Napi::Array>();
  std::vector<int64_t> widths;
  for (uint32_t i = 0; i < a.Length(); ++i) {
    Napi::Value x = a.Get(i);
    if (!x.IsNumber()) {
      ThrowError(env, nt::StatusCode::kInvalidArgumentType, "Expected a number for widths[" + std::to_string(i) + "]");
      return;
    }
    widths.push_back(x.As<Napi::Number>().Int64Value());
  }
  ThrowIfError(env, model_->set_active_widths(widths));
}

// calibrateBatch(x, rows, cols, momentum) -> Promise<void>
Napi::Value ModelWrap::CalibrateBatch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!CheckIdle(env)) return env.Undefined();
  int64_t rows, cols;
  double momentum;
  if (!ArgInt(info, 1, "rows", &rows, 1, model_->max_batch()) || !ArgInt(info, 2, "cols", &cols, 1) ||
      !ArgDouble(info, 3, "momentum", &momentum))
    return env.Undefined();
  if (cols != model_->input_width()) {
    ThrowError(env, nt::StatusCode::kInvalidArgumentValue, "Expected " + std::to_string(model_->input_width()) +
                                                               " features but received " + std::to_string(cols));
    return env.Undefined();
  }
  NativeBuffer* xb;
  if (!ArgBuffer(info, 0, "x", &xb) || !CheckBuffer(env, xb, "x", DType::kFloat32, rows * cols)) return env.Undefined();
  std::vector<NativeBuffer*> used{xb};
  nt::Model* m = model_.get();
  const float* x = xb->f32();
  return Launch(
      env, true, used, [m, x, rows, momentum] { return m->calibrate_batch(x, rows, momentum); },
      [](Napi::Env e) -> Napi::Value { return e.Undefined(); });
}

}  // namespace ntb
