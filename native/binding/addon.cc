// Module entry. Context-aware (Napi::Addon): every Node environment — the main thread and each
// worker_thread — gets its own AddonData; native kernels and the thread pool are process-wide.
#include "common.h"

namespace ntb {

class NodetrainAddon : public Napi::Addon<NodetrainAddon> {
 public:
  NodetrainAddon(Napi::Env env, Napi::Object exports) {
    auto* data = new AddonData();
    env.SetInstanceData<AddonData>(data);  // deleted by napi when the environment is torn down
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
  }
};

}  // namespace ntb

using NodetrainAddon = ntb::NodetrainAddon;
NODE_API_ADDON(NodetrainAddon)
