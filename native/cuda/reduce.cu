// Reductions on the device: sum of squares and dot product accumulated in double (the kernel API
// returns doubles), column sums (bias gradients), row softmax and its backward, the fused softmax
// cross-entropy (one block per row: max, sum of exponentials, loss and gradient in one pass over
// the row, as llm.c llmc/fused_classifier.cuh fuses the classifier), and the global gradient norm
// with the non-finite check (llm.c llmc/global_norm.cuh: per-block partial sums, one atomic per
// block) that stays on the device: the clip scale and the skip flag are device scalars the fused
// optimizer step reads, so a training step needs no host round trip.
// Functions with a host `double* out` synchronise the stream; the *_dev / global-norm ones do not.
#include "cuda/common.cuh"
#include "cuda/cuda_kernels.h"

namespace nt {
namespace cuda {
namespace {

constexpr int kThreads = 256;

__global__ void sumsq_k(const float* x, const float* y, int64_t n, double* out, int* flag) {
  double acc = 0;
  bool bad = false;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(blockDim.x) * gridDim.x) {
    const float a = x[i];
    if (flag && !isfinite(a)) bad = true;
    acc += y ? static_cast<double>(a) * y[i] : static_cast<double>(a) * a;
  }
  acc = block_sum(acc);
  if (threadIdx.x == 0) atomicAdd(out, acc);
  if (flag && bad) atomicOr(flag, 1);
}

__global__ void zero_k(double* d, int* f) {
  if (d) *d = 0;
  if (f) *f = 0;
}

__global__ void clip_scale_k(const double* sumsq, float clip, int* flag, float* scale) {
  const double norm = sqrt(*sumsq);
  float s = 1.f;
  if (!isfinite(norm)) *flag = 1;
  else if (clip > 0 && norm > clip) s = static_cast<float>(clip / (norm + 1e-6));
  *scale = s;
}

// One thread per column, rows strided: coalesced across the warp.
__global__ void col_sum_k(const float* x, int64_t rows, int64_t cols, int64_t ldx, float* out, bool acc) {
  const int64_t j = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (j >= cols) return;
  float s = 0;
  for (int64_t r = 0; r < rows; ++r) s += x[r * ldx + j];
  out[j] = acc ? out[j] + s : s;
}

__global__ void softmax_k(const float* x, int64_t cols, float* y) {
  const float* xr = x + blockIdx.x * cols;
  float* yr = y + blockIdx.x * cols;
  float m = -INFINITY;
  for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) m = fmaxf(m, xr[j]);
  m = block_max(m);
  float s = 0;
  for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) s += __expf(xr[j] - m);
  s = block_sum(s);
  const float inv = 1.f / s;
  for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) yr[j] = __expf(xr[j] - m) * inv;
}

__global__ void softmax_bwd_k(const float* y, const float* dy, int64_t cols, float* dx) {
  const int64_t o = blockIdx.x * cols;
  float s = 0;
  for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) s += dy[o + j] * y[o + j];
  s = block_sum(s);
  for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) dx[o + j] = y[o + j] * (dy[o + j] - s);
}

// loss_r = sum_j t_j (lse - z_j) = sum_j t_j (m - z_j) + (sum_j t_j) log(s), with m the row max and
// s = sum_j exp(z_j - m) >= 1: two sums of non-negative terms (for t >= 0), accumulated in double,
// so a row whose loss is tiny (a confident correct prediction) keeps its relative accuracy instead
// of losing it to the cancellation of lse - z_label in float. grad = scale/rows * (softmax * sum t
// - t), formed in double for the same reason (softmax_label - 1 near 0). A thread reads other
// columns' logits only before the barrier of the last block reduction and then writes only the
// gradient of the columns it reads itself, so grad may alias the logits.
__global__ void xent_k(const float* z, const float* t, const int32_t* labels, int64_t cols, int64_t rows,
                       double* loss, float* grad, float grad_scale, int* bad_label) {
  const int64_t r = blockIdx.x;
  const float* zr = z + r * cols;
  const float* tr = t ? t + r * cols : nullptr;
  int32_t lab = -1;
  float zlab = 0.f;
  if (labels) {
    lab = labels[r];
    if (lab < 0 || lab >= cols) {
      if (threadIdx.x == 0) atomicOr(bad_label, 1);
      return;
    }
    zlab = zr[lab];
  }
  float m = -INFINITY;
  for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) m = fmaxf(m, zr[j]);
  m = block_max(m);
  double s = 0, tmz = 0, tsum = 0;
  for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) {
    const float zj = zr[j];
    s += static_cast<double>(expf(zj - m));
    if (tr) {
      const double tj = tr[j];
      tmz += tj * (static_cast<double>(m) - static_cast<double>(zj));
      tsum += tj;
    }
  }
  s = block_sum(s);
  if (tr) {
    tmz = block_sum(tmz);
    tsum = block_sum(tsum);
  } else {
    tmz = static_cast<double>(m) - static_cast<double>(zlab);
    tsum = 1.0;
  }
  if (threadIdx.x == 0) atomicAdd(loss, tmz + tsum * log(s));
  if (grad) {
    const double g = static_cast<double>(grad_scale) / static_cast<double>(rows);
    const double scale = tsum / s;
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) {
      const double e = static_cast<double>(expf(zr[j] - m));
      const double tj = tr ? static_cast<double>(tr[j]) : (j == lab ? 1.0 : 0.0);
      grad[r * cols + j] = static_cast<float>(g * (e * scale - tj));
    }
  }
}

int row_threads(int64_t cols) {
  int t = 32;
  while (t < cols && t < 1024) t *= 2;
  return t;
}

