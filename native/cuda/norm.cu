// Layer normalisation (Ba, Kiros & Hinton 2016) and batch normalisation (Ioffe & Szegedy 2015,
// Keras' moving statistics) on the device, the definitions of nodetrain/kernels.h.
// Layer norm: one block per row for the statistics and dx (two passes over the row held in cache,
// as llm.c llmc/layernorm.cuh), one thread per column for dgamma/dbeta. Batch norm: one thread per
// column for the statistics and their gradient sums (double accumulation, coalesced across a warp
// since neighbouring threads read neighbouring columns), elementwise passes for y and dx.
// The `work` arguments of the kernel API (host scratch on the CPU) are unused here.
#include "cuda/common.cuh"
#include "cuda/cuda_kernels.h"

namespace nt {
namespace cuda {
namespace {

constexpr int kThreads = 256;

__global__ void ln_fwd_k(const float* x, int64_t cols, const float* gamma, const float* beta, float eps, float* stats,
                         float* y) {
  const int64_t o = blockIdx.x * cols;
  float s = 0;
  for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) s += x[o + j];
  const float mean = block_sum(s) / static_cast<float>(cols);
  float v = 0;
  for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) {
    const float d = x[o + j] - mean;
    v += d * d;
  }
  const float var = block_sum(v) / static_cast<float>(cols);
  const float rstd = rsqrtf(var + eps);
  if (threadIdx.x == 0) {
    stats[2 * blockIdx.x] = mean;
    stats[2 * blockIdx.x + 1] = rstd;
  }
  for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) {
    float h = (x[o + j] - mean) * rstd;
    if (gamma) h *= gamma[j];
    if (beta) h += beta[j];
    y[o + j] = h;
  }
}

__global__ void ln_bwd_dx_k(const float* x, const float* stats, const float* dy, int64_t cols, const float* gamma,
                            float* dx) {
  const int64_t r = blockIdx.x, o = r * cols;
  const float mean = stats[2 * r], rstd = stats[2 * r + 1];
  float a = 0, b = 0;
  for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) {
    const float xh = (x[o + j] - mean) * rstd;
    const float d = dy[o + j] * (gamma ? gamma[j] : 1.f);
    a += d;
    b += d * xh;
  }
  a = block_sum(a) / static_cast<float>(cols);
  b = block_sum(b) / static_cast<float>(cols);
  for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) {
    const float xh = (x[o + j] - mean) * rstd;
    const float d = dy[o + j] * (gamma ? gamma[j] : 1.f);
    dx[o + j] = rstd * (d - a - xh * b);
  }
}

__global__ void ln_bwd_params_k(const float* x, const float* stats, const float* dy, int64_t rows, int64_t cols,
                                float* dgamma, float* dbeta) {
  const int64_t j = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (j >= cols) return;
  double g = 0, b = 0;
  for (int64_t r = 0; r < rows; ++r) {
    const float d = dy[r * cols + j];
    g += static_cast<double>(d) * ((x[r * cols + j] - stats[2 * r]) * stats[2 * r + 1]);
    b += d;
  }
  if (dgamma) dgamma[j] = static_cast<float>(g);
  if (dbeta) dbeta[j] = static_cast<float>(b);
}

__global__ void bn_stats_k(const float* x, int64_t rows, int64_t cols, float eps, float* mean, float* rstd,
                           float* var) {
  const int64_t j = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (j >= cols) return;
  double s = 0;
  for (int64_t r = 0; r < rows; ++r) s += x[r * cols + j];
  const double m = s / static_cast<double>(rows);
  double v = 0;
  for (int64_t r = 0; r < rows; ++r) {
    const double d = x[r * cols + j] - m;
    v += d * d;
  }
  v /= static_cast<double>(rows);
  mean[j] = static_cast<float>(m);
  rstd[j] = static_cast<float>(1.0 / sqrt(v + eps));
  if (var) var[j] = static_cast<float>(v);
}

