// Placeholder registration; the engine bindings are added here.
#include "common.h"

namespace ntb {
void InitEngine(Napi::Env, Napi::Object) {}
}  // namespace ntb
