// Placeholder registration; the reduce bindings are added here.
#include "common.h"

namespace ntb {
void InitReduce(Napi::Env, Napi::Object) {}
}  // namespace ntb