__global__ void bn_moving_k(const float* mm, const float* mv, int64_t cols, float eps, float* mean, float* rstd) {
  const int64_t j = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (j >= cols) return;
  mean[j] = mm[j];
  rstd[j] = rsqrtf(mv[j] + eps);
}

__global__ void bn_apply_k(const float* x, int64_t rows, int64_t cols, const float* mean, const float* rstd,
                           const float* gamma, const float* beta, float* y) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < rows * cols;
       i += static_cast<int64_t>(blockDim.x) * gridDim.x) {
    const int64_t j = i % cols;
    float h = (x[i] - mean[j]) * rstd[j];
    if (gamma) h *= gamma[j];
    if (beta) h += beta[j];
    y[i] = h;
  }
}

// Column sums of dy and dy * xhat into sums[0..cols) and sums[cols..2cols).
__global__ void bn_bwd_sums_k(const float* x, const float* dy, int64_t rows, int64_t cols, const float* mean,
                              const float* rstd, float* sums, float* dgamma, float* dbeta) {
  const int64_t j = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (j >= cols) return;
  double a = 0, b = 0;
  const float m = mean[j], s = rstd[j];
  for (int64_t r = 0; r < rows; ++r) {
    const float d = dy[r * cols + j];
    a += d;
    b += static_cast<double>(d) * ((x[r * cols + j] - m) * s);
  }
  sums[j] = static_cast<float>(a);
  sums[cols + j] = static_cast<float>(b);
  if (dbeta) dbeta[j] = static_cast<float>(a);
  if (dgamma) dgamma[j] = static_cast<float>(b);
}

__global__ void bn_bwd_dx_k(const float* x, const float* dy, int64_t rows, int64_t cols, const float* mean,
                            const float* rstd, const float* gamma, const float* sums, float* dx) {
  const float inv_rows = 1.f / static_cast<float>(rows);
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < rows * cols;
       i += static_cast<int64_t>(blockDim.x) * gridDim.x) {
    const int64_t j = i % cols;
    const float s = rstd[j], xh = (x[i] - mean[j]) * s;
    const float g = gamma ? gamma[j] : 1.f;
    dx[i] = g * s * (dy[i] - sums[j] * inv_rows - xh * sums[cols + j] * inv_rows);
  }
}

__global__ void bn_frozen_k(const float* dy, int64_t rows, int64_t cols, const float* rstd, const float* gamma,
                            float* dx) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < rows * cols;
       i += static_cast<int64_t>(blockDim.x) * gridDim.x) {
    const int64_t j = i % cols;
    dx[i] = (gamma ? gamma[j] : 1.f) * rstd[j] * dy[i];
  }
}

__global__ void bn_update_k(const float* mean, const float* var, int64_t cols, float mom, float* mm, float* mv) {
  const int64_t j = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (j >= cols) return;
  mm[j] = mom * mm[j] + (1.f - mom) * mean[j];
  mv[j] = mom * mv[j] + (1.f - mom) * var[j];
}

int row_threads(int64_t cols) {
  int t = 32;
  while (t < cols && t < 512) t *= 2;
  return t;
}

}  // namespace

