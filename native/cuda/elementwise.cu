// Elementwise kernels on the device: fill, axpy, scale, clamp, activations forward and backward
// (the formulas of native/kernels/elementwise.cc, float32 arithmetic), column-block copies, and
// dropout, both from given uniform draws (the table's slot) and fused with a counter-based Philox
// generator (Salmon, Moraes, Dror & Shaw 2011, "Parallel random numbers: as easy as 1, 2, 3",
// Philox4x32-10; the same constants as cuRAND's curand_philox4x32_x.h), so a (seed, offset) pair
// reproduces the mask on any grid. Grid-stride loops; every size including 0 is valid.
#include "cuda/common.cuh"
#include "cuda/cuda_kernels.h"
#include "kernels/philox.h"

namespace nt {
namespace cuda {
namespace {

constexpr int kThreads = 256;

#define NT_GRID_STRIDE(i, n) \
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < (n); i += static_cast<int64_t>(blockDim.x) * gridDim.x)

__global__ void fill_k(float* d, float v, int64_t n) { NT_GRID_STRIDE(i, n) d[i] = v; }
__global__ void axpy_k(float a, const float* x, int64_t n, float* y) { NT_GRID_STRIDE(i, n) y[i] += a * x[i]; }
__global__ void scale_k(const float* x, float a, int64_t n, float* o) { NT_GRID_STRIDE(i, n) o[i] = a * x[i]; }
__global__ void clamp_k(float* x, float lo, float hi, int64_t n) { NT_GRID_STRIDE(i, n) x[i] = fminf(fmaxf(x[i], lo), hi); }
__global__ void act_fwd_k(Act act, float alpha, const float* x, int64_t n, float* y) {
  NT_GRID_STRIDE(i, n) y[i] = act_apply(act, alpha, x[i]);
}
__global__ void act_bwd_k(Act act, float alpha, const float* x, const float* y, const float* dy, int64_t n, float* dx) {
  NT_GRID_STRIDE(i, n) dx[i] = dy[i] * act_deriv(act, alpha, x[i], y[i]);
}
__global__ void act_bwd_out_k(Act act, const float* y, const float* dy, int64_t n, float* dx) {
  NT_GRID_STRIDE(i, n) {
    const float yi = y[i], g = dy[i];
    float r;
    switch (act) {
      case Act::kRelu: r = yi > 0.f ? g : 0.f; break;
      case Act::kSigmoid: r = g * yi * (1.f - yi); break;
      case Act::kTanh: r = g * (1.f - yi * yi); break;
      default: r = g; break;
    }
    dx[i] = r;
  }
}
__global__ void copy_cols_k(const float* src, int64_t rows, int64_t cols, int64_t lds, float* dst, int64_t ldd,
                            bool acc) {
  NT_GRID_STRIDE(i, rows * cols) {
    const int64_t r = i / cols, c = i - r * cols;
    const float v = src[r * lds + c];
    dst[r * ldd + c] = acc ? dst[r * ldd + c] + v : v;
  }
}
__global__ void dropout_fwd_k(const float* x, const float* u, int64_t n, float keep, float* mask, float* y) {
  const float inv = 1.f / keep;
  NT_GRID_STRIDE(i, n) {
    const float m = u[i] < keep ? inv : 0.f;
    mask[i] = m;
    y[i] = x[i] * m;
  }
}
__global__ void mul_k(const float* a, const float* b, int64_t n, float* o) { NT_GRID_STRIDE(i, n) o[i] = a[i] * b[i]; }

// ---- Philox dropout (kernels/philox.h: the generator and the stream layout, shared with the CPU)
__global__ void philox_dropout_k(const float* x, int64_t n, float keep, uint64_t seed, uint64_t offset, float* mask,
                                 float* y, float* u_out) {
  const float inv = 1.f / keep;
  NT_GRID_STRIDE(q, philox_groups(n, offset)) {
    const U4 r = philox(seed, philox_counter(q, offset));
#pragma unroll
    for (int k = 0; k < 4; ++k) {
      const int64_t i = philox_out_index(q, k, offset);
      if (i < 0 || i >= n) continue;
      const float u = to_unit(philox_word(r, k));
      if (u_out) {
        u_out[i] = u;
      } else {
        const float m = u < keep ? inv : 0.f;
        mask[i] = m;
        y[i] = x[i] * m;
      }
    }
  }
}

}  // namespace

Status fill_f32_cuda(float* d, float v, int64_t n) {
  if (n <= 0) return Status::Ok();
  fill_k<<<grid_for(n, kThreads), kThreads, 0, cur_stream()>>>(d, v, n);
  NT_CUDA_LAUNCHED("fill_f32_cuda");
}
Status axpy_f32_cuda(float a, const float* x, int64_t n, float* y) {
  if (n <= 0) return Status::Ok();
  axpy_k<<<grid_for(n, kThreads), kThreads, 0, cur_stream()>>>(a, x, n, y);
  NT_CUDA_LAUNCHED("axpy_f32_cuda");
}
Status scale_f32_cuda(const float* x, float a, int64_t n, float* o) {
  if (n <= 0) return Status::Ok();
  scale_k<<<grid_for(n, kThreads), kThreads, 0, cur_stream()>>>(x, a, n, o);
  NT_CUDA_LAUNCHED("scale_f32_cuda");
}
Status clamp_f32_cuda(float* x, float lo, float hi, int64_t n) {
  if (n <= 0) return Status::Ok();
  clamp_k<<<grid_for(n, kThreads), kThreads, 0, cur_stream()>>>(x, lo, hi, n);
  NT_CUDA_LAUNCHED("clamp_f32_cuda");
}
Status act_forward_f32_cuda(Act act, float alpha, const float* x, int64_t n, float* y) {
  if (n <= 0) return Status::Ok();
  act_fwd_k<<<grid_for(n, kThreads), kThreads, 0, cur_stream()>>>(act, alpha, x, n, y);
  NT_CUDA_LAUNCHED("act_forward_f32_cuda");
}
Status act_backward_f32_cuda(Act act, float alpha, const float* x, const float* y, const float* dy, int64_t n,
                             float* dx) {
  if (n <= 0) return Status::Ok();
  act_bwd_k<<<grid_for(n, kThreads), kThreads, 0, cur_stream()>>>(act, alpha, x, y, dy, n, dx);
  NT_CUDA_LAUNCHED("act_backward_f32_cuda");
}
Status act_backward_from_output_f32_cuda(Act act, const float* y, const float* dy, int64_t n, float* dx) {
  if (!act_backward_from_output_supported(act))
    return InvalidArgument("Expected linear, relu, sigmoid or tanh for act_backward_from_output but received " +
                           std::to_string(static_cast<int>(act)));
  if (n <= 0) return Status::Ok();
  act_bwd_out_k<<<grid_for(n, kThreads), kThreads, 0, cur_stream()>>>(act, y, dy, n, dx);
  NT_CUDA_LAUNCHED("act_backward_from_output_f32_cuda");
}
Status copy_cols_f32_cuda(const float* src, int64_t rows, int64_t cols, int64_t lds, float* dst, int64_t ldd,
                          bool acc) {
  if (rows <= 0 || cols <= 0) return Status::Ok();
  if (lds < cols || ldd < cols) return InvalidArgument("Expected lds, ldd >= cols for copy_cols but received smaller");
  copy_cols_k<<<grid_for(rows * cols, kThreads), kThreads, 0, cur_stream()>>>(src, rows, cols, lds, dst, ldd, acc);
  NT_CUDA_LAUNCHED("copy_cols_f32_cuda");
}
Status dropout_forward_f32_cuda(const float* x, const float* u, int64_t n, float keep, float* mask, float* y) {
  if (!(keep > 0.f && keep <= 1.f))
    return InvalidArgument("Expected a keep probability in (0, 1] for dropout but received " + std::to_string(keep));
  if (n <= 0) return Status::Ok();
  dropout_fwd_k<<<grid_for(n, kThreads), kThreads, 0, cur_stream()>>>(x, u, n, keep, mask, y);
  NT_CUDA_LAUNCHED("dropout_forward_f32_cuda");
}
Status dropout_backward_f32_cuda(const float* dy, const float* mask, int64_t n, float* dx) {
  if (n <= 0) return Status::Ok();
  mul_k<<<grid_for(n, kThreads), kThreads, 0, cur_stream()>>>(dy, mask, n, dx);
  NT_CUDA_LAUNCHED("dropout_backward_f32_cuda");
}

Status dropout_philox_forward(const float* x, int64_t n, float keep, uint64_t seed, uint64_t offset, float* mask,
                              float* y) {
  if (!(keep > 0.f && keep <= 1.f))
    return InvalidArgument("Expected a keep probability in (0, 1] for dropout but received " + std::to_string(keep));
  if (n <= 0) return Status::Ok();
  philox_dropout_k<<<grid_for((n + 7) / 4, kThreads), kThreads, 0, cur_stream()>>>(x, n, keep, seed, offset, mask, y,
                                                                                   nullptr);
  NT_CUDA_LAUNCHED("dropout_philox_forward");
}
Status philox_uniform(uint64_t seed, uint64_t offset, int64_t n, float* u) {
  if (n <= 0) return Status::Ok();
  philox_dropout_k<<<grid_for((n + 7) / 4, kThreads), kThreads, 0, cur_stream()>>>(nullptr, n, 1.f, seed, offset,
                                                                                   nullptr, nullptr, u);
  NT_CUDA_LAUNCHED("philox_uniform");
}

}  // namespace cuda
}  // namespace nt
