// Host launchers of the CUDA kernels, one family per .cu file, with the kernel API's signatures
// (nodetrain/kernels.h) over device pointers. native/cuda/backend.cu puts them in the table.
// Names say op, dtype and device: <op>_f32_cuda.
#pragma once
#include "cuda/cuda_backend.h"

namespace nt {
namespace cuda {

// prelu.cu: the extension kernels the CUDA table has (Backend::device_extension), or null.
KernelFn device_extension_cuda(const char* name);
// gemm.cu
Status gemm_f32_cuda(const GemmArgs& a);  // the table's slot: the default precision, kAuto
// elementwise.cu
Status fill_f32_cuda(float* dst, float v, int64_t n);
Status axpy_f32_cuda(float alpha, const float* x, int64_t n, float* y);
Status scale_f32_cuda(const float* x, float alpha, int64_t n, float* out);
Status clamp_f32_cuda(float* x, float lo, float hi, int64_t n);
Status act_forward_f32_cuda(Act act, float alpha, const float* x, int64_t n, float* y);
Status act_backward_f32_cuda(Act act, float alpha, const float* x, const float* y, const float* dy, int64_t n,
                             float* dx);
Status act_backward_from_output_f32_cuda(Act act, const float* y, const float* dy, int64_t n, float* dx);
Status copy_cols_f32_cuda(const float* src, int64_t rows, int64_t cols, int64_t lds, float* dst, int64_t ldd,
                          bool accumulate);
Status dropout_forward_f32_cuda(const float* x, const float* u, int64_t n, float keep, float* mask, float* y);
Status dropout_backward_f32_cuda(const float* dy, const float* mask, int64_t n, float* dx);
// reduce.cu
Status sum_squares_f32_cuda(const float* x, int64_t n, double* out);
Status dot_f32_cuda(const float* x, const float* y, int64_t n, double* out);
Status col_sum_f32_cuda(const float* x, int64_t rows, int64_t cols, int64_t ldx, float* out, bool accumulate);
Status softmax_f32_cuda(const float* x, int64_t rows, int64_t cols, float* y);
Status softmax_backward_f32_cuda(const float* y, const float* dy, int64_t rows, int64_t cols, float* dx);
Status softmax_xent_f32_cuda(const float* logits, const float* targets, const int32_t* labels, int64_t rows,
                             int64_t cols, double* loss, float* grad, float grad_scale);
// Device-resident twin: the loss sum (not the mean) accumulated into dev_loss[0] (no sync).
Status softmax_xent_f32_cuda_dev(const float* logits, const float* targets, const int32_t* labels, int64_t rows,
                                 int64_t cols, double* dev_loss, float* grad, float grad_scale);
// norm.cu
Status layer_norm_forward_f32_cuda(const float* x, int64_t rows, int64_t cols, const float* gamma, const float* beta,
                                   float eps, float* stats, float* y);
Status layer_norm_backward_f32_cuda(const float* x, const float* stats, const float* dy, int64_t rows, int64_t cols,
                                    const float* gamma, float* dgamma, float* dbeta, float* dx);
Status batch_norm_batch_stats_f32_cuda(const float* x, int64_t rows, int64_t cols, float eps, double* work,
                                       float* mean, float* rstd, float* var);
Status batch_norm_moving_stats_f32_cuda(const float* moving_mean, const float* moving_var, int64_t cols, float eps,
                                        float* mean, float* rstd);
Status batch_norm_apply_f32_cuda(const float* x, int64_t rows, int64_t cols, const float* mean, const float* rstd,
                                 const float* gamma, const float* beta, float* y);
Status batch_norm_backward_f32_cuda(const float* x, const float* dy, int64_t rows, int64_t cols, const float* mean,
                                    const float* rstd, const float* gamma, double* work, float* dgamma,
                                    float* dbeta, float* dx);
Status batch_norm_frozen_backward_f32_cuda(const float* dy, int64_t rows, int64_t cols, const float* rstd,
                                           const float* gamma, float* dx);
Status batch_norm_update_moving_f32_cuda(const float* mean, const float* var, int64_t cols, float momentum,
                                         float* moving_mean, float* moving_var);
// optim.cu (single range; the multi-group fused step is cuda::multi_step)
Status sgd_step_f32_cuda(const SgdParams& p, float* param, const float* grad, float* momentum_buf, int64_t n);
Status adam_step_f32_cuda(const AdamParams& p, float* param, const float* grad, float* m, float* v, float* vmax,
                          int64_t n);
Status rmsprop_step_f32_cuda(const RmspropParams& p, float* param, const float* grad, float* sq, float* buf,
                             float* gavg, int64_t n);
Status adagrad_step_f32_cuda(const AdagradParams& p, float* param, const float* grad, float* sum, int64_t n);
// loops.cu: the engine's loops (nodetrain/backend.h LossArgs / MetricArgs); out in device memory
Status loss_f32_cuda(const LossArgs& a, double* out);
Status metric_f32_cuda(const MetricArgs& a, double* out);
Status gather_rows_f32_cuda(const float* src, int64_t cols, const uint32_t* idx, int64_t n, float* dst);
Status hyper_direction_f32_cuda(const float* old, const float* param, float inv_lr, int64_t n, float* dir,
                                double* sum_sq);
Status uniform_philox_f32_cuda(uint32_t* state, float* out, int64_t n);
// update.cu: the device-resident update (nodetrain/backend.h UpdateHealth)
Status health_reset_cuda(UpdateHealth* h);
Status flag_nonfinite_cuda(const float* x, int64_t n, UpdateHealth* h);
Status fused_update_cuda(const FusedUpdateArgs& a, float* param, const float* grad, float* s1, float* s2, float* s3,
                         UpdateHealth* h);
// backend.cu: the upload queue of streamed data sets
size_t memory_available_cuda();
void* alloc_pinned_cuda(size_t bytes);
void free_pinned_cuda(void* p);
Status upload_async_cuda(void* dst, const void* src, size_t bytes, int slot);
Status upload_compute_wait_cuda(int slot);
Status upload_host_wait_cuda(int slot);
// gemm.cu: the table's bf16 slot (bf16 operands, fp32 accumulation)
Status gemm_bf16_cuda(const GemmArgs& a);

}  // namespace cuda
}  // namespace nt
