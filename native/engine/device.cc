// Device selection for a plan: which Backend table a model's buffers and kernels use. The CUDA
// table exists only in builds with the CUDA backend (NT_WITH_CUDA, npm run build:cuda).
#include <string>

#include "engine/model.h"
#if defined(NT_WITH_CUDA)
#include "cuda/cuda_backend.h"
#endif

namespace nt {

const Backend* device_backend(Device d, std::string* why) {
  if (d == Device::kCpu) return &cpu_backend();
#if defined(NT_WITH_CUDA)
  std::string reason;
  if (!cuda::available(&reason)) {
    if (why) *why = "this machine lacks CUDA (" + reason + ")";
    return nullptr;
  }
  return cuda::backend();
#else
  if (why) *why = "this build lacks CUDA (build it with `npm run build:cuda`)";
  return nullptr;
#endif
}

}  // namespace nt
