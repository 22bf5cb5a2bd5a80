// The engine binding: NativeModel wraps nt::Model. fit() runs the training loop on its own thread
// and reports through one thread-safe function, in order: epoch begin/end events (the thread waits
// for resumeFit() so callbacks see a consistent model), batch events (never waited for; coalesced
// when JavaScript falls behind) and a final `done` that settles the promise. evaluate, predict and
// trainBatch run as AsyncWorkers. Buffers in use are pinned (dispose() throws) and referenced.
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "common.h"
#include "engine/model.h"
#include "engine/trainer.h"
#include "schedule_binding.h"

namespace ntb {
namespace {

// ---- spec parsing (the TypeScript layer validated everything; recheck types only) ---------------
double NumOr(Napi::Object o, const char* k, double d) {
  Napi::Value v = o.Get(k);
  return v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : d;
}
bool BoolOr(Napi::Object o, const char* k, bool d) {
  Napi::Value v = o.Get(k);
  return v.IsBoolean() ? v.As<Napi::Boolean>().Value() : d;
}

bool ParseOptimizer(Napi::Env env, Napi::Value v, nt::OptimizerSpec* o) {
  if (!v.IsObject()) {
    ThrowError(env, "ERR_NT_INVALID_ARGUMENT", "Expected an object for optimizer", true);
    return false;
  }
  Napi::Object ob = v.As<Napi::Object>();
  const int kind = static_cast<int>(NumOr(ob, "kind", 1));
  if (kind < 0 || kind > 4) {
    ThrowError(env, "ERR_NT_INVALID_ARGUMENT", "Expected an optimizer kind in [0, 4]");
    return false;
  }
  o->kind = static_cast<nt::OptKind>(kind);
  o->lr = NumOr(ob, "lr", 1e-3);
  o->has_schedule = false;
  Napi::Value sv = ob.Get("schedule");
  if (!sv.IsUndefined() && !sv.IsNull()) {
    if (!ParseSchedule(env, sv, "optimizer.schedule", &o->schedule)) return false;
    o->has_schedule = true;
  }
  o->momentum = NumOr(ob, "momentum", 0);
  o->dampening = NumOr(ob, "dampening", 0);
  o->weight_decay = NumOr(ob, "weightDecay", 0);
  o->nesterov = BoolOr(ob, "nesterov", false);
  o->beta1 = NumOr(ob, "beta1", 0.9);
  o->beta2 = NumOr(ob, "beta2", 0.999);
  o->eps = NumOr(ob, "eps", 1e-8);
  o->amsgrad = BoolOr(ob, "amsgrad", false);
  o->alpha = NumOr(ob, "alpha", 0.99);
  o->centered = BoolOr(ob, "centered", false);
  o->lr_decay = NumOr(ob, "lrDecay", 0);
  o->initial_accumulator = NumOr(ob, "initialAccumulatorValue", 0);
  o->clip_norm = NumOr(ob, "clipNorm", 0);
  o->clip_value = NumOr(ob, "clipValue", 0);
  o->hypergradient = BoolOr(ob, "hypergradient", false);
  o->hyper_lr = NumOr(ob, "hyperLr", 0);
  o->hyper_min_lr = NumOr(ob, "hyperMinLr", 0);
  o->hyper_max_lr = NumOr(ob, "hyperMaxLr", 1e9);
  o->hyper_multiplicative = BoolOr(ob, "hyperMultiplicative", false);
  o->groups.clear();
  Napi::Value gv = ob.Get("groups");
  if (gv.IsArray()) {
    Napi::Array ga = gv.As<Napi::Array>();
    for (uint32_t i = 0; i < ga.Length(); ++i) {
      nt::GroupSpec g;
      Napi::Value e = ga.Get(i);
      if (e.IsObject()) {
        Napi::Object go = e.As<Napi::Object>();
        if (go.Get("lr").IsNumber()) {
          g.has_lr = true;
          g.lr = go.Get("lr").As<Napi::Number>().DoubleValue();
        }
        if (go.Get("weightDecay").IsNumber()) {
          g.has_weight_decay = true;
          g.weight_decay = go.Get("weightDecay").As<Napi::Number>().DoubleValue();
        }
        Napi::Value gs = go.Get("schedule");
        if (!gs.IsUndefined() && !gs.IsNull()) {
          if (!ParseSchedule(env, gs, "optimizer.groups[].schedule", &g.schedule)) return false;
          g.has_schedule = true;
        }
      }
      o->groups.push_back(std::move(g));
    }
  }
  return true;
}

bool ParseSpec(Napi::Env env, Napi::Value v, nt::ModelSpec* spec) {
  if (!v.IsObject()) {
    ThrowError(env, "ERR_NT_INVALID_ARGUMENT", "Expected an object for spec", true);
    return false;
  }
  Napi::Object o = v.As<Napi::Object>();
  Napi::Value nv = o.Get("nodes");
  if (!nv.IsArray()) {
    ThrowError(env, "ERR_NT_INVALID_ARGUMENT", "Expected an array for spec.nodes", true);
    return false;
  }
  Napi::Array na = nv.As<Napi::Array>();
  for (uint32_t i = 0; i < na.Length(); ++i) {
    Napi::Value e = na.Get(i);
    if (!e.IsObject()) {
      ThrowError(env, "ERR_NT_INVALID_ARGUMENT", "Expected an object for spec.nodes[" + std::to_string(i) + "]", true);
      return false;
    }
    Napi::Object no = e.As<Napi::Object>();
    nt::NodeSpec s;
    s.kind = static_cast<nt::NodeKind>(static_cast<int>(NumOr(no, "kind", 0)));
    Napi::Value name = no.Get("name");
    s.name = name.IsString() ? name.As<Napi::String>().Utf8Value() : ("node" + std::to_string(i));
    Napi::Value iv = no.Get("inputs");
    if (iv.IsArray()) {
      Napi::Array ia = iv.As<Napi::Array>();
      for (uint32_t k = 0; k < ia.Length(); ++k) {
        Napi::Value x = ia.Get(k);
        s.inputs.push_back(x.IsNumber() ? x.As<Napi::Number>().Int32Value() : -1);
      }
    }
    s.units = static_cast<int64_t>(NumOr(no, "units", 0));
    s.use_bias = BoolOr(no, "useBias", true);
    s.act = static_cast<nt::Act>(static_cast<int>(NumOr(no, "act", 0)));
    s.alpha = static_cast<float>(NumOr(no, "alpha", 0));
    s.rate = static_cast<float>(NumOr(no, "rate", 0));
    s.eps = static_cast<float>(NumOr(no, "eps", 1e-3));
    s.momentum = static_cast<float>(NumOr(no, "momentum", 0.99));
    s.center = BoolOr(no, "center", true);
    s.scale = BoolOr(no, "scale", true);
    s.group = static_cast<int>(NumOr(no, "group", 0));
    s.trainable = BoolOr(no, "trainable", true);
    if (static_cast<int>(s.act) < 0 || static_cast<int>(s.act) > 7 || static_cast<int>(s.kind) < 0 ||
        static_cast<int>(s.kind) > 8 || s.group < 0) {
      ThrowError(env, "ERR_NT_INVALID_ARGUMENT", "Expected a valid node spec at spec.nodes[" + std::to_string(i) + "]");
      return false;
    }
    spec->nodes.push_back(std::move(s));
  }
  spec->output = static_cast<int>(NumOr(o, "output", static_cast<double>(na.Length()) - 1));
  Napi::Value lv = o.Get("loss");
  if (lv.IsObject()) {
    spec->loss.kind = static_cast<nt::LossKind>(static_cast<int>(NumOr(lv.As<Napi::Object>(), "kind", 0)));
    spec->loss.huber_delta = NumOr(lv.As<Napi::Object>(), "huberDelta", 1.0);
  }
  if (static_cast<int>(spec->loss.kind) < 0 || static_cast<int>(spec->loss.kind) > 8) {
    ThrowError(env, "ERR_NT_INVALID_ARGUMENT", "Expected a valid loss kind");
    return false;
  }
  Napi::Value mv = o.Get("metrics");
  if (mv.IsArray()) {
    Napi::Array ma = mv.As<Napi::Array>();
    for (uint32_t i = 0; i < ma.Length(); ++i) {
      Napi::Value x = ma.Get(i);
      int k = x.IsNumber() ? x.As<Napi::Number>().Int32Value() : -1;
      if (k < 0 || k > 4) {
        ThrowError(env, "ERR_NT_INVALID_ARGUMENT", "Expected a valid metric kind");
        return false;
      }
      spec->metrics.push_back(static_cast<nt::MetricKind>(k));
    }
  }
  spec->target_width = static_cast<int64_t>(NumOr(o, "targetWidth", 1));
  spec->sparse_labels = BoolOr(o, "sparseLabels", false);
  spec->seed = static_cast<uint64_t>(NumOr(o, "seed", 0));
  return ParseOptimizer(env, o.Get("optimizer"), &spec->optimizer);
}

NativeBuffer* UnwrapBuffer(Napi::Env env, Napi::Value v, const std::string& name) {
  AddonData* data = env.GetInstanceData<AddonData>();
  if (!v.IsObject() || !v.As<Napi::Object>().InstanceOf(data->native_buffer.Value())) {
    ThrowError(env, "ERR_NT_INVALID_ARGUMENT", "Expected a NativeBuffer for " + name, true);
    return nullptr;
  }
  NativeBuffer* b = NativeBuffer::Unwrap(v.As<Napi::Object>());
  if (b->disposed()) {
    ThrowError(env, "ERR_NT_DISPOSED", "Expected a live tensor for " + name + " but it was disposed");
    return nullptr;
  }
  return b;
}

// Data view from (x, y) NativeBuffers; y float32 [rows, y_cols] or int32 labels [rows].
bool ParseData(Napi::Env env, Napi::Value xv, Napi::Value yv, int64_t rows, int64_t cols, const std::string& what,
               nt::DataView* d, std::vector<NativeBuffer*>* used) {
  NativeBuffer* xb = UnwrapBuffer(env, xv, what + ".x");
  const int64_t x_size = Mul(rows, cols);
  if (x_size < 0) {
    ThrowError(env, "ERR_NT_INVALID_ARGUMENT", "Expected rows * cols to fit in memory for " + what);
    return false;
  }
  if (!xb || !CheckBuffer(env, xb, (what + ".x").c_str(), DType::kFloat32, x_size)) return false;
  d->x = xb->f32();
  d->rows = rows;
  d->cols = cols;
  used->push_back(xb);
  if (yv.IsUndefined() || yv.IsNull()) return true;
  NativeBuffer* yb = UnwrapBuffer(env, yv, what + ".y");
  if (!yb) return false;
  if (yb->dtype() == DType::kInt32) {
    if (!CheckBuffer(env, yb, (what + ".y").c_str(), DType::kInt32, rows)) return false;
    d->labels = yb->i32();
  } else {
    if (rows == 0 || yb->length() % rows != 0) {
      ThrowError(env, "ERR_NT_INVALID_ARGUMENT", "Expected " + what + ".y to have a whole number of columns");
      return false;
    }
    d->y = yb->f32();
    d->y_cols = yb->length() / rows;
  }
  used->push_back(yb);
  return true;
}

Napi::Array ToArray(Napi::Env env, const std::vector<double>& v) {
  Napi::Array a = Napi::Array::New(env, v.size());
  for (size_t i = 0; i < v.size(); ++i) a.Set(static_cast<uint32_t>(i), v[i]);
  return a;
}

Napi::Object LogsToJs(Napi::Env env, const nt::EpochLogs& l) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("epoch", l.epoch);
  o.Set("loss", l.loss);
  o.Set("metrics", ToArray(env, l.metrics));
  if (l.has_val) {
    o.Set("valLoss", l.val_loss);
    o.Set("valMetrics", ToArray(env, l.val_metrics));
  }
  o.Set("lr", l.lr);
  o.Set("steps", static_cast<double>(l.steps));
  o.Set("seconds", l.seconds);
  o.Set("recoveries", l.recoveries);
  return o;
}

// ---- events from the training thread --------------------------------------------------------------
struct FitEvent {
  enum Type { kEpochBegin = 0, kBatchEnd = 1, kEpochEnd = 2, kDone = 3 } type = kDone;
  int epoch = 0;
  int64_t batch = 0, rows = 0;
  double loss = 0, lr = 0;
  std::vector<double> metrics;
  nt::EpochLogs logs;
  nt::Status status;
  int epochs_done = 0;
};

class ModelWrap;
void CallJs(Napi::Env env, Napi::Function cb, ModelWrap* ctx, FitEvent* ev);
using Tsfn = Napi::TypedThreadSafeFunction<ModelWrap, FitEvent, CallJs>;

class ModelWrap : public Napi::ObjectWrap<ModelWrap>, public nt::FitObserver {
 public:
  static Napi::Function Init(Napi::Env env) {
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
                        InstanceAccessor<&ModelWrap::GetBusy>("busy"),
                        InstanceAccessor<&ModelWrap::GetStep>("step"),
                        InstanceAccessor<&ModelWrap::GetNumParams>("numParams"),
                        InstanceAccessor<&ModelWrap::GetNumTrainable>("numTrainable"),
                        InstanceMethod<&ModelWrap::InjectNonFinite>("injectNonFinite"),
                        InstanceAccessor<&ModelWrap::GetHyperMultiplier>("hyperMultiplier"),
                        InstanceAccessor<&ModelWrap::GetLrMultiplier>("lrMultiplier"),
                        InstanceAccessor<&ModelWrap::GetGradNorm>("lastGradNorm")});
  }

  // new NativeModel(spec, maxBatch)
  explicit ModelWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ModelWrap>(info) {
    Napi::Env env = info.Env();
    nt::ModelSpec spec;
    if (!ParseSpec(env, info[0], &spec)) return;
    int64_t max_batch;
    if (!ArgInt(info, 1, "maxBatch", &max_batch, 1, int64_t(1) << 24)) return;
    ThrowIfError(env, nt::Model::Create(spec, max_batch, &model_));
  }

  ~ModelWrap() override {
    stop_.store(true);
    Reply(true);
    if (thread_.joinable()) thread_.join();
  }

  // ---- FitObserver (training thread) ----
  bool on_epoch_begin(int epoch) override {
    auto* ev = new FitEvent();
    ev->type = FitEvent::kEpochBegin;
    ev->epoch = epoch;
    return sync_epochs_ ? RoundTrip(ev) : Post(ev);
  }
  bool on_epoch_end(const nt::EpochLogs& logs) override {
    auto* ev = new FitEvent();
    ev->type = FitEvent::kEpochEnd;
    ev->epoch = logs.epoch;
    ev->logs = logs;
    return sync_epochs_ ? RoundTrip(ev) : Post(ev);
  }
  // Epoch event without waiting (no JavaScript callback needs the model paused).
  bool Post(FitEvent* ev) {
    if (tsfn_.NonBlockingCall(ev) != napi_ok) {
      delete ev;
      stop_.store(true);
    }
    return !stop_.load();
  }
  void on_batch_end(int epoch, int64_t batch, int64_t rows, double loss, const std::vector<double>& metrics,
                    double lr) override {
    if (!want_batches_ || pending_batches_.load() > 32) return;  // JavaScript is behind: coalesce
    auto* ev = new FitEvent();
    ev->type = FitEvent::kBatchEnd;
    ev->epoch = epoch;
    ev->batch = batch;
    ev->rows = rows;
    ev->loss = loss;
    ev->lr = lr;
    ev->metrics = metrics;
    pending_batches_.fetch_add(1);
    if (tsfn_.NonBlockingCall(ev) != napi_ok) {
      pending_batches_.fetch_sub(1);
      delete ev;
      stop_.store(true);
    }
  }
  bool should_stop() override { return stop_.load(); }

  // ---- main thread, from CallJs ----
  // No exception may leave a thread-safe-function callback, and while an environment shuts down
  // (a worker terminated mid-fit) JavaScript cannot run: a failing Node-API call would make
  // node-addon-api build an Error, which itself fails and aborts the process. So first probe
  // whether JavaScript can run; if not, settle the event without touching JavaScript.
  static bool CanRunJs(napi_env env) {
    if (env == nullptr) return false;
    napi_value o, t;
    return napi_create_object(env, &o) == napi_ok && napi_get_boolean(env, true, &t) == napi_ok &&
           napi_set_named_property(env, o, "probe", t) == napi_ok;
  }

  void Deliver(Napi::Env env, Napi::Function cb, FitEvent* ev) {
    std::unique_ptr<FitEvent> own(ev);
    const bool waits = ev->type == FitEvent::kEpochBegin || ev->type == FitEvent::kEpochEnd;
    if (ev->type == FitEvent::kBatchEnd) pending_batches_.fetch_sub(1);
    const bool js = CanRunJs(env) && !cb.IsEmpty();
    if (ev->type == FitEvent::kDone) {
      Finish(js ? static_cast<napi_env>(env) : nullptr, ev);
      return;
    }
    if (!js) {
      if (waits) Reply(true);
      return;
    }
    try {
      Napi::Object o = Napi::Object::New(env);
      static const char* const kNames[] = {"epochBegin", "batchEnd", "epochEnd", "done"};
      o.Set("type", kNames[ev->type]);
      o.Set("epoch", ev->epoch);
      if (ev->type == FitEvent::kBatchEnd) {
        o.Set("batch", static_cast<double>(ev->batch));
        o.Set("size", static_cast<double>(ev->rows));
        o.Set("loss", ev->loss);
        o.Set("lr", ev->lr);
        o.Set("metrics", ToArray(env, ev->metrics));
      }
      if (ev->type == FitEvent::kEpochEnd) o.Set("logs", LogsToJs(env, ev->logs));
      napi_value arg = o, result, recv;
      napi_get_undefined(env, &recv);
      if (napi_call_function(env, recv, cb, 1, &arg, &result) != napi_ok) {
        // The TypeScript handler catches its callbacks' errors; anything else must not stall.
        bool pending = false;
        if (napi_is_exception_pending(env, &pending) == napi_ok && pending) {
          napi_value ex;
          napi_get_and_clear_last_exception(env, &ex);
        }
        if (waits) Reply(true);
      }
    } catch (const Napi::Error&) {
      if (waits) Reply(true);
    } catch (const std::exception&) {
      if (waits) Reply(true);
    }
  }

 private:
  bool RoundTrip(FitEvent* ev) {
    {
      std::lock_guard<std::mutex> lk(mu_);
      reply_ready_ = false;
      paused_ = true;
    }
    if (tsfn_.BlockingCall(ev) != napi_ok) {
      delete ev;
      std::lock_guard<std::mutex> lk(mu_);
      paused_ = false;
      stop_.store(true);
      return false;
    }
    std::unique_lock<std::mutex> lk(mu_);
    cv_.wait(lk, [&] { return reply_ready_ && paused_jobs_ == 0; });
    paused_ = false;
    return !reply_stop_ && !stop_.load();
  }

  // Answers the waiting training thread. paused_ is cleared here, under the lock, so no
  // paused-only operation can start once the thread may run again.
  void Reply(bool stop) {
    {
      std::lock_guard<std::mutex> lk(mu_);
      reply_ready_ = true;
      reply_stop_ = stop;
      paused_ = false;
    }
    cv_.notify_all();
  }

  bool CheckIdle(Napi::Env env, bool allow_paused = false) {
    if (!model_) {
      ThrowError(env, "ERR_NT_INVALID_STATE", "The model was not built");
      return false;
    }
    if (busy_) {
      if (allow_paused) {
        std::lock_guard<std::mutex> lk(mu_);
        if (paused_ && paused_jobs_ == 0) return true;  // one paused-time job at a time
      }
      ThrowError(env, "ERR_NT_BUSY", "The model is busy with a running fit, evaluate or predict; wait for it to finish");
      return false;
    }
    return true;
  }

  void Pin(const std::vector<NativeBuffer*>& bufs) {
    for (NativeBuffer* b : bufs) {
      b->pin();
      refs_.push_back(Napi::Persistent(b->Value()));
    }
    pinned_ = bufs;
  }
  void Unpin() {
    for (NativeBuffer* b : pinned_) b->unpin();
    pinned_.clear();
    refs_.clear();
  }

  // Settles fit's promise with raw Node-API calls whose failures are ignored (see Deliver).
  void Finish(napi_env env, FitEvent* ev) {
    if (thread_.joinable()) thread_.join();
    Unpin();
    busy_ = false;
    if (env != nullptr && deferred_ != nullptr) {
      napi_value value = nullptr;
      bool ok = false;
      if (ev->status.ok()) {
        napi_value epochs, stopped;
        ok = napi_create_object(env, &value) == napi_ok && napi_create_int32(env, ev->epochs_done, &epochs) == napi_ok &&
             napi_get_boolean(env, stop_.load(), &stopped) == napi_ok &&
             napi_set_named_property(env, value, "epochs", epochs) == napi_ok &&
             napi_set_named_property(env, value, "stopped", stopped) == napi_ok;
        if (ok) napi_resolve_deferred(env, deferred_, value);
      } else {
        napi_value msg, code;
        const char* code_name = nt::status_code_name(ev->status.code());
        ok = napi_create_string_utf8(env, ev->status.message().c_str(), NAPI_AUTO_LENGTH, &msg) == napi_ok &&
             napi_create_string_utf8(env, code_name, NAPI_AUTO_LENGTH, &code) == napi_ok &&
             napi_create_error(env, nullptr, msg, &value) == napi_ok &&
             napi_set_named_property(env, value, "code", code) == napi_ok;
        if (ok) napi_reject_deferred(env, deferred_, value);
      }
      bool pending = false;
      if (!ok && napi_is_exception_pending(env, &pending) == napi_ok && pending) {
        napi_value ex;
        napi_get_and_clear_last_exception(env, &ex);
      }
    }
    deferred_ = nullptr;
    self_.Reset();
  }

  Napi::Value ParamInfo(const Napi::CallbackInfo& info) {
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

  static Napi::Value CopyOut(Napi::Env env, const float* p, size_t n) {
    Napi::Float32Array a = Napi::Float32Array::New(env, n);
    if (n) std::memcpy(a.Data(), p, n * sizeof(float));
    return a;
  }

  static bool CopyIn(const Napi::CallbackInfo& info, size_t i, const char* name, float* dst, size_t n) {
    Napi::Env env = info.Env();
    if (!info[i].IsTypedArray() || info[i].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
      ThrowError(env, "ERR_NT_INVALID_ARGUMENT", std::string("Expected a Float32Array for ") + name, true);
      return false;
    }
    Napi::Float32Array a = info[i].As<Napi::Float32Array>();
    if (a.ElementLength() != n) {
      ThrowError(env, "ERR_NT_INVALID_ARGUMENT", std::string("Expected ") + std::to_string(n) + " values for " + name +
                                                     " but received " + std::to_string(a.ElementLength()));
      return false;
    }
    if (n) std::memcpy(dst, a.Data(), n * sizeof(float));
    return true;
  }

  Napi::Value ReadParams(const Napi::CallbackInfo& info) {
    if (!CheckIdle(info.Env(), true)) return info.Env().Undefined();
    return CopyOut(info.Env(), model_->arena(), static_cast<size_t>(model_->num_params()));
  }
  void WriteParams(const Napi::CallbackInfo& info) {
    if (!CheckIdle(info.Env(), true)) return;
    if (CopyIn(info, 0, "params", model_->arena(), static_cast<size_t>(model_->num_params()))) RefreshSnapshot();
  }
  // Weights or state written by a callback while training is paused become the divergence
  // guard's "last good" state, so a later recovery does not undo them.
  void RefreshSnapshot() {
    if (model_->has_snapshot()) model_->take_snapshot();
  }
  Napi::Value ReadGrads(const Napi::CallbackInfo& info) {
    if (!CheckIdle(info.Env(), true)) return info.Env().Undefined();
    return CopyOut(info.Env(), model_->grads(), static_cast<size_t>(model_->num_trainable()));
  }
  // {step, m, v, vmax} (empty arrays where the optimizer keeps no such state)
  Napi::Value ReadState(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!CheckIdle(env, true)) return env.Undefined();
    Napi::Object o = Napi::Object::New(env);
    o.Set("step", static_cast<double>(model_->step_count()));
    const char* names[] = {"m", "v", "vmax"};
    for (int i = 0; i < 3; ++i) o.Set(names[i], CopyOut(env, model_->state(i).data(), model_->state(i).size()));
    const nt::Model::HyperState h = model_->hyper_state();
    Napi::Float64Array hs = Napi::Float64Array::New(env, 3);
    hs[0] = h.mult;
    hs[1] = h.have_dir ? 1.0 : 0.0;
    hs[2] = h.dir_norm;
    o.Set("hyper", hs);
    o.Set("hyperDir", CopyOut(env, model_->hyper_dir().data(), model_->hyper_dir().size()));
    return o;
  }
  void WriteState(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!CheckIdle(env, true)) return;
    if (!info[0].IsObject()) {
      ThrowError(env, "ERR_NT_INVALID_ARGUMENT", "Expected an object for state", true);
      return;
    }
    Napi::Object o = info[0].As<Napi::Object>();
    const char* names[] = {"m", "v", "vmax"};
    for (int i = 0; i < 3; ++i) {
      Napi::Value v = o.Get(names[i]);
      if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array ||
          v.As<Napi::Float32Array>().ElementLength() != model_->state(i).size()) {
        ThrowError(env, "ERR_NT_INVALID_ARGUMENT",
                   std::string("Expected a Float32Array of ") + std::to_string(model_->state(i).size()) +
                       " values for state." + names[i] + " (state saved for another optimizer or model?)");
        return;
      }
    }
    const double step = NumOr(o, "step", 0);
    if (!(step >= 0) || step != static_cast<double>(static_cast<int64_t>(step))) {
      ThrowError(env, "ERR_NT_INVALID_ARGUMENT", "Expected a non-negative integer for state.step");
      return;
    }
    // Optional hypergradient state (absent in states saved without it: start fresh).
    Napi::Value hv = o.Get("hyper"), dv = o.Get("hyperDir");
    nt::Model::HyperState h;
    const bool has_hyper = hv.IsTypedArray() && hv.As<Napi::TypedArray>().TypedArrayType() == napi_float64_array &&
                           hv.As<Napi::Float64Array>().ElementLength() == 3;
    if (has_hyper) {
      Napi::Float64Array ha = hv.As<Napi::Float64Array>();
      h.mult = ha[0];
      h.have_dir = ha[1] != 0.0;
      h.dir_norm = ha[2];
      if (!(h.mult >= 0) || !std::isfinite(h.mult) || !std::isfinite(h.dir_norm)) {
        ThrowError(env, "ERR_NT_INVALID_ARGUMENT", "Expected finite values for state.hyper");
        return;
      }
      if (h.have_dir && (!dv.IsTypedArray() || dv.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array ||
                         dv.As<Napi::Float32Array>().ElementLength() != model_->hyper_dir().size())) {
        ThrowError(env, "ERR_NT_INVALID_ARGUMENT",
                   "Expected a Float32Array of " + std::to_string(model_->hyper_dir().size()) + " values for state.hyperDir");
        return;
      }
    }
    for (int i = 0; i < 3; ++i) {
      Napi::Float32Array a = o.Get(names[i]).As<Napi::Float32Array>();
      if (a.ElementLength()) std::memcpy(model_->state(i).data(), a.Data(), a.ElementLength() * sizeof(float));
    }
    if (has_hyper && h.have_dir) {
      Napi::Float32Array a = dv.As<Napi::Float32Array>();
      if (a.ElementLength()) std::memcpy(model_->hyper_dir().data(), a.Data(), a.ElementLength() * sizeof(float));
    }
    model_->set_hyper_state(h);
    model_->set_step_count(static_cast<int64_t>(step));
    RefreshSnapshot();
  }
  void SetOptimizer(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!CheckIdle(env, true)) return;
    nt::OptimizerSpec o;
    if (!ParseOptimizer(env, info[0], &o)) return;
    const bool reset = info.Length() > 1 && info[1].IsBoolean() && info[1].As<Napi::Boolean>().Value();
    if (!ThrowIfError(env, model_->set_optimizer(o, reset))) RefreshSnapshot();
  }
  void ResetOptimizer(const Napi::CallbackInfo& info) {
    if (!CheckIdle(info.Env(), true)) return;
    model_->reset_optimizer_state();
    RefreshSnapshot();
  }
  void SetLrMultiplier(const Napi::CallbackInfo& info) {
    if (!CheckIdle(info.Env(), true)) return;
    double m;
    if (!ArgDouble(info, 0, "multiplier", &m)) return;
    if (!(m >= 0) || !std::isfinite(m)) {
      ThrowError(info.Env(), "ERR_NT_INVALID_ARGUMENT", "Expected a finite multiplier >= 0");
      return;
    }
    model_->set_lr_multiplier(m);
  }
  // groupLr(group, step) -> the scheduled rate (before the multiplier)
  Napi::Value GroupLr(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!model_) return env.Undefined();
    int64_t g, s;
    if (!ArgInt(info, 0, "group", &g, 0, 1 << 20) || !ArgInt(info, 1, "step", &s)) return env.Undefined();
    return Napi::Number::New(env, model_->group_lr(static_cast<int>(g), s));
  }

  // fit(x, y, rows, cols, valX|null, valY|null, valRows, config, onEvent) -> Promise<{epochs, stopped}>
  Napi::Value Fit(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!CheckIdle(env)) return env.Undefined();
    int64_t rows, cols, vrows;
    if (!ArgInt(info, 2, "rows", &rows, 1) || !ArgInt(info, 3, "cols", &cols, 1) || !ArgInt(info, 6, "valRows", &vrows, 0))
      return env.Undefined();
    std::vector<NativeBuffer*> used;
    nt::DataView train;
    if (!ParseData(env, info[0], info[1], rows, cols, "train", &train, &used)) return env.Undefined();
    nt::FitConfig cfg;
    if (!info[4].IsNull() && !info[4].IsUndefined()) {
      if (!ParseData(env, info[4], info[5], vrows, cols, "validation", &cfg.val, &used)) return env.Undefined();
      cfg.has_val = true;
    }
    if (!info[7].IsObject() || !info[8].IsFunction()) {
      ThrowError(env, "ERR_NT_INVALID_ARGUMENT", "Expected a config object and an event callback", true);
      return env.Undefined();
    }
    Napi::Object c = info[7].As<Napi::Object>();
    cfg.epochs = static_cast<int>(NumOr(c, "epochs", 1));
    cfg.initial_epoch = static_cast<int>(NumOr(c, "initialEpoch", 0));
    cfg.batch_size = static_cast<int64_t>(NumOr(c, "batchSize", 32));
    cfg.shuffle = BoolOr(c, "shuffle", true);
    cfg.seed = static_cast<uint64_t>(NumOr(c, "seed", 0));
    cfg.val_batch_size = static_cast<int64_t>(NumOr(c, "valBatchSize", static_cast<double>(model_->max_batch())));
    if (cfg.epochs < 1 || cfg.initial_epoch < 0 || cfg.val_batch_size < 1) {
      ThrowError(env, "ERR_NT_INVALID_ARGUMENT", "Expected epochs >= 1, initialEpoch >= 0 and valBatchSize >= 1");
      return env.Undefined();
    }
    if (ThrowIfError(env, nt::validate_data(*model_, train, "training"))) return env.Undefined();
    if (cfg.has_val && ThrowIfError(env, nt::validate_data(*model_, cfg.val, "validation"))) return env.Undefined();
    if (cfg.batch_size < 1 || cfg.batch_size > model_->max_batch()) {
      ThrowError(env, "ERR_NT_INVALID_ARGUMENT", "Expected batchSize in [1, " + std::to_string(model_->max_batch()) + "]");
      return env.Undefined();
    }
    cfg.guard = BoolOr(c, "guard", false);
    cfg.guard_max_retries = static_cast<int>(NumOr(c, "guardMaxRetries", 5));
    cfg.guard_explode = NumOr(c, "guardExplodeFactor", 0);
    cfg.guard_snapshot_every = static_cast<int64_t>(NumOr(c, "guardSnapshotEvery", 20));
    if (cfg.guard_max_retries < 0 || !(cfg.guard_explode >= 0) || cfg.guard_snapshot_every < 1) {
      ThrowError(env, "ERR_NT_INVALID_ARGUMENT", "Expected guardMaxRetries >= 0, guardExplodeFactor >= 0, guardSnapshotEvery >= 1");
      return env.Undefined();
    }
    want_batches_ = BoolOr(c, "batchEvents", true);
    sync_epochs_ = BoolOr(c, "syncEpochs", true);
    train_ = train;
    cfg_ = cfg;
    stop_.store(false);
    pending_batches_.store(0);
    napi_value promise_value;
    if (napi_create_promise(env, &deferred_, &promise_value) != napi_ok) {
      ThrowError(env, "ERR_NT_INTERNAL", "Could not create a promise");
      return env.Undefined();
    }
    tsfn_ = Tsfn::New(env, info[8].As<Napi::Function>(), "nodetrain.fit", 0, 1, this);
    busy_ = true;
    Pin(used);
    self_ = Napi::Persistent(Value());
    Napi::Value promise(env, promise_value);
    thread_ = std::thread([this] {
      auto* done = new FitEvent();
      done->type = FitEvent::kDone;
      int epochs = 0;
      try {
        done->status = nt::fit(*model_, train_, cfg_, *this, &epochs);
      } catch (const std::exception& e) {
        done->status = nt::Status(nt::StatusCode::kInternal, e.what());
      }
      done->epochs_done = epochs;
      Tsfn t = tsfn_;
      if (t.BlockingCall(done) != napi_ok) delete done;  // the environment is shutting down
      t.Release();
    });
    return promise;
  }

  // resumeFit(stop): answers the epoch event the training thread is waiting on.
  void ResumeFit(const Napi::CallbackInfo& info) {
    const bool stop = info.Length() > 0 && info[0].IsBoolean() && info[0].As<Napi::Boolean>().Value();
    Reply(stop);
  }
  void Stop(const Napi::CallbackInfo&) { stop_.store(true); }

  // A promise-returning worker over plain C++ work.
  class Worker : public Napi::AsyncWorker {
   public:
    Worker(Napi::Env env, ModelWrap* owner, napi_deferred deferred, bool during_pause, std::function<nt::Status()> work,
           std::function<Napi::Value(Napi::Env)> result)
        : Napi::AsyncWorker(env, "nodetrain.worker"),
          owner_(owner),
          deferred_(deferred),
          during_pause_(during_pause),
          work_(std::move(work)),
          result_(std::move(result)) {}
    // Buffers this job uses: pinned (dispose/write throw) and referenced until it completes.
    void Pin(const std::vector<NativeBuffer*>& bufs) {
      for (NativeBuffer* b : bufs) {
        b->pin();
        refs_.push_back(Napi::Persistent(b->Value()));
      }
      pinned_ = bufs;
    }
    void Execute() override {
      try {
        status_ = work_();
      } catch (const std::bad_alloc&) {
        status_ = nt::Status(nt::StatusCode::kOutOfMemory, "Out of memory");
      }
    }
    // Settles the promise with raw Node-API calls: when a worker_thread is terminated, pending
    // work completes during its teardown, where JavaScript cannot run and node-addon-api's
    // OnOK/OnError path would throw a C++ exception out of the completion callback.
    void OnWorkComplete(Napi::Env env, napi_status status) override {
      for (NativeBuffer* b : pinned_) b->unpin();
      pinned_.clear();
      refs_.clear();
      if (during_pause_) {
        owner_->PausedJobDone();  // the paused training thread may resume once this is 0
      } else {
        owner_->busy_ = false;
        owner_->self_.Reset();
      }
      if (status == napi_cancelled || !CanRunJs(env)) return;
      Napi::HandleScope scope(env);
      napi_value value = nullptr;
      bool ok = false;
      try {
        if (status_.ok()) {
          value = result_(env);
          ok = napi_resolve_deferred(env, deferred_, value) == napi_ok;
        } else {
          napi_value msg, code;
          ok = napi_create_string_utf8(env, status_.message().c_str(), NAPI_AUTO_LENGTH, &msg) == napi_ok &&
               napi_create_string_utf8(env, nt::status_code_name(status_.code()), NAPI_AUTO_LENGTH, &code) == napi_ok &&
               napi_create_error(env, nullptr, msg, &value) == napi_ok &&
               napi_set_named_property(env, value, "code", code) == napi_ok &&
               napi_reject_deferred(env, deferred_, value) == napi_ok;
        }
      } catch (const Napi::Error&) {
        ok = false;
      }
      bool pending = false;
      if (!ok && napi_is_exception_pending(env, &pending) == napi_ok && pending) {
        napi_value ex;
        napi_get_and_clear_last_exception(env, &ex);
      }
    }

   private:
    ModelWrap* owner_;
    napi_deferred deferred_;
    bool during_pause_;
    std::vector<NativeBuffer*> pinned_;
    std::vector<Napi::ObjectReference> refs_;
    std::function<nt::Status()> work_;
    std::function<Napi::Value(Napi::Env)> result_;
    nt::Status status_;
  };

  Napi::Value Launch(Napi::Env env, const std::vector<NativeBuffer*>& used, std::function<nt::Status()> work,
                     std::function<Napi::Value(Napi::Env)> result) {
    napi_deferred deferred;
    napi_value promise;
    if (napi_create_promise(env, &deferred, &promise) != napi_ok) {
      ThrowError(env, "ERR_NT_INTERNAL", "Could not create a promise");
      return env.Undefined();
    }
    // While a fit is paused at an epoch boundary, evaluate/predict may run (callbacks use them);
    // the training thread does not resume before they finish.
    const bool during_pause = busy_;
    auto* w = new Worker(env, this, deferred, during_pause, std::move(work), std::move(result));
    w->Pin(used);
    if (during_pause) {
      std::lock_guard<std::mutex> lk(mu_);
      ++paused_jobs_;
    } else {
      busy_ = true;
      self_ = Napi::Persistent(Value());
    }
    w->Queue();
    return Napi::Value(env, promise);
  }

  void PausedJobDone() {
    {
      std::lock_guard<std::mutex> lk(mu_);
      --paused_jobs_;
    }
    cv_.notify_all();
  }

  // evaluate(x, y, rows, cols, batchSize) -> Promise<{loss, metrics}>
  Napi::Value Evaluate(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!CheckIdle(env, true)) return env.Undefined();
    int64_t rows, cols, bs;
    if (!ArgInt(info, 2, "rows", &rows, 1) || !ArgInt(info, 3, "cols", &cols, 1) ||
        !ArgInt(info, 4, "batchSize", &bs, 1))
      return env.Undefined();
    std::vector<NativeBuffer*> used;
    auto d = std::make_shared<nt::DataView>();
    if (!ParseData(env, info[0], info[1], rows, cols, "data", d.get(), &used)) return env.Undefined();
    if (ThrowIfError(env, nt::validate_data(*model_, *d, "evaluation"))) return env.Undefined();
    auto loss = std::make_shared<double>(0);
    auto metrics = std::make_shared<std::vector<double>>();
    nt::Model* m = model_.get();
    return Launch(
        env, used, [m, d, bs, loss, metrics] { return nt::evaluate(*m, *d, bs, loss.get(), metrics.get()); },
        [loss, metrics](Napi::Env e) -> Napi::Value {
          Napi::Object o = Napi::Object::New(e);
          o.Set("loss", *loss);
          o.Set("metrics", ToArray(e, *metrics));
          return o;
        });
  }

  // predict(x, rows, cols, batchSize, out) -> Promise<void>
  Napi::Value Predict(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!CheckIdle(env, true)) return env.Undefined();
    int64_t rows, cols, bs;
    if (!ArgInt(info, 1, "rows", &rows, 1) || !ArgInt(info, 2, "cols", &cols, 1) ||
        !ArgInt(info, 3, "batchSize", &bs, 1))
      return env.Undefined();
    if (cols != model_->input_width()) {
      ThrowError(env, "ERR_NT_INVALID_ARGUMENT", "Expected " + std::to_string(model_->input_width()) +
                                                     " features but received " + std::to_string(cols));
      return env.Undefined();
    }
    const int64_t x_size = Mul(rows, cols), out_size = Mul(rows, model_->output_width());
    if (x_size < 0 || out_size < 0) {
      ThrowError(env, "ERR_NT_INVALID_ARGUMENT", "Expected rows to fit in memory");
      return env.Undefined();
    }
    NativeBuffer *xb, *ob;
    if (!ArgBuffer(info, 0, "x", &xb) || !CheckBuffer(env, xb, "x", DType::kFloat32, x_size)) return env.Undefined();
    if (!ArgBuffer(info, 4, "out", &ob) || !CheckBuffer(env, ob, "out", DType::kFloat32, out_size)) return env.Undefined();
    std::vector<NativeBuffer*> used{xb, ob};
    nt::Model* m = model_.get();
    const float* x = xb->f32();
    float* out = ob->f32();
    return Launch(
        env, used, [m, x, rows, bs, out] { return nt::predict(*m, x, rows, bs, out); },
        [](Napi::Env e) -> Napi::Value { return e.Undefined(); });
  }

  // trainBatch(x, y, rows, cols) -> Promise<{loss, metrics, lr}>
  Napi::Value TrainBatch(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!CheckIdle(env)) return env.Undefined();
    int64_t rows, cols;
    if (!ArgInt(info, 2, "rows", &rows, 1, model_->max_batch()) || !ArgInt(info, 3, "cols", &cols, 1))
      return env.Undefined();
    std::vector<NativeBuffer*> used;
    auto d = std::make_shared<nt::DataView>();
    if (!ParseData(env, info[0], info[1], rows, cols, "batch", d.get(), &used)) return env.Undefined();
    if (ThrowIfError(env, nt::validate_data(*model_, *d, "batch"))) return env.Undefined();
    auto stats = std::make_shared<nt::BatchStats>();
    auto lr = std::make_shared<double>(0);
    nt::Model* m = model_.get();
    return Launch(
        env, used, [m, d, stats, lr] { return m->train_step(d->x, d->y, d->labels, d->rows, stats.get(), lr.get()); },
        [stats, lr](Napi::Env e) -> Napi::Value {
          Napi::Object o = Napi::Object::New(e);
          const double rows = static_cast<double>(stats->rows);
          o.Set("loss", stats->loss_sum / rows);
          std::vector<double> ms(stats->metric_sums.size());
          for (size_t i = 0; i < ms.size(); ++i) ms[i] = stats->metric_sums[i] / rows;
          o.Set("metrics", ToArray(e, ms));
          o.Set("lr", *lr);
          return o;
        });
  }

  Napi::Value GetBusy(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), busy_); }
  Napi::Value GetStep(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), model_ ? static_cast<double>(model_->step_count()) : 0);
  }
  Napi::Value GetNumParams(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), model_ ? static_cast<double>(model_->num_params()) : 0);
  }
  Napi::Value GetNumTrainable(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), model_ ? static_cast<double>(model_->num_trainable()) : 0);
  }
  Napi::Value GetHyperMultiplier(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), model_ ? model_->hyper_multiplier() : 1);
  }
  Napi::Value GetLrMultiplier(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), model_ ? model_->lr_multiplier() : 1);
  }
  // injectNonFinite(steps: number[]): test hook, the gradients of those optimizer steps become NaN.
  void InjectNonFinite(const Napi::CallbackInfo& info) {
    if (!CheckIdle(info.Env())) return;
    if (!info[0].IsArray()) {
      ThrowError(info.Env(), "ERR_NT_INVALID_ARGUMENT", "Expected an array of steps", true);
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
  Napi::Value GetGradNorm(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), model_ ? model_->last_grad_norm() : 0);
  }

  std::unique_ptr<nt::Model> model_;
  std::thread thread_;
  Tsfn tsfn_;
  napi_deferred deferred_ = nullptr;  // fit's promise, settled in Finish
  Napi::ObjectReference self_;
  std::vector<NativeBuffer*> pinned_;
  std::vector<Napi::ObjectReference> refs_;
  nt::DataView train_;
  nt::FitConfig cfg_;
  bool busy_ = false;
  bool want_batches_ = true;
  bool sync_epochs_ = true;
  std::atomic<bool> stop_{false};
  std::atomic<int> pending_batches_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  bool paused_ = false, reply_ready_ = false, reply_stop_ = false;
  int paused_jobs_ = 0;  // evaluate/predict jobs started while a fit was paused (guarded by mu_)
};

void CallJs(Napi::Env env, Napi::Function cb, ModelWrap* ctx, FitEvent* ev) {
  if (ctx == nullptr || ev == nullptr) {
    delete ev;
    return;
  }
  ctx->Deliver(env, cb, ev);
}

}  // namespace

void InitEngine(Napi::Env env, Napi::Object exports) {
  Napi::Function f = ModelWrap::Init(env);
  env.GetInstanceData<AddonData>()->model = Napi::Persistent(f);
  exports.Set("NativeModel", f);
}

}  // namespace ntb
