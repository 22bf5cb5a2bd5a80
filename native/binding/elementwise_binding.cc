// Placeholder registration; the elementwise bindings are added here.
#include "common.h"

namespace ntb {
void InitElementwise(Napi::Env, Napi::Object) {}
}  // namespace ntb
