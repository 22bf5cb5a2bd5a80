// Shared helpers of the CUDA kernels: Status from cudaError_t, the backend's stream, grid sizing,
// warp/block reductions (shuffle trees as in llm.c llmc/cuda_utils.cuh blockReduce), and the
// activation functions of the epilogues and elementwise kernels (the same formulas as
// native/kernels/elementwise.cc: GELU is the tanh approximation).
#pragma once
#include <cuda_runtime.h>

#include <cmath>
#include <cstring>
#include <cstdint>
#include <string>

#include "cuda/cuda_backend.h"
#include "nodetrain/status.h"

namespace nt {
namespace cuda {

inline cudaStream_t cur_stream() { return static_cast<cudaStream_t>(stream()); }

inline Status from_cuda(cudaError_t e, const char* where) {
  if (e == cudaSuccess) return Status::Ok();
  if (e == cudaErrorMemoryAllocation)
    return Status(StatusCode::kOutOfMemory, std::string(where) + ": " + cudaGetErrorString(e));
  return Internal(std::string("CUDA error in ") + where + ": " + cudaGetErrorString(e));
}
#define NT_CUDA_RETURN(expr, where) NT_RETURN_IF_ERROR(::nt::cuda::from_cuda((expr), where))
// After a launch: the launch error (bad configuration), never a sync.
#define NT_CUDA_LAUNCHED(where) return ::nt::cuda::from_cuda(cudaGetLastError(), where)

inline unsigned grid_for(int64_t n, int threads, int64_t max_blocks = 65535LL * 8) {
  int64_t b = (n + threads - 1) / threads;
  if (b < 1) b = 1;
  if (b > max_blocks) b = max_blocks;
  return static_cast<unsigned>(b);
}

template <typename T>
__device__ __forceinline__ T warp_sum(T v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}
__device__ __forceinline__ float warp_max(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}
// Sum over the block (blockDim.x a multiple of 32, at most 1024); every thread gets the result.
template <typename T>
__device__ T block_sum(T v) {
  __shared__ T part[32];
  const int lane = threadIdx.x & 31, w = threadIdx.x >> 5, nw = (blockDim.x + 31) >> 5;
  v = warp_sum(v);
  __syncthreads();  // part[] may still be read by a previous call
  if (lane == 0) part[w] = v;
  __syncthreads();
  T r = lane < nw ? part[lane] : T(0);
  return warp_sum(r);
}
__device__ inline float block_max(float v) {
  __shared__ float part[32];
  const int lane = threadIdx.x & 31, w = threadIdx.x >> 5, nw = (blockDim.x + 31) >> 5;
  v = warp_max(v);
  __syncthreads();
  if (lane == 0) part[w] = v;
  __syncthreads();
  float r = lane < nw ? part[lane] : -INFINITY;
  return warp_max(r);
}

constexpr float kGeluC = 0.7978845608028654f;  // sqrt(2/pi)
constexpr float kGeluK = 0.044715f;

__device__ __forceinline__ float act_apply(Act act, float alpha, float v) {
  switch (act) {
    case Act::kNone: return v;
    case Act::kRelu: return v < 0.f ? 0.f : v;
    case Act::kLeakyRelu: return v < 0.f ? alpha * v : v;
    case Act::kElu: return v > 0.f ? v : alpha * expm1f(v);
    case Act::kGelu: return v / (1.f + __expf(-2.f * kGeluC * (v + kGeluK * v * v * v)));
    case Act::kSigmoid: return 1.f / (1.f + __expf(-v));
    case Act::kTanh: return tanhf(v);
    default: return fmaxf(v, 0.f) + log1pf(__expf(-fabsf(v)));  // softplus
  }
}
// d act / d x at x (v), given the output y.
__device__ __forceinline__ float act_deriv(Act act, float alpha, float v, float y) {
  switch (act) {
    case Act::kNone: return 1.f;
    case Act::kRelu: return v > 0.f ? 1.f : 0.f;
    case Act::kLeakyRelu: return v > 0.f ? 1.f : alpha;
    case Act::kElu: return v > 0.f ? 1.f : y + alpha;
    case Act::kGelu: {
      const float s = 1.f / (1.f + __expf(-2.f * kGeluC * (v + kGeluK * v * v * v)));
      return s + 2.f * v * s * (1.f - s) * kGeluC * (1.f + 3.f * kGeluK * v * v);
    }
    case Act::kSigmoid: return y * (1.f - y);
    case Act::kTanh: return 1.f - y * y;
    default: return 1.f / (1.f + __expf(-v));
  }
}

// Device scratch of the calling host thread (grown on demand; used by reductions with host
// results and by the loss's flags): valid for the launches this thread enqueues until its next call.
Status scratch(size_t bytes, void** p);
// The calling thread's host double (pinned where possible) for synchronous scalar results.
double* host_scalar();

}  // namespace cuda
}  // namespace nt
