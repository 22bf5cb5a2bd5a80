// The CPU implementations of the Backend's engine-loop slots (nodetrain/backend.h: loss, metric,
// gather_rows, hyper_direction, uniform). These loops used to run inside the engine over host
// memory; as slots they run on whichever device holds the buffers. Each is scalar C++ and is its
// own _ref (the same function at every ISA level), except the row gather, whose fast variant
// splits rows over the thread pool, and the dropout draws, which have an AVX2 fill.
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
// Dropout draws: the Philox stream (kernels/philox.h) keyed from the generator's state, which
// advances (engine/rng.h take_philox_key): the same draws as the CUDA table's slot. The portable
// fill is scalar; the AVX2 one (cpu/x86/philox_avx2.cc, eight counters per vector) serves the
// AVX2 and AVX-512 tables.
Status uniform_philox_f32_ref(uint32_t* state, float* out, int64_t n);
#if defined(NT_HAVE_AVX2_KERNELS)
void philox_fill_avx2(uint64_t key, float* out, int64_t n);
Status uniform_philox_f32_avx2(uint32_t* state, float* out, int64_t n);
#endif

// Host twins of the device-resident update slots (Backend::health_reset, flag_nonfinite,
// fused_update; native/kernels/update_host.cc). The CPU tables leave those slots null (the engine
// then runs its per-tensor path); a test installs these in a copy of the CPU table
// (Model::use_host_deferred_update) so that the engine's deferred path runs on the CPU. They make
// the per-tensor path's decisions with the active CPU table's kernels, so both paths agree bit for bit.
Status health_reset_host(UpdateHealth* h);
// One parameter group's step over [g.begin, g.end) through `be`'s per-tensor optimizer kernels, with
// a's hyperparameters and step, g's rate and weight decay, the gradient scaled by grad_scale. The
// optimizer state is laid out as for Backend::fused_update (SGD momentum s1; Adam m s1, v s2, vmax
// s3; RMSProp buf s1, sq s2, gavg s3; AdaGrad sum s2), null where unused. Used by the engine's
// per-tensor update and by fused_update_host, so the two run the same calls.
Status step_group(const Backend& be, const FusedUpdateArgs& a, const UpdateGroup& g, float grad_scale, float* param,
                  const float* grad, float* s1, float* s2, float* s3);
Status flag_nonfinite_host(const float* x, int64_t n, UpdateHealth* h);
Status fused_update_host(const FusedUpdateArgs& a, float* param, const float* grad, float* s1, float* s2, float* s3,
                         UpdateHealth* h);

}  // namespace nt
