// JS plain-data learning-rate schedules -> nt::ScheduleSpec (native/engine/schedule.h).
#pragma once
#include <napi.h>

#include "engine/schedule.h"

namespace ntb {

// Converts a schedule spec made by lib/schedules (a frozen object {type: '...', ...}, children
// nested under `schedules`) or a plain number (a constant lr) into *out, then runs
// nt::validate_schedule. On failure throws a JS Error (.code ERR_NT_INVALID_ARGUMENT) whose message
// names `name` and the offending field, and returns false.
bool ParseSchedule(Napi::Env env, Napi::Value v, const char* name, nt::ScheduleSpec* out);

}  // namespace ntb
