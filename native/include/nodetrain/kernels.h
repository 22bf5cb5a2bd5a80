// The kernel API: device-neutral, pointer + shape + stride signatures returning Status.
// Every fast kernel has a scalar `<op>_ref` twin with the same signature (declared here too) that
// tests compare against; the fast entry point falls back to the portable path for shapes it can't
// handle and when nt::force_portable() is set. A CUDA backend implements the same signatures.
// Conventions: float32, row-major, leading dimension = row stride in elements (>= row length).
// Sizes are int64_t; zero sizes are valid and do nothing (except where documented).
#pragma once
#include <cstdint>

#include "nodetrain/status.h"

namespace nt {

// ---------------------------------------------------------------------------------------------
// Activations (shared by the GEMM epilogue, the elementwise kernels and the engine)
enum class Act : int {
  kNone = 0,
  kRelu = 1,
  kLeakyRelu = 2,  // alpha = negative slope
  kElu = 3,        // alpha
  kGelu = 4,       // tanh approximation (as tfjs / PyTorch approximate='tanh')
  kSigmoid = 5,
  kTanh = 6,
  kSoftplus = 7,
};

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
