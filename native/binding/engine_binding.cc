// NativeModel: construction from a string-typed spec (engine_spec.cc), accessors and optimizer
// configuration; see model_wrap.h for where the other methods live.
#include <cmath>

#include "engine_spec.h"
#include "model_wrap.h"

namespace ntb {

Napi::Function ModelWrap::Init(Napi::Env env) {
  return DefineClass(env, "NativeModel",
                     {InstanceMethod<&ModelWrap::ParamInfo>("paramInfo"),
                      InstanceMethod<&ModelWrap::ReadParams>("readParams"),
                      InstanceMethod<&ModelWrap::WriteParams>("writeParams"),
                      InstanceMethod<&ModelWrap::ReadGrads>("readGrads"),
                      InstanceMethod<&ModelWrap::ReadState>("readState"),
                      InstanceMethod<&ModelWrap::WriteState>("writeState"),
                      InstanceMethod<&ModelWrap::SetOptimizer>("setOptimizer"),
                      InstanceMethod<&ModelWrap::ResetOptimizer>("resetOptimizer"),
                      InstanceMethod<&ModelWrap::SetLrMultiplier>("setLrMultiplier"),
                      InstanceMethod<&ModelWrap::GroupLr>("groupLr"),
                      InstanceMethod<&ModelWrap::Fit>("fit"),
                      InstanceMethod<&ModelWrap::ResumeFit>("resumeFit"),
                      InstanceMethod<&ModelWrap::Stop>("stop"),
                      InstanceMethod<&ModelWrap::Evaluate>("evaluate"),
                      InstanceMethod<&ModelWrap::Predict>("predict"),
                      InstanceMethod<&ModelWrap::TrainBatch>("trainBatch"),
                      InstanceMethod<&ModelWrap::SetActiveWidths>("setActiveWidths"),
                      InstanceMethod<&ModelWrap::CalibrateBatch>("calibrateBatch"),
                      InstanceAccessor<&ModelWrap::GetBusy>("busy"),
                      InstanceAccessor<&ModelWrap::GetStep>("step"),
                      InstanceAccessor<&ModelWrap::GetNumParams>("numParams"),
                      InstanceAccessor<&ModelWrap::GetNumTrainable>("numTrainable"),
                      InstanceMethod<&ModelWrap::InjectNonFinite>("injectNonFinite"),
                      InstanceMethod<&ModelWrap::SetDataBudget>("setDataBudget"),
                      InstanceMethod<&ModelWrap::UseHostDeferredUpdate>("useHostDeferredUpdate"),
                      InstanceAccessor<&ModelWrap::GetHyperMultiplier>("hyperMultiplier"),
                      InstanceAccessor<&ModelWrap::GetLrMultiplier>("lrMultiplier"),
                      InstanceAccessor<&ModelWrap::GetGradNorm>("lastGradNorm"),
                      InstanceMethod<&ModelWrap::Dispose>("dispose"),
                      InstanceMethod<&ModelWrap::Publish>("publish"),
                      InstanceAccessor<&ModelWrap::GetServingVersion>("servingVersion"),
                      InstanceAccessor<&ModelWrap::GetNativeBytes>("nativeBytes"),
                      InstanceAccessor<&ModelWrap::GetDisposed>("disposed")});
}

// new NativeModel(spec, maxBatch)
ModelWrap::ModelWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ModelWrap>(info) {
  Napi::Env env = info.Env();
  nt::ModelSpec spec;
  if (!ParseSpec(env, info[0], &spec)) return;
  int64_t max_batch;
  if (!ArgInt(info, 1, "maxBatch", &max_batch, 1, int64_t(1) << 24)) return;
  std::unique_ptr<nt::Model> m;
  if (ThrowIfError(env, nt::Model::Create(spec, max_batch, &m))) return;
  model_ = std::move(m);
  // The garbage collector weighs this object by the native memory it keeps alive.
  reported_bytes_ = static_cast<int64_t>(model_->bytes());
  int64_t total = 0;
  napi_adjust_external_memory(env, reported_bytes_, &total);
}

ModelWrap::~ModelWrap() {
  stop_.store(true);
  Reply(true);
  if (thread_.joinable()) thread_.join();
  ReleaseMemory(Env());
}

void ModelWrap::ReleaseMemory(Napi::Env env) {
  if (reported_bytes_ == 0) return;
  int64_t total = 0;
  napi_adjust_external_memory(env, -reported_bytes_, &total);
  reported_bytes_ = 0;
}

// dispose(): frees the plan and every arena now (inference jobs in flight keep the plan until they
// finish). Refused while fit or trainBatch runs: the TypeScript layer stops the fit and disposes
// once it has settled.
Napi::Value ModelWrap::Dispose(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (disposed_) return Napi::Boolean::New(env, false);
  if (busy_) {
    ThrowError(env, nt::StatusCode::kBusy, "The model is busy with a running fit or trainBatch; dispose it after it settles");
    return env.Undefined();
  }
  model_.reset();
  disposed_ = true;
  ReleaseMemory(env);
  return Napi::Boolean::New(env, true);
}

// publish(): a new serving snapshot now (idle, or a fit paused at an epoch boundary), or after the
// running step (fit running).
void ModelWrap::Publish(const Napi::CallbackInfo& info) {
  if (!CheckBuilt(info.Env())) return;
  if (busy_ && !Paused())
    model_->request_publish();
  else
    model_->publish();
}

Napi::Value ModelWrap::GetServingVersion(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), model_ ? static_cast<double>(model_->serving_version()) : 0);
}

