// Placeholder registration; the gemm bindings are added here.
#include "common.h"

namespace ntb {
void InitGemm(Napi::Env, Napi::Object) {}
}  // namespace ntb
