// Placeholder registration; the optim bindings are added here.
#include "common.h"

namespace ntb {
void InitOptim(Napi::Env, Napi::Object) {}
}  // namespace ntb
