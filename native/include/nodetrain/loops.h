// The CPU implementations of the Backend's engine-loop slots (nodetrain/backend.h: loss, metric,
// gather_rows, hyper_direction, uniform). These loops used to run inside the engine over host
// memory; as slots they run on whichever device holds the buffers. Each is scalar C++ and is its
// own _ref (the same function at every ISA level), except the row gather, whose fast variant
// splits rows over the thread pool.
#pragma once
#include <cstdint>

#include "nodetrain/backend.h"

namespace nt {

Status loss_f32_ref(const LossArgs& a, double* out);
Status metric_f32_ref(const MetricArgs& a, double* out);
Status gather_rows_f32(const float* src, int64_t cols, const uint32_t* idx, int64_t n, float* dst);
Status gather_rows_f32_ref(const float* src, int64_t cols, const uint32_t* idx, int64_t n, float* dst);
Status hyper_direction_f32_ref(const float* old, const float* param, float inv_lr, int64_t n, float* dir,
                               double* sum_sq);
Status uniform_xoshiro_f32_ref(uint32_t* state, float* out, int64_t n);

}  // namespace nt
