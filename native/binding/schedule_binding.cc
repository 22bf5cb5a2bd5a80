// Placeholder registration; the schedule bindings are added here.
#include "common.h"

namespace ntb {
void InitSchedule(Napi::Env, Napi::Object) {}
}  // namespace ntb
