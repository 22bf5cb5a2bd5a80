// Module entry. Context-aware: every Node environment — the main thread and each worker_thread —
// runs Init and gets its own AddonData (Node-API instance data); no JavaScript value is ever kept
// in a static. Native kernels and the thread pool are process-wide.
#include "common.h"

namespace ntb {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  auto* data = new AddonData();
  env.SetInstanceData<AddonData>(data);  // deleted by Node-API when the environment is torn down
  Napi::Function nb = NativeBuffer::Init(env);
  data->native_buffer = Napi::Persistent(nb);
  exports.Set("NativeBuffer", nb);
  InitRuntime(env, exports);
  InitGemm(env, exports);
  InitReduce(env, exports);
  InitElementwise(env, exports);
  InitOptim(env, exports);
  InitEngine(env, exports);
  InitSchedule(env, exports);
  InitEnums(env, exports);
  InitCuda(env, exports);
#if defined(NT_BENCH)
  InitBench(env, exports);
#endif
  return exports;
}

}  // namespace ntb

static Napi::Object InitNodetrain(Napi::Env env, Napi::Object exports) { return ntb::Init(env, exports); }

NODE_API_MODULE(nodetrain, InitNodetrain)
