// cuBLAS, loaded with dlopen at run time (native/cuda/cublas_loader.cc): the addon links only the
// CUDA runtime and uses its own kernels when the library is absent.
#pragma once
#include <cuda_runtime.h>

#include "nodetrain/kernels.h"

namespace nt {
namespace cuda {
// prec: 0 FP32, 1 TF32, 2 BF16 (GemmPrecision). Row-major through the column-major library:
// C^T = op(B)^T op(A)^T. No epilogue (bias / activation): the caller runs it.
Status cublas_gemm(const GemmArgs& a, int prec, cudaStream_t stream);
}  // namespace cuda
}  // namespace nt