Status reduce_to_host(const float* x, const float* y, int64_t n, double* out, const char* where) {
  void* s = nullptr;
  NT_RETURN_IF_ERROR(scratch(sizeof(double), &s));
  double* d = static_cast<double*>(s);
  zero_k<<<1, 1, 0, cur_stream()>>>(d, nullptr);
  if (n > 0) sumsq_k<<<grid_for(n, kThreads, 1024), kThreads, 0, cur_stream()>>>(x, y, n, d, nullptr);
  NT_CUDA_RETURN(cudaMemcpyAsync(host_scalar(), d, sizeof(double), cudaMemcpyDeviceToHost, cur_stream()), where);
  NT_CUDA_RETURN(cudaStreamSynchronize(cur_stream()), where);
  *out = *host_scalar();
  return Status::Ok();
}

}  // namespace

Status sum_squares_f32_cuda(const float* x, int64_t n, double* out) {
  return reduce_to_host(x, nullptr, n, out, "sum_squares_f32_cuda");
}
Status dot_f32_cuda(const float* x, const float* y, int64_t n, double* out) {
  return reduce_to_host(x, y, n, out, "dot_f32_cuda");
}
Status col_sum_f32_cuda(const float* x, int64_t rows, int64_t cols, int64_t ldx, float* out, bool acc) {
  if (cols <= 0) return Status::Ok();
  col_sum_k<<<grid_for(cols, kThreads), kThreads, 0, cur_stream()>>>(x, rows, cols, ldx, out, acc);
  NT_CUDA_LAUNCHED("col_sum_f32_cuda");
}
Status softmax_f32_cuda(const float* x, int64_t rows, int64_t cols, float* y) {
  if (rows <= 0 || cols <= 0) return Status::Ok();
  softmax_k<<<static_cast<unsigned>(rows), row_threads(cols), 0, cur_stream()>>>(x, cols, y);
  NT_CUDA_LAUNCHED("softmax_f32_cuda");
}
Status softmax_backward_f32_cuda(const float* y, const float* dy, int64_t rows, int64_t cols, float* dx) {
  if (rows <= 0 || cols <= 0) return Status::Ok();
  softmax_bwd_k<<<static_cast<unsigned>(rows), row_threads(cols), 0, cur_stream()>>>(y, dy, cols, dx);
  NT_CUDA_LAUNCHED("softmax_backward_f32_cuda");
}

Status softmax_xent_f32_cuda_dev(const float* logits, const float* targets, const int32_t* labels, int64_t rows,
                                 int64_t cols, double* dev_loss, float* grad, float grad_scale) {
  if ((targets == nullptr) == (labels == nullptr))
    return InvalidArgument("Expected exactly one of targets and labels for softmax_xent but received both or neither");
  if (rows <= 0 || cols <= 0) return Status::Ok();
  void* s = nullptr;
  NT_RETURN_IF_ERROR(scratch(2 * sizeof(double), &s));
  int* bad = reinterpret_cast<int*>(static_cast<double*>(s) + 1);
  zero_k<<<1, 1, 0, cur_stream()>>>(nullptr, bad);
  xent_k<<<static_cast<unsigned>(rows), row_threads(cols), 0, cur_stream()>>>(logits, targets, labels, cols, rows,
                                                                              dev_loss, grad, grad_scale, bad);
  NT_CUDA_LAUNCHED("softmax_xent_f32_cuda");
}

Status softmax_xent_f32_cuda(const float* logits, const float* targets, const int32_t* labels, int64_t rows,
                             int64_t cols, double* loss, float* grad, float grad_scale) {
  if ((targets == nullptr) == (labels == nullptr))
    return InvalidArgument("Expected exactly one of targets and labels for softmax_xent but received both or neither");
  if (rows <= 0 || cols <= 0) {
    *loss = 0;
    return Status::Ok();
  }
  void* s = nullptr;
  NT_RETURN_IF_ERROR(scratch(2 * sizeof(double), &s));
  double* d = static_cast<double*>(s);
  int* bad = reinterpret_cast<int*>(d + 1);
  zero_k<<<1, 1, 0, cur_stream()>>>(d, bad);
  xent_k<<<static_cast<unsigned>(rows), row_threads(cols), 0, cur_stream()>>>(logits, targets, labels, cols, rows, d,
                                                                              grad, grad_scale, bad);
  double h[2];
  NT_CUDA_RETURN(cudaMemcpyAsync(h, d, 2 * sizeof(double), cudaMemcpyDeviceToHost, cur_stream()), "softmax_xent");
  NT_CUDA_RETURN(cudaStreamSynchronize(cur_stream()), "softmax_xent");
  int flag;
  std::memcpy(&flag, &h[1], sizeof(int));
  if (flag) return InvalidArgument("Expected class labels in [0, " + std::to_string(cols) + ") for softmax_xent but received one outside");
  *loss = h[0] / static_cast<double>(rows);
  return Status::Ok();
}

Status zero_scalars(double* dev_sumsq, int* dev_flag) {
  zero_k<<<1, 1, 0, cur_stream()>>>(dev_sumsq, dev_flag);
  NT_CUDA_LAUNCHED("zero_scalars");
}
Status global_norm_sq(const float* g, int64_t n, double* dev_sumsq, int* dev_flag) {
  if (n <= 0) return Status::Ok();
  sumsq_k<<<grid_for(n, kThreads, 1024), kThreads, 0, cur_stream()>>>(g, nullptr, n, dev_sumsq, dev_flag);
  NT_CUDA_LAUNCHED("global_norm_sq");
}
Status clip_scale(const double* dev_sumsq, float clip_norm, int* dev_flag, float* dev_scale) {
  clip_scale_k<<<1, 1, 0, cur_stream()>>>(dev_sumsq, clip_norm, dev_flag, dev_scale);
  NT_CUDA_LAUNCHED("clip_scale");
}

}  // namespace cuda
}  // namespace nt