Napi::Value ModelWrap::GetNativeBytes(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(reported_bytes_));
}

Napi::Value ModelWrap::GetDisposed(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), disposed_); }

bool ModelWrap::Paused() {
  std::lock_guard<std::mutex> lk(mu_);
  return paused_;
}

bool ModelWrap::CheckBuilt(Napi::Env env) {
  if (model_) return true;
  if (disposed_)
    ThrowError(env, nt::StatusCode::kDisposed, "The model was disposed; it cannot be used any more");
  else
    ThrowError(env, nt::StatusCode::kInvalidState, "Expected a built model for this call but the model failed to build");
  return false;
}


bool ModelWrap::CheckIdle(Napi::Env env, bool allow_paused) {
  if (!CheckBuilt(env)) return false;
  if (busy_) {
    if (allow_paused && Paused()) return true;
    ThrowError(env, nt::StatusCode::kBusy, "The model is busy with a running fit or trainBatch; wait for it to finish");
    return false;
  }
  return true;
}

void ModelWrap::Pin(const std::vector<NativeBuffer*>& bufs) {
  for (NativeBuffer* b : bufs) {
    b->pin();
    refs_.push_back(Napi::Persistent(b->Value()));
  }
  pinned_ = bufs;
}

void ModelWrap::Unpin() {
  for (NativeBuffer* b : pinned_) b->unpin();
  pinned_.clear();
  refs_.clear();
}

Napi::Value ModelWrap::ParamInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!model_) return env.Undefined();
  const auto& ps = model_->params();
  Napi::Array a = Napi::Array::New(env, ps.size());
  for (size_t i = 0; i < ps.size(); ++i) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("name", ps[i].name);
    o.Set("node", ps[i].node);
    o.Set("offset", static_cast<double>(ps[i].offset));
    o.Set("size", static_cast<double>(ps[i].size));
    Napi::Array sh = Napi::Array::New(env, ps[i].shape.size());
    for (size_t k = 0; k < ps[i].shape.size(); ++k) sh.Set(static_cast<uint32_t>(k), static_cast<double>(ps[i].shape[k]));
    o.Set("shape", sh);
    o.Set("group", ps[i].group);
    o.Set("trainable", ps[i].trainable);
    a.Set(static_cast<uint32_t>(i), o);
  }
  return a;
}

void ModelWrap::SetOptimizer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!CheckIdle(env, true)) return;
  nt::OptimizerSpec o;
  if (!ParseOptimizer(env, info[0], &o)) return;
  const bool reset = info.Length() > 1 && info[1].IsBoolean() && info[1].As<Napi::Boolean>().Value();
  if (!ThrowIfError(env, model_->set_optimizer(o, reset))) RefreshSnapshot();
}

void ModelWrap::ResetOptimizer(const Napi::CallbackInfo& info) {
  if (!CheckIdle(info.Env(), true)) return;
  model_->reset_optimizer_state();
  RefreshSnapshot();
}