Status layer_norm_forward_f32_cuda(const float* x, int64_t rows, int64_t cols, const float* gamma, const float* beta,
                                   float eps, float* stats, float* y) {
  if (rows <= 0 || cols <= 0) return Status::Ok();
  ln_fwd_k<<<static_cast<unsigned>(rows), row_threads(cols), 0, cur_stream()>>>(x, cols, gamma, beta, eps, stats, y);
  NT_CUDA_LAUNCHED("layer_norm_forward_f32_cuda");
}
Status layer_norm_backward_f32_cuda(const float* x, const float* stats, const float* dy, int64_t rows, int64_t cols,
                                    const float* gamma, float* dgamma, float* dbeta, float* dx) {
  if (rows <= 0 || cols <= 0) return Status::Ok();
  if (dgamma || dbeta)
    ln_bwd_params_k<<<grid_for(cols, kThreads), kThreads, 0, cur_stream()>>>(x, stats, dy, rows, cols, dgamma, dbeta);
  if (dx) ln_bwd_dx_k<<<static_cast<unsigned>(rows), row_threads(cols), 0, cur_stream()>>>(x, stats, dy, cols, gamma, dx);
  NT_CUDA_LAUNCHED("layer_norm_backward_f32_cuda");
}
Status batch_norm_batch_stats_f32_cuda(const float* x, int64_t rows, int64_t cols, float eps, double*, float* mean,
                                       float* rstd, float* var) {
  if (rows < 1) return InvalidArgument("Expected at least 1 row for batch_norm_batch_stats but received " + std::to_string(rows));
  if (cols <= 0) return Status::Ok();
  bn_stats_k<<<grid_for(cols, kThreads), kThreads, 0, cur_stream()>>>(x, rows, cols, eps, mean, rstd, var);
  NT_CUDA_LAUNCHED("batch_norm_batch_stats_f32_cuda");
}
Status batch_norm_moving_stats_f32_cuda(const float* mm, const float* mv, int64_t cols, float eps, float* mean,
                                        float* rstd) {
  if (cols <= 0) return Status::Ok();
  bn_moving_k<<<grid_for(cols, kThreads), kThreads, 0, cur_stream()>>>(mm, mv, cols, eps, mean, rstd);
  NT_CUDA_LAUNCHED("batch_norm_moving_stats_f32_cuda");
}
Status batch_norm_apply_f32_cuda(const float* x, int64_t rows, int64_t cols, const float* mean, const float* rstd,
                                 const float* gamma, const float* beta, float* y) {
  if (rows <= 0 || cols <= 0) return Status::Ok();
  bn_apply_k<<<grid_for(rows * cols, kThreads), kThreads, 0, cur_stream()>>>(x, rows, cols, mean, rstd, gamma, beta, y);
  NT_CUDA_LAUNCHED("batch_norm_apply_f32_cuda");
}
Status batch_norm_backward_f32_cuda(const float* x, const float* dy, int64_t rows, int64_t cols, const float* mean,
                                    const float* rstd, const float* gamma, double*, float* dgamma, float* dbeta,
                                    float* dx) {
  if (rows <= 0 || cols <= 0) return Status::Ok();
  void* s = nullptr;
  NT_RETURN_IF_ERROR(scratch(2 * static_cast<size_t>(cols) * sizeof(float), &s));
  float* sums = static_cast<float*>(s);
  bn_bwd_sums_k<<<grid_for(cols, kThreads), kThreads, 0, cur_stream()>>>(x, dy, rows, cols, mean, rstd, sums, dgamma,
                                                                         dbeta);
  if (dx)
    bn_bwd_dx_k<<<grid_for(rows * cols, kThreads), kThreads, 0, cur_stream()>>>(x, dy, rows, cols, mean, rstd, gamma,
                                                                                 sums, dx);
  NT_CUDA_LAUNCHED("batch_norm_backward_f32_cuda");
}
Status batch_norm_frozen_backward_f32_cuda(const float* dy, int64_t rows, int64_t cols, const float* rstd,
                                           const float* gamma, float* dx) {
  if (rows <= 0 || cols <= 0) return Status::Ok();
  bn_frozen_k<<<grid_for(rows * cols, kThreads), kThreads, 0, cur_stream()>>>(dy, rows, cols, rstd, gamma, dx);
  NT_CUDA_LAUNCHED("batch_norm_frozen_backward_f32_cuda");
}
Status batch_norm_update_moving_f32_cuda(const float* mean, const float* var, int64_t cols, float momentum,
                                         float* mm, float* mv) {
  if (cols <= 0) return Status::Ok();
  bn_update_k<<<grid_for(cols, kThreads), kThreads, 0, cur_stream()>>>(mean, var, cols, momentum, mm, mv);
  NT_CUDA_LAUNCHED("batch_norm_update_moving_f32_cuda");
}

}  // namespace cuda
}  // namespace nt
