// The ISA builds of kernels/act_loops.h (native/cpu/x86/act_avx2.cc, native/cpu/avx512/act_avx512.cc),
// for native/kernels/elementwise.cc. Not part of the public kernel API.
#pragma once
#include <cstdint>

#include "nodetrain/kernels.h"

namespace nt {
namespace act_detail {

#if defined(NT_HAVE_AVX2_KERNELS)
void act_fwd_avx2(Act act, float alpha, const float* x, float* y, int64_t s, int64_t e);
void act_bwd_avx2(Act act, float alpha, const float* x, const float* y, const float* dy, float* dx, int64_t s,
                  int64_t e);
void softmax_rows_avx2(const float* x, int64_t cols, float* y, int64_t r0, int64_t r1);
void from_output_avx2(Act act, const float* y, const float* dy, float* dz, int64_t s, int64_t e);
double xent_rows_avx2(const float* logits, const float* targets, const int32_t* labels, int64_t r0, int64_t r1,
                      int64_t cols, float* grad, float gscale);
#endif
#if defined(NT_HAVE_AVX512_KERNELS)
void act_fwd_avx512(Act act, float alpha, const float* x, float* y, int64_t s, int64_t e);
void act_bwd_avx512(Act act, float alpha, const float* x, const float* y, const float* dy, float* dx, int64_t s,
                    int64_t e);
void softmax_rows_avx512(const float* x, int64_t cols, float* y, int64_t r0, int64_t r1);
void from_output_avx512(Act act, const float* y, const float* dy, float* dz, int64_t s, int64_t e);
double xent_rows_avx512(const float* logits, const float* targets, const int32_t* labels, int64_t r0, int64_t r1,
                        int64_t cols, float* grad, float gscale);
#endif

}  // namespace act_detail
}  // namespace nt