void ModelWrap::SetLrMultiplier(const Napi::CallbackInfo& info) {
  if (!CheckIdle(info.Env(), true)) return;
  double m;
  if (!ArgDouble(info, 0, "multiplier", &m)) return;
  if (!(m >= 0) || !std::isfinite(m)) {
    ThrowError(info.Env(), nt::StatusCode::kInvalidArgumentValue, "Expected a finite multiplier >= 0");
    return;
  }
  model_->set_lr_multiplier(m);
}

// groupLr(group, step) -> the scheduled rate (before the multiplier)
Napi::Value ModelWrap::GroupLr(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!model_) return env.Undefined();
  int64_t g, s;
  if (!ArgInt(info, 0, "group", &g, 0, 1 << 20) || !ArgInt(info, 1, "step", &s)) return env.Undefined();
  return Napi::Number::New(env, model_->group_lr(static_cast<int>(g), s));
}

Napi::Value ModelWrap::GetBusy(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), busy_); }

Napi::Value ModelWrap::GetStep(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), model_ ? static_cast<double>(model_->step_count()) : 0);
}

Napi::Value ModelWrap::GetNumParams(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), model_ ? static_cast<double>(model_->num_params()) : 0);
}

Napi::Value ModelWrap::GetNumTrainable(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), model_ ? static_cast<double>(model_->num_trainable()) : 0);
}

Napi::Value ModelWrap::GetHyperMultiplier(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), model_ ? model_->hyper_multiplier() : 1);
}

Napi::Value ModelWrap::GetLrMultiplier(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), model_ ? model_->lr_multiplier() : 1);
}

// injectNonFinite(steps: number[]): test hook, the gradients of those optimizer steps become NaN.
void ModelWrap::InjectNonFinite(const Napi::CallbackInfo& info) {
  if (!CheckIdle(info.Env())) return;
  if (!info[0].IsArray()) {
    ThrowError(info.Env(), nt::StatusCode::kInvalidArgumentType, "Expected an array of steps");
    return;
  }
  Napi::Array a = info[0].As<Napi::Array>();
  std::vector<int64_t> steps;
  for (uint32_t i = 0; i < a.Length(); ++i) {
    Napi::Value x = a.Get(i);
    if (x.IsNumber()) steps.push_back(x.As<Napi::Number>().Int64Value());
  }
  model_->inject_nonfinite_at(std::move(steps));
}

// setDataBudget(bytes: number): test hook, the device-memory budget for data sets (0: the
// backend's own); applied on the CPU too, so the streamed fit loop runs without a GPU.
void ModelWrap::SetDataBudget(const Napi::CallbackInfo& info) {
  if (!CheckIdle(info.Env())) return;
  const double b = info[0].IsNumber() ? info[0].As<Napi::Number>().DoubleValue() : -1;
  if (!(b >= 0) || b > 9007199254740991.0 || b != static_cast<double>(static_cast<uint64_t>(b))) {
    ThrowError(info.Env(), nt::StatusCode::kInvalidArgumentValue, "Expected a whole number of bytes >= 0 for the data budget");
    return;
  }
  model_->set_data_budget(static_cast<uint64_t>(b));
}

// useHostDeferredUpdate(ringCapacity?): test hook, a CPU model takes the device-resident update's
// deferred path with host twins: its checks and batch stats stay in backend memory until the fit
// loop reads them back; ringCapacity (batches, > 0) shrinks the stats ring.
void ModelWrap::UseHostDeferredUpdate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!CheckIdle(env)) return;
  int64_t cap = 0;
  if (info.Length() > 0 && !info[0].IsUndefined()) {
    const double v = info[0].IsNumber() ? info[0].As<Napi::Number>().DoubleValue() : -1;
    if (!(v >= 1 && v <= 1 << 20 && v == static_cast<double>(static_cast<int64_t>(v)))) {
      ThrowError(env, nt::StatusCode::kInvalidArgumentValue, "Expected an integer in [1, 2^20] for ringCapacity");
      return;
    }
    cap = static_cast<int64_t>(v);
  }
  if (ThrowIfError(env, model_->use_host_deferred_update())) return;
  model_->set_stats_ring_capacity(cap);
}

Napi::Value ModelWrap::GetGradNorm(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), model_ ? model_->last_grad_norm() : 0);
}

void InitEngine(Napi::Env env, Napi::Object exports) {
  Napi::Function f = ModelWrap::Init(env);
  env.GetInstanceData<AddonData>()->model = Napi::Persistent(f);
  exports.Set("NativeModel", f);
}

}  // namespace ntb
