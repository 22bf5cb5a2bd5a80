// NativeModel.evaluate / predict / trainBatch: promise-returning AsyncWorkers over plain C++ work
// (buffers pinned and referenced until the work completes). evaluate and predict are inference
// jobs: any number run at once, each over the serving snapshot current when it was launched and
// its own Scratch; they share the model through a shared_ptr, so dispose() frees the plan when the
// last one finishes. trainBatch is exclusive (the model is busy until it completes).
#include <memory>

#include "engine_spec.h"
#include "model_wrap.h"

namespace ntb {

// A promise-returning worker over plain C++ work.
class ModelWrap::Worker : public Napi::AsyncWorker {
 public:
  Worker(Napi::Env env, ModelWrap* owner, napi_deferred deferred, bool exclusive, std::function<nt::Status()> work,
         std::function<Napi::Value(Napi::Env)> result)
      : Napi::AsyncWorker(env, "nodetrain.worker"),
        owner_(owner),
        deferred_(deferred),
        exclusive_(exclusive),
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
  // node-addon-api deletes a worker in its own OnWorkComplete, which this one replaces: without
  // Destroy() every job (and the model and snapshot its work holds) would leak.
  void OnWorkComplete(Napi::Env env, napi_status status) override {
    Settle(env, status);
    Destroy();
  }

 private:
  void Settle(Napi::Env env, napi_status status) {
    for (NativeBuffer* b : pinned_) b->unpin();
    pinned_.clear();
    try {
      refs_.clear();
    } catch (...) {
    }
    if (exclusive_) {
      owner_->busy_ = false;
      ResetQuietly(owner_->self_);
    }
    if (status == napi_cancelled || !CanRunJs(env)) return;
    napi_value value = nullptr;
    bool ok = false;
    try {
      Napi::HandleScope scope(env);
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
    } catch (...) {  // no exception may leave the completion callback
      ok = false;
    }
    bool pending = false;
    if (!ok && napi_is_exception_pending(env, &pending) == napi_ok && pending) {
      napi_value ex;
      napi_get_and_clear_last_exception(env, &ex);
    }
  }

  ModelWrap* owner_;
  napi_deferred deferred_;
  bool exclusive_;
  std::vector<NativeBuffer*> pinned_;
  std::vector<Napi::ObjectReference> refs_;
  std::function<nt::Status()> work_;
  std::function<Napi::Value(Napi::Env)> result_;
  nt::Status status_;
};


Napi::Value ModelWrap::Launch(Napi::Env env, bool exclusive, const std::vector<NativeBuffer*>& used,
                              std::function<nt::Status()> work, std::function<Napi::Value(Napi::Env)> result) {
  napi_deferred deferred;
  napi_value promise;
  if (napi_create_promise(env, &deferred, &promise) != napi_ok) {
    ThrowError(env, nt::StatusCode::kInternal, "Could not create a promise");
    return env.Undefined();
  }
  auto* w = new Worker(env, this, deferred, exclusive, std::move(work), std::move(result));
  w->Pin(used);
  if (exclusive) {
    busy_ = true;
    self_ = Napi::Persistent(Value());
  }
  w->Queue();
  return Napi::Value(env, promise);
}

// evaluate(x, y, rows, cols, batchSize) -> Promise<{loss, metrics}>
Napi::Value ModelWrap::Evaluate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!CheckBuilt(env)) return env.Undefined();
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
  std::shared_ptr<const nt::Model> m = model_;
  std::shared_ptr<const nt::DeviceArray> snap = model_->serving();
  return Launch(
      env, false, used,
      [m, snap, d, bs, loss, metrics] { return nt::evaluate(*m, snap->data(), *d, bs, loss.get(), metrics.get()); },
      [loss, metrics](Napi::Env e) -> Napi::Value {
        Napi::Object o = Napi::Object::New(e);
        o.Set("loss", *loss);
        o.Set("metrics", ToArray(e, *metrics));
        return o;
      });
}

// predict(x, rows, cols, batchSize, out) -> Promise<void>
Napi::Value ModelWrap::Predict(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!CheckBuilt(env)) return env.Undefined();
  int64_t rows, cols, bs;
  if (!ArgInt(info, 1, "rows", &rows, 1) || !ArgInt(info, 2, "cols", &cols, 1) ||
      !ArgInt(info, 3, "batchSize", &bs, 1))
    return env.Undefined();
  if (cols != model_->input_width()) {
    ThrowError(env, nt::StatusCode::kInvalidArgumentValue, "Expected " + std::to_string(model_->input_width()) +
                                                   " features but received " + std::to_string(cols));
    return env.Undefined();
  }
  const int64_t x_size = Mul(rows, cols), out_size = Mul(rows, model_->output_width());
  if (x_size < 0 || out_size < 0) {
    ThrowError(env, nt::StatusCode::kInvalidArgumentValue, "Expected rows to fit in memory");
    return env.Undefined();
  }
  NativeBuffer *xb, *ob;
  if (!ArgBuffer(info, 0, "x", &xb) || !CheckBuffer(env, xb, "x", DType::kFloat32, x_size)) return env.Undefined();
  if (!ArgBuffer(info, 4, "out", &ob) || !CheckBuffer(env, ob, "out", DType::kFloat32, out_size)) return env.Undefined();
  std::vector<NativeBuffer*> used{xb, ob};
  std::shared_ptr<const nt::Model> m = model_;
  std::shared_ptr<const nt::DeviceArray> snap = model_->serving();
  const float* x = xb->f32();
  float* out = ob->f32();
  return Launch(
      env, false, used, [m, snap, x, rows, bs, out] { return nt::predict(*m, snap->data(), x, rows, bs, out); },
      [](Napi::Env e) -> Napi::Value { return e.Undefined(); });
}

// trainBatch(x, y, rows, cols) -> Promise<{loss, metrics, lr}>
Napi::Value ModelWrap::TrainBatch(const Napi::CallbackInfo& info) {
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
      env, true, used,
      [m, d, stats, lr] {
        nt::Status st = m->train_step_host(d->x, d->y, d->labels, d->rows, stats.get(), lr.get());
        if (st.ok()) m->publish();  // inference serves the new weights from now on
        return st;
      },
      [stats, lr](Napi::Env e) -> Napi::Value {
        Napi::Object o = Napi::Object::New(e);
        const double rows = static_cast<double>(stats->rows);
        o.Set("loss", stats->loss_sum / rows);
        const std::vector<double> ms = stats->values();
        o.Set("metrics", ToArray(e, ms));
        o.Set("lr", *lr);
        return o;
      });
}

}  // namespace ntb
