// NativeModel: the JavaScript object over an nt::Model. Its methods are defined by job:
//   engine_binding.cc  construction, accessors, optimizer configuration, registration;
//   fit_binding.cc     fit() on its own thread and the thread-safe-function event protocol;
//   state_binding.cc   parameters, gradients and optimizer state in and out;
//   workers_binding.cc evaluate/predict/trainBatch as promise-returning AsyncWorkers.
// fit() reports through one thread-safe function, in order: epoch begin/end events (the thread
// waits for resumeFit() so callbacks see a consistent model), batch events (never waited for;
// coalesced when JavaScript falls behind) and a final `done` that settles the promise. Buffers in
// use are pinned (dispose() throws) and referenced.
// Concurrency: evaluate/predict never wait and never make the model busy: each reads the serving
// snapshot current when it starts (nt::Model::serving) with its own Scratch, also while fit or
// trainBatch runs. fit and trainBatch are exclusive (busy_); so are the writers (weights, state,
// optimizer), which are allowed only while idle or while a fit is paused at an epoch boundary.
// Every write of the weights outside a running fit publishes a new snapshot at once.
#pragma once
#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "common.h"
#include "engine/model.h"
#include "engine/trainer.h"

namespace ntb {

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
  static Napi::Function Init(Napi::Env env);
  explicit ModelWrap(const Napi::CallbackInfo& info);
  ~ModelWrap() override;

  // ---- FitObserver (training thread; fit_binding.cc) ----
  bool on_epoch_begin(int epoch) override;
  bool on_epoch_end(const nt::EpochLogs& logs) override;
  void on_batch_end(int epoch, int64_t batch, int64_t rows, double loss, const std::vector<double>& metrics,
                    double lr) override;
  bool should_stop() override { return stop_.load(); }

  // ---- main thread, from CallJs (fit_binding.cc) ----
  static bool CanRunJs(napi_env env);
  void Deliver(Napi::Env env, Napi::Function cb, FitEvent* ev);

  class Worker;

 private:
  // engine_binding.cc
  bool CheckIdle(Napi::Env env, bool allow_paused = false);
  bool CheckBuilt(Napi::Env env);  // not disposed and built
  void Pin(const std::vector<NativeBuffer*>& bufs);
  void Unpin();
  Napi::Value ParamInfo(const Napi::CallbackInfo& info);
  void SetOptimizer(const Napi::CallbackInfo& info);
  void ResetOptimizer(const Napi::CallbackInfo& info);
  void SetLrMultiplier(const Napi::CallbackInfo& info);
  Napi::Value GroupLr(const Napi::CallbackInfo& info);
  Napi::Value GetBusy(const Napi::CallbackInfo& info);
  Napi::Value GetStep(const Napi::CallbackInfo& info);
  Napi::Value GetNumParams(const Napi::CallbackInfo& info);
  Napi::Value GetNumTrainable(const Napi::CallbackInfo& info);
  Napi::Value GetHyperMultiplier(const Napi::CallbackInfo& info);
  Napi::Value GetLrMultiplier(const Napi::CallbackInfo& info);
  Napi::Value GetGradNorm(const Napi::CallbackInfo& info);
  Napi::Value Dispose(const Napi::CallbackInfo& info);
  void Publish(const Napi::CallbackInfo& info);
  Napi::Value GetServingVersion(const Napi::CallbackInfo& info);
  Napi::Value GetNativeBytes(const Napi::CallbackInfo& info);
  Napi::Value GetDisposed(const Napi::CallbackInfo& info);
  bool Paused();
  void ReleaseMemory(Napi::Env env);
  void InjectNonFinite(const Napi::CallbackInfo& info);
  void SetDataBudget(const Napi::CallbackInfo& info);
  void UseHostDeferredUpdate(const Napi::CallbackInfo& info);

  // fit_binding.cc
  bool Post(FitEvent* ev);
  bool RoundTrip(FitEvent* ev);
  void Reply(bool stop);
  void Finish(napi_env env, FitEvent* ev);
  Napi::Value Fit(const Napi::CallbackInfo& info);
  void ResumeFit(const Napi::CallbackInfo& info);
  void Stop(const Napi::CallbackInfo& info);

  // state_binding.cc
  void RefreshSnapshot();
  Napi::Value ReadParams(const Napi::CallbackInfo& info);
  void WriteParams(const Napi::CallbackInfo& info);
  Napi::Value ReadGrads(const Napi::CallbackInfo& info);
  Napi::Value ReadState(const Napi::CallbackInfo& info);
  void WriteState(const Napi::CallbackInfo& info);

  // workers_binding.cc
  Napi::Value Launch(Napi::Env env, bool exclusive, const std::vector<NativeBuffer*>& used, std::function<nt::Status()> work,
                     std::function<Napi::Value(Napi::Env)> result);
  Napi::Value Evaluate(const Napi::CallbackInfo& info);
  Napi::Value Predict(const Napi::CallbackInfo& info);
  Napi::Value TrainBatch(const Napi::CallbackInfo& info);

  // slim_binding.cc (one-shot search: sub-networks of the plan)
  void SetActiveWidths(const Napi::CallbackInfo& info);
  Napi::Value CalibrateBatch(const Napi::CallbackInfo& info);

  std::shared_ptr<nt::Model> model_;  // shared with inference jobs in flight (they outlive dispose)
  bool disposed_ = false;
  int64_t reported_bytes_ = 0;       // reported to V8 with napi_adjust_external_memory
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
};

}  // namespace ntb
