// NativeModel.fit(): the training loop on its own thread and the thread-safe-function event
// protocol (see model_wrap.h).
#include <cstring>

#include "engine_spec.h"
#include "model_wrap.h"

namespace ntb {

// ---- FitObserver (training thread) ----
bool ModelWrap::on_epoch_begin(int epoch) {
  auto* ev = new FitEvent();
  ev->type = FitEvent::kEpochBegin;
  ev->epoch = epoch;
  return sync_epochs_ ? RoundTrip(ev) : Post(ev);
}

bool ModelWrap::on_epoch_end(const nt::EpochLogs& logs) {
  auto* ev = new FitEvent();
  ev->type = FitEvent::kEpochEnd;
  ev->epoch = logs.epoch;
  ev->logs = logs;
  return sync_epochs_ ? RoundTrip(ev) : Post(ev);
}

// Epoch event without waiting (no JavaScript callback needs the model paused).
bool ModelWrap::Post(FitEvent* ev) {
  if (tsfn_.NonBlockingCall(ev) != napi_ok) {
    delete ev;
    stop_.store(true);
  }
  return !stop_.load();
}

void ModelWrap::on_batch_end(int epoch, int64_t batch, int64_t rows, double loss, const std::vector<double>& metrics,
                  double lr) {
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

// ---- main thread, from CallJs ----
// No exception may leave a thread-safe-function callback, and while an environment shuts down
// (a worker terminated mid-fit) JavaScript cannot run: a failing Node-API call would make
// node-addon-api build an Error, which itself fails and aborts the process. So first probe
// whether JavaScript can run; if not, settle the event without touching JavaScript.
bool ModelWrap::CanRunJs(napi_env env) {
  if (env == nullptr) return false;
  napi_value o, t;
  return napi_create_object(env, &o) == napi_ok && napi_get_boolean(env, true, &t) == napi_ok &&
         napi_set_named_property(env, o, "probe", t) == napi_ok;
}

void ModelWrap::Deliver(Napi::Env env, Napi::Function cb, FitEvent* ev) {
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
  } catch (...) {  // no exception may leave a Node-API callback
    if (waits) Reply(true);
  }
}

bool ModelWrap::RoundTrip(FitEvent* ev) {
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
  cv_.wait(lk, [&] { return reply_ready_; });
  paused_ = false;
  return !reply_stop_ && !stop_.load();
}

// Answers the waiting training thread. paused_ is cleared here, under the lock, so no
// paused-only operation can start once the thread may run again.
void ModelWrap::Reply(bool stop) {
  {
    std::lock_guard<std::mutex> lk(mu_);
    reply_ready_ = true;
    reply_stop_ = stop;
    paused_ = false;
  }
  cv_.notify_all();
}

// Settles fit's promise with raw Node-API calls whose failures are ignored (see Deliver).
void ModelWrap::Finish(napi_env env, FitEvent* ev) {
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
  ResetQuietly(self_);
}

// fit(x, y, rows, cols, valX|null, valY|null, valRows, config, onEvent) -> Promise<{epochs, stopped}>
Napi::Value ModelWrap::Fit(const Napi::CallbackInfo& info) {
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
    ThrowError(env, nt::StatusCode::kInvalidArgumentType, "Expected a config object and an event callback");
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
    ThrowError(env, nt::StatusCode::kInvalidArgumentValue, "Expected epochs >= 1, initialEpoch >= 0 and valBatchSize >= 1");
    return env.Undefined();
  }
  if (ThrowIfError(env, nt::validate_data(*model_, train, "training"))) return env.Undefined();
  if (cfg.has_val && ThrowIfError(env, nt::validate_data(*model_, cfg.val, "validation"))) return env.Undefined();
  if (cfg.batch_size < 1 || cfg.batch_size > model_->max_batch()) {
    ThrowError(env, nt::StatusCode::kInvalidArgumentValue, "Expected batchSize in [1, " + std::to_string(model_->max_batch()) + "]");
    return env.Undefined();
  }
  // Optional per-row training weights (float32, one per training row).
  Napi::Value wv = c.Get("sampleWeights");
  if (!wv.IsUndefined() && !wv.IsNull()) {
    NativeBuffer* wb = UnwrapBuffer(env, wv, "sampleWeights");
    if (!wb || !CheckBuffer(env, wb, "sampleWeights", DType::kFloat32, rows)) return env.Undefined();
    train.weights = wb->f32();
    used.push_back(wb);
  }
  cfg.guard = BoolOr(c, "guard", false);
  cfg.guard_max_retries = static_cast<int>(NumOr(c, "guardMaxRetries", 5));
  cfg.guard_explode = NumOr(c, "guardExplodeFactor", 0);
  cfg.guard_snapshot_every = static_cast<int64_t>(NumOr(c, "guardSnapshotEvery", 20));
  cfg.publish_every = static_cast<int64_t>(NumOr(c, "publishEvery", 0));
  if (cfg.publish_every < 0) {
    ThrowError(env, nt::StatusCode::kInvalidArgumentValue, "Expected publishEvery >= 0");
    return env.Undefined();
  }
  if (cfg.guard_max_retries < 0 || !(cfg.guard_explode >= 0) || cfg.guard_snapshot_every < 1) {
    ThrowError(env, nt::StatusCode::kInvalidArgumentValue, "Expected guardMaxRetries >= 0, guardExplodeFactor >= 0, guardSnapshotEvery >= 1");
    return env.Undefined();
  }
  want_batches_ = BoolOr(c, "batchEvents", true);
  cfg.batch_events = want_batches_;
  sync_epochs_ = BoolOr(c, "syncEpochs", true);
  train_ = train;
  cfg_ = cfg;
  stop_.store(false);
  pending_batches_.store(0);
  napi_value promise_value;
  if (napi_create_promise(env, &deferred_, &promise_value) != napi_ok) {
    ThrowError(env, nt::StatusCode::kInternal, "Could not create a promise");
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
      model_->publish();  // the final weights (a stopped fit may end mid-epoch)
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
void ModelWrap::ResumeFit(const Napi::CallbackInfo& info) {
  const bool stop = info.Length() > 0 && info[0].IsBoolean() && info[0].As<Napi::Boolean>().Value();
  Reply(stop);
}

void ModelWrap::Stop(const Napi::CallbackInfo&) { stop_.store(true); }

// The thread-safe function's callback: nothing may escape it (during teardown node-addon-api
// cannot rethrow into JavaScript and the process would abort).
void CallJs(Napi::Env env, Napi::Function cb, ModelWrap* ctx, FitEvent* ev) {
  if (ctx == nullptr || ev == nullptr) {
    delete ev;
    return;
  }
  try {
    ctx->Deliver(env, cb, ev);
  } catch (...) {
  }
}

}  // namespace ntb
