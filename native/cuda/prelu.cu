// PReLU on the device (the same kernels as native/kernels/prelu.cc, reached through the CUDA
// table's device_extension by the names the prelu op asks for):
//   forward   y[r, j] = x > 0 ? x : alpha[j] * x
//   backward  dx[r, j] = x > 0 ? dy : alpha[j] * dy;  dalpha[j] = sum_r (x < 0 ? dy * x : 0)
// dalpha is a column sum in double, one thread per column over the rows (coalesced across the
// columns of a row). The argument checks are the CPU kernels' (kernels/prelu_args.h), on the host.
#include <cstring>

#include "cuda/common.cuh"
#include "cuda/cuda_kernels.h"
#include "kernels/prelu_args.h"

namespace nt {
namespace cuda {
namespace {

constexpr int kThreads = 256;

__global__ void prelu_fwd_k(const float* x, const float* alpha, int64_t n, int64_t cols, float* y) {
  for (int64_t t = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; t < n; t += int64_t(gridDim.x) * blockDim.x) {
    const float v = x[t];
    y[t] = v > 0.f ? v : alpha[t % cols] * v;
  }
}

__global__ void prelu_dx_k(const float* x, const float* alpha, const float* dy, int64_t n, int64_t cols, float* dx) {
  for (int64_t t = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; t < n; t += int64_t(gridDim.x) * blockDim.x)
    dx[t] = x[t] > 0.f ? dy[t] : alpha[t % cols] * dy[t];
}

__global__ void prelu_dalpha_k(const float* x, const float* dy, int64_t rows, int64_t cols, float* dalpha) {
  const int64_t j = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (j >= cols) return;
  double s = 0;
  for (int64_t r = 0; r < rows; ++r) {
    const float v = x[r * cols + j];
    if (v < 0.f) s += static_cast<double>(dy[r * cols + j]) * v;
  }
  dalpha[j] = static_cast<float>(s);
}

Status prelu_forward_f32_cuda(const KernelArgs& a) {
  int64_t rows, cols;
  NT_RETURN_IF_ERROR(prelu_detail::forward_checks(a, "prelu_forward_f32", &rows, &cols));
  const int64_t n = rows * cols;
  if (n == 0) return Status::Ok();
  prelu_fwd_k<<<grid_for(n, kThreads), kThreads, 0, cur_stream()>>>(a.buf[0], a.buf[1], n, cols, a.buf[2]);
  NT_CUDA_LAUNCHED("prelu_forward_f32_cuda");
}

Status prelu_backward_f32_cuda(const KernelArgs& a) {
  int64_t rows, cols;
  NT_RETURN_IF_ERROR(prelu_detail::backward_checks(a, "prelu_backward_f32", &rows, &cols));
  const int64_t n = rows * cols;
  if (a.buf[3] && n > 0)
    prelu_dx_k<<<grid_for(n, kThreads), kThreads, 0, cur_stream()>>>(a.buf[0], a.buf[1], a.buf[2], n, cols, a.buf[3]);
  if (a.buf[4] && cols > 0)
    prelu_dalpha_k<<<grid_for(cols, kThreads), kThreads, 0, cur_stream()>>>(a.buf[0], a.buf[2], rows, cols, a.buf[4]);
  NT_CUDA_LAUNCHED("prelu_backward_f32_cuda");
}

}  // namespace

KernelFn device_extension_cuda(const char* name) {
  if (std::strcmp(name, "prelu_forward_f32") == 0) return prelu_forward_f32_cuda;
  if (std::strcmp(name, "prelu_backward_f32") == 0) return prelu_backward_f32_cuda;
  return nullptr;
}

}  // namespace cuda
}  // namespace nt
