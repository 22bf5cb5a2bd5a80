// ISA variants of the dispatched kernels, for native/cpu/dispatch.cc, which puts them in the
// Backend tables once at start-up. Not part of the public kernel API: callers use the plain
// names in nodetrain/kernels.h (which go through the active table) or the Backend itself.
#pragma once
#include "nodetrain/kernels.h"

namespace nt {

Status gemm_f32_portable(const GemmArgs& args);
Status gemm_bf16_portable(const GemmArgs& args);
Status sgd_step_f32_portable(const SgdParams& p, float* param, const float* grad, float* momentum_buf, int64_t n);
Status adam_step_f32_portable(const AdamParams& p, float* param, const float* grad, float* m, float* v, float* vmax,
                              int64_t n);
Status rmsprop_step_f32_portable(const RmspropParams& p, float* param, const float* grad, float* sq, float* buf,
                                 float* gavg, int64_t n);
Status adagrad_step_f32_portable(const AdagradParams& p, float* param, const float* grad, float* sum, int64_t n);
Status softmax_xent_f32_portable(const float* logits, const float* targets, const int32_t* labels, int64_t rows,
                                 int64_t cols, double* loss, float* grad, float grad_scale);

#if defined(NT_HAVE_AVX2_KERNELS)
Status gemm_f32_avx2(const GemmArgs& args);
Status gemm_bf16_avx2(const GemmArgs& args);
Status sgd_step_f32_avx2(const SgdParams& p, float* param, const float* grad, float* momentum_buf, int64_t n);
Status adam_step_f32_avx2(const AdamParams& p, float* param, const float* grad, float* m, float* v, float* vmax,
                          int64_t n);
Status rmsprop_step_f32_avx2(const RmspropParams& p, float* param, const float* grad, float* sq, float* buf,
                             float* gavg, int64_t n);
Status adagrad_step_f32_avx2(const AdagradParams& p, float* param, const float* grad, float* sum, int64_t n);
#endif

#if defined(NT_HAVE_AVX512_KERNELS)
Status gemm_f32_avx512(const GemmArgs& args);
// vdpbf16ps where the CPU has AVX512-BF16, else the emulation on the AVX-512 f32 kernels.
Status gemm_bf16_avx512(const GemmArgs& args);
// AMX tiles (falls back to gemm_bf16_avx512 when amx_ready() is false).
Status gemm_bf16_amx(const GemmArgs& args);
// The AMX driver and packing over the emulated tile unit (the test hook set_amx_emulation; needs
// AVX512-BF16, never asks for the tile permission).
Status gemm_bf16_amx_emulated(const GemmArgs& args);
#endif

// The activation and softmax loops (kernels/act_loops.h) compiled by the AVX2 and AVX-512
// libraries: same source and _ref twins as the baseline ones.
#if defined(NT_HAVE_AVX2_KERNELS)
Status act_forward_f32_avx2(Act act, float alpha, const float* x, int64_t n, float* y);
Status act_backward_f32_avx2(Act act, float alpha, const float* x, const float* y, const float* dy, int64_t n,
                             float* dx);
Status softmax_f32_avx2(const float* x, int64_t rows, int64_t cols, float* y);
Status act_backward_from_output_f32_avx2(Act act, const float* y, const float* dy, int64_t n, float* dz);
Status softmax_xent_f32_avx2(const float* logits, const float* targets, const int32_t* labels, int64_t rows,
                             int64_t cols, double* loss, float* grad, float grad_scale);
#endif
#if defined(NT_HAVE_AVX512_KERNELS)
Status act_forward_f32_avx512(Act act, float alpha, const float* x, int64_t n, float* y);
Status act_backward_f32_avx512(Act act, float alpha, const float* x, const float* y, const float* dy, int64_t n,
                               float* dx);
Status softmax_f32_avx512(const float* x, int64_t rows, int64_t cols, float* y);
Status act_backward_from_output_f32_avx512(Act act, const float* y, const float* dy, int64_t n, float* dz);
Status softmax_xent_f32_avx512(const float* logits, const float* targets, const int32_t* labels, int64_t rows,
                               int64_t cols, double* loss, float* grad, float grad_scale);
#endif

}  // namespace nt
