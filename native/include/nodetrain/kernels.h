// The kernel API: device-neutral, pointer + shape + stride signatures returning Status.
// Every fast kernel has a scalar `<op>_ref` twin with the same signature (declared here too) that
// tests compare against. The plain names of the dispatched kernels (gemm_f32, the optimizer steps)
// call through the active Backend table (nodetrain/backend.h, filled once by native/cpu/dispatch.cc;
// the portable table while nt::force_portable() is set); the engine's ops call the Backend
// directly. A CUDA backend fills its own table with the same signatures.
// Conventions: float32, row-major, leading dimension = row stride in elements (>= row length).
// Sizes are int64_t; zero sizes are valid and do nothing (except where documented).
#pragma once
#include <cstdint>

#include "nodetrain/enums.h"
#include "nodetrain/status.h"

namespace nt {

// ---------------------------------------------------------------------------------------------
// GEMM:  C[M,N] = act( alpha * op(A) op(B) + beta * C + bias[N] )
// op(A) is M x K (A stored K x M when trans_a), op(B) is K x N (B stored N x K when trans_b).
// lda/ldb/ldc are row strides of the stored matrices. bias may be null. The epilogue order is:
// scale + beta-accumulate, then + bias (broadcast over rows), then the activation.
// Only kNone, kRelu, kGelu, kSigmoid, kTanh are accepted as epilogue activations (act_alpha unused
// by these). beta == 0 means C is write-only (NaNs in C are not propagated), as in BLAS.
struct GemmArgs {
  bool trans_a = false;
  bool trans_b = false;
  int64_t m = 0, n = 0, k = 0;
  float alpha = 1.0f;
  const float* a = nullptr;
  int64_t lda = 0;
  const float* b = nullptr;
  int64_t ldb = 0;
  float beta = 0.0f;
  float* c = nullptr;
  int64_t ldc = 0;
  const float* bias = nullptr;
  Act act = Act::kNone;
};
Status gemm_f32(const GemmArgs& args);      // fast path (packed, AVX2/FMA when available, threaded)
Status gemm_f32_ref(const GemmArgs& args);  // scalar triple loop, single thread
// Mixed precision: the same GEMM with both operands rounded to bfloat16 (nearest, ties to even)
// and fp32 accumulation; C, bias and the epilogue stay fp32. AMX-BF16 tiles, AVX512-BF16
// vdpbf16ps, or an emulation with the same rounding (native/kernels/gemm.cc).
Status gemm_bf16(const GemmArgs& args);
Status gemm_bf16_ref(const GemmArgs& args);  // operands rounded to bf16, double accumulation

// ---------------------------------------------------------------------------------------------
// Reductions over a contiguous row-major tensor viewed as [outer, axis, inner].
// Reducing over the whole tensor: outer = 1, inner = 1, axis = numel.
// out has outer*inner elements (argmax: int32 indices into axis, first occurrence on ties).
// axis == 0 gives: sum -> 0, mean -> NaN, max/min/argmax -> InvalidArgument.
enum class ReduceOp : int { kSum = 0, kMean = 1, kMax = 2, kMin = 3 };
Status reduce_f32(ReduceOp op, const float* x, int64_t outer, int64_t axis, int64_t inner, float* out);
Status reduce_f32_ref(ReduceOp op, const float* x, int64_t outer, int64_t axis, int64_t inner, float* out);
Status argmax_f32(const float* x, int64_t outer, int64_t axis, int64_t inner, int32_t* out);
Status argmax_f32_ref(const float* x, int64_t outer, int64_t axis, int64_t inner, int32_t* out);
// Whole-array results accumulated in double, returned as double.
Status sum_squares_f32(const float* x, int64_t n, double* out);
Status sum_squares_f32_ref(const float* x, int64_t n, double* out);
Status dot_f32(const float* x, const float* y, int64_t n, double* out);
Status dot_f32_ref(const float* x, const float* y, int64_t n, double* out);
// out[j] = (accumulate ? out[j] : 0) + sum_i x[i*ldx + j], x is rows x cols  (bias gradients)
Status col_sum_f32(const float* x, int64_t rows, int64_t cols, int64_t ldx, float* out, bool accumulate);
Status col_sum_f32_ref(const float* x, int64_t rows, int64_t cols, int64_t ldx, float* out, bool accumulate);

// ---------------------------------------------------------------------------------------------
// Elementwise. Binary ops broadcast b over a [rows, cols] a:
//   kFull: b is [rows, cols]; kRow: b is [cols] (one row, repeated); kCol: b is [rows] (one
//   column, repeated); kScalar: b is [1]. out may alias a or b (in-place).
enum class BinaryOp : int { kAdd = 0, kSub = 1, kMul = 2, kDiv = 3 };
enum class Broadcast : int { kFull = 0, kRow = 1, kCol = 2, kScalar = 3 };
Status binary_f32(BinaryOp op, Broadcast bc, const float* a, const float* b, int64_t rows, int64_t cols, float* out);
Status binary_f32_ref(BinaryOp op, Broadcast bc, const float* a, const float* b, int64_t rows, int64_t cols, float* out);
// out = alpha * x   (out may alias x)
Status scale_f32(const float* x, float alpha, int64_t n, float* out);
Status scale_f32_ref(const float* x, float alpha, int64_t n, float* out);
// y += alpha * x
Status axpy_f32(float alpha, const float* x, int64_t n, float* y);
Status axpy_f32_ref(float alpha, const float* x, int64_t n, float* y);
// y = act(x) (y may alias x). alpha: slope of leaky ReLU, alpha of ELU.
Status act_forward_f32(Act act, float alpha, const float* x, int64_t n, float* y);
Status act_forward_f32_ref(Act act, float alpha, const float* x, int64_t n, float* y);
// dx = dy * act'(x), given the forward input x and its output y (each formula uses whichever is
// cheaper; both must be supplied). dx may alias dy.
Status act_backward_f32(Act act, float alpha, const float* x, const float* y, const float* dy, int64_t n, float* dx);
Status act_backward_f32_ref(Act act, float alpha, const float* x, const float* y, const float* dy, int64_t n, float* dx);
// Numerically stable softmax / log-softmax along the last axis of [rows, cols]. y may alias x.
Status softmax_f32(const float* x, int64_t rows, int64_t cols, float* y);
Status softmax_f32_ref(const float* x, int64_t rows, int64_t cols, float* y);
Status log_softmax_f32(const float* x, int64_t rows, int64_t cols, float* y);
Status log_softmax_f32_ref(const float* x, int64_t rows, int64_t cols, float* y);
// Softmax backward given the softmax output y: dx = y * (dy - sum(dy*y, row)). dx may alias dy.
Status softmax_backward_f32(const float* y, const float* dy, int64_t rows, int64_t cols, float* dx);
Status softmax_backward_f32_ref(const float* y, const float* dy, int64_t rows, int64_t cols, float* dx);

// dz = dy * f'(.) for the activations whose derivative is a function of their output y alone:
// kNone (a copy), kRelu, kSigmoid, kTanh; any other -> InvalidArgument. dz may alias dy.
bool act_backward_from_output_supported(Act act);
Status act_backward_from_output_f32(Act act, const float* y, const float* dy, int64_t n, float* dz);
Status act_backward_from_output_f32_ref(Act act, const float* y, const float* dy, int64_t n, float* dz);
// x = min(max(x, lo), hi) in place (gradient clipping by value).
Status clamp_f32(float* x, float lo, float hi, int64_t n);
Status clamp_f32_ref(float* x, float lo, float hi, int64_t n);
// Column-block copy between row-major matrices (concatenation forward, its split backward):
// dst[r*ldd + j] (+)= src[r*lds + j] for r < rows, j < cols. lds, ldd >= cols.
Status copy_cols_f32(const float* src, int64_t rows, int64_t cols, int64_t lds, float* dst, int64_t ldd,
                     bool accumulate);
Status copy_cols_f32_ref(const float* src, int64_t rows, int64_t cols, int64_t lds, float* dst, int64_t ldd,
                         bool accumulate);

// ---------------------------------------------------------------------------------------------
// Dropout (inverted): given uniform draws u in [0, 1), mask = u < keep ? 1/keep : 0 and
// y = x * mask. mask may alias u (the draws are replaced by the mask). keep in (0, 1].
Status dropout_forward_f32(const float* x, const float* u, int64_t n, float keep, float* mask, float* y);
Status dropout_forward_f32_ref(const float* x, const float* u, int64_t n, float keep, float* mask, float* y);
// dx = dy * mask (dx may alias dy).
Status dropout_backward_f32(const float* dy, const float* mask, int64_t n, float* dx);
Status dropout_backward_f32_ref(const float* dy, const float* mask, int64_t n, float* dx);

// ---------------------------------------------------------------------------------------------
// Normalisation over [rows, cols] (Ba et al. 2016, layer normalisation; Ioffe & Szegedy 2015,
// batch normalisation; Keras' moving-statistics convention). gamma / beta may be null (absent).
// Layer norm, per row: stats[2r] = mean, stats[2r+1] = 1/sqrt(var + eps) (biased variance,
// accumulated in double); y = (x - mean) * rstd * gamma + beta.
Status layer_norm_forward_f32(const float* x, int64_t rows, int64_t cols, const float* gamma, const float* beta,
                              float eps, float* stats, float* y);
Status layer_norm_forward_f32_ref(const float* x, int64_t rows, int64_t cols, const float* gamma, const float* beta,
                                  float eps, float* stats, float* y);
// dgamma = sum_r dy * xhat, dbeta = sum_r dy (each written, not accumulated; null to skip);
// dx = rstd * (dxh - mean(dxh) - xhat * mean(dxh * xhat)), dxh = dy * gamma (dx null to skip).
Status layer_norm_backward_f32(const float* x, const float* stats, const float* dy, int64_t rows, int64_t cols,
                               const float* gamma, float* dgamma, float* dbeta, float* dx);
Status layer_norm_backward_f32_ref(const float* x, const float* stats, const float* dy, int64_t rows, int64_t cols,
                                   const float* gamma, float* dgamma, float* dbeta, float* dx);
// Batch statistics per column: mean, rstd = 1/sqrt(var + eps) and the biased variance var.
// work: 2 * cols doubles of scratch (rows >= 1).
Status batch_norm_batch_stats_f32(const float* x, int64_t rows, int64_t cols, float eps, double* work, float* mean,
                                  float* rstd, float* var);
Status batch_norm_batch_stats_f32_ref(const float* x, int64_t rows, int64_t cols, float eps, double* work,
                                      float* mean, float* rstd, float* var);
// Inference statistics from the moving ones: mean = moving_mean, rstd = 1/sqrt(moving_var + eps).
Status batch_norm_moving_stats_f32(const float* moving_mean, const float* moving_var, int64_t cols, float eps,
                                   float* mean, float* rstd);
Status batch_norm_moving_stats_f32_ref(const float* moving_mean, const float* moving_var, int64_t cols, float eps,
                                       float* mean, float* rstd);
// y = (x - mean[j]) * rstd[j] * gamma[j] + beta[j]
Status batch_norm_apply_f32(const float* x, int64_t rows, int64_t cols, const float* mean, const float* rstd,
                            const float* gamma, const float* beta, float* y);
Status batch_norm_apply_f32_ref(const float* x, int64_t rows, int64_t cols, const float* mean, const float* rstd,
                                const float* gamma, const float* beta, float* y);
// Backward through batch statistics: dgamma = sum_r dy * xhat, dbeta = sum_r dy (written; null to
// skip); dx = gamma * rstd * (dy - mean_r(dy) - xhat * mean_r(dy * xhat)) (null to skip).
// work: 2 * cols doubles.
Status batch_norm_backward_f32(const float* x, const float* dy, int64_t rows, int64_t cols, const float* mean,
                               const float* rstd, const float* gamma, double* work, float* dgamma, float* dbeta,
                               float* dx);
Status batch_norm_backward_f32_ref(const float* x, const float* dy, int64_t rows, int64_t cols, const float* mean,
                                   const float* rstd, const float* gamma, double* work, float* dgamma, float* dbeta,
                                   float* dx);
// Backward with fixed statistics (a frozen layer): dx = gamma * rstd * dy.
Status batch_norm_frozen_backward_f32(const float* dy, int64_t rows, int64_t cols, const float* rstd,
                                      const float* gamma, float* dx);
Status batch_norm_frozen_backward_f32_ref(const float* dy, int64_t rows, int64_t cols, const float* rstd,
                                          const float* gamma, float* dx);
// moving = momentum * moving + (1 - momentum) * batch, for the mean and the variance (Keras).
Status batch_norm_update_moving_f32(const float* mean, const float* var, int64_t cols, float momentum,
                                    float* moving_mean, float* moving_var);
Status batch_norm_update_moving_f32_ref(const float* mean, const float* var, int64_t cols, float momentum,
                                        float* moving_mean, float* moving_var);

// ---------------------------------------------------------------------------------------------
// Losses (reduction: mean over rows; per-row losses optional). Each computes the mean loss into
// *loss (double) and, if grad != null, dL/dlogits (or dL/dpred) of the MEAN loss scaled by
// grad_scale (pass 1 for plain mean; the engine passes rows/total for partial batches).
// Fused softmax cross-entropy from logits [rows, cols]:
//   targets one-hot/probabilities [rows, cols] (labels == null) or int32 class labels [rows]
//   (targets == null); a label outside [0, cols) -> InvalidArgument.
Status softmax_xent_f32(const float* logits, const float* targets, const int32_t* labels, int64_t rows,
                        int64_t cols, double* loss, float* grad, float grad_scale);
Status softmax_xent_f32_ref(const float* logits, const float* targets, const int32_t* labels, int64_t rows,
                            int64_t cols, double* loss, float* grad, float grad_scale);

// ---------------------------------------------------------------------------------------------
// Fused optimizer steps: one in-place pass over a flat parameter range with its gradient and
// state. Definitions are PyTorch's documented algorithms (torch.optim.*, "Algorithm" boxes).
// grad_scale multiplies the raw gradient first (global-norm clipping folds into it); the stored
// grad array is not modified. `step` is the 1-based step count after increment (t in the docs).
// Bias corrections and other per-step scalars are computed once on the host.
struct SgdParams {
  float lr = 0.01f, momentum = 0.0f, dampening = 0.0f, weight_decay = 0.0f;
  bool nesterov = false, maximize = false;
  float grad_scale = 1.0f;
  int64_t step = 1;  // with momentum, step == 1 initialises the buffer to the gradient (no dampening)
};
// state: momentum buffer (may be null when momentum == 0)
Status sgd_step_f32(const SgdParams& p, float* param, const float* grad, float* momentum_buf, int64_t n);
Status sgd_step_f32_ref(const SgdParams& p, float* param, const float* grad, float* momentum_buf, int64_t n);

struct AdamParams {
  float lr = 1e-3f, beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f, weight_decay = 0.0f;
  bool decoupled = false;  // true: AdamW (param *= 1 - lr*wd); false: Adam (L2 added to grad)
  bool amsgrad = false, maximize = false;
  float grad_scale = 1.0f;
  int64_t step = 1;
};
// m, v: first/second moment; vmax: running max of v (amsgrad only, else may be null)
Status adam_step_f32(const AdamParams& p, float* param, const float* grad, float* m, float* v, float* vmax, int64_t n);
Status adam_step_f32_ref(const AdamParams& p, float* param, const float* grad, float* m, float* v, float* vmax,
                         int64_t n);

struct RmspropParams {
  float lr = 1e-2f, alpha = 0.99f, eps = 1e-8f, weight_decay = 0.0f, momentum = 0.0f;
  bool centered = false, maximize = false;
  float grad_scale = 1.0f;
  int64_t step = 1;
};
// sq: square average; buf: momentum buffer (momentum > 0, else may be null);
// gavg: gradient average (centered, else may be null)
Status rmsprop_step_f32(const RmspropParams& p, float* param, const float* grad, float* sq, float* buf, float* gavg,
                        int64_t n);
Status rmsprop_step_f32_ref(const RmspropParams& p, float* param, const float* grad, float* sq, float* buf,
                            float* gavg, int64_t n);

struct AdagradParams {
  float lr = 1e-2f, lr_decay = 0.0f, weight_decay = 0.0f, eps = 1e-10f;
  bool maximize = false;
  float grad_scale = 1.0f;
  int64_t step = 1;
};
// sum: accumulator (initialise to initial_accumulator_value before the first step)
Status adagrad_step_f32(const AdagradParams& p, float* param, const float* grad, float* sum, int64_t n);
Status adagrad_step_f32_ref(const AdagradParams& p, float* param, const float* grad, float* sum, int64_t n);

}  // namespace nt
