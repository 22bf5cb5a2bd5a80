// PReLU (He et al. 2015, "Delving Deep into Rectifiers"; tf.keras.layers.PReLU with one slope per
// feature) over row-major [rows, cols]:
//   forward   y[r, j] = x > 0 ? x : alpha[j] * x
//   backward  dx[r, j] = x > 0 ? dy : alpha[j] * dy;  dalpha[j] = sum_r (x < 0 ? dy * x : 0)
// The fast kernels sum dalpha in double per column; the scalar _ref twins compute everything in
// double and round once. This file registers both with the Backend (NT_REGISTER_KERNEL), so the
// prelu op and the parity tests reach them by name: a new kernel needs no edit elsewhere.
//   prelu_forward_f32:  buffers x, alpha, y; ints rows, cols
//   prelu_backward_f32: buffers x, alpha, dy, dx (null: skip), dalpha (null: skip); ints rows, cols
#include "kernels/prelu_args.h"

namespace nt {
namespace {

using prelu_detail::backward_checks;
using prelu_detail::forward_checks;

Status prelu_forward_f32(const KernelArgs& a) {
  int64_t rows, cols;
  NT_RETURN_IF_ERROR(forward_checks(a, "prelu_forward_f32", &rows, &cols));
  const float* __restrict__ x = a.buf[0];
  const float* __restrict__ alpha = a.buf[1];
  float* __restrict__ y = a.buf[2];
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * cols;
    float* yr = y + r * cols;
    for (int64_t j = 0; j < cols; ++j) yr[j] = xr[j] > 0.0f ? xr[j] : alpha[j] * xr[j];
  }
  return Status::Ok();
}

Status prelu_forward_f32_ref(const KernelArgs& a) {
  int64_t rows, cols;
  NT_RETURN_IF_ERROR(forward_checks(a, "prelu_forward_f32_ref", &rows, &cols));
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < cols; ++j) {
      const double x = a.buf[0][r * cols + j];
      a.buf[2][r * cols + j] = static_cast<float>(x > 0.0 ? x : static_cast<double>(a.buf[1][j]) * x);
    }
  return Status::Ok();
}

Status prelu_backward_f32(const KernelArgs& a) {
  int64_t rows, cols;
  NT_RETURN_IF_ERROR(backward_checks(a, "prelu_backward_f32", &rows, &cols));
  const float* x = a.buf[0];
  const float* alpha = a.buf[1];
  const float* dy = a.buf[2];
  float* dx = a.buf[3];
  float* dalpha = a.buf[4];
  if (dx)
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t j = 0; j < cols; ++j) {
        const int64_t t = r * cols + j;
        dx[t] = x[t] > 0.0f ? dy[t] : alpha[j] * dy[t];
      }
  if (dalpha)
    for (int64_t j = 0; j < cols; ++j) {
      double s = 0;
      for (int64_t r = 0; r < rows; ++r) {
        const int64_t t = r * cols + j;
        if (x[t] < 0.0f) s += static_cast<double>(dy[t]) * x[t];
      }
      dalpha[j] = static_cast<float>(s);
    }
  return Status::Ok();
}

Status prelu_backward_f32_ref(const KernelArgs& a) {
  int64_t rows, cols;
  NT_RETURN_IF_ERROR(backward_checks(a, "prelu_backward_f32_ref", &rows, &cols));
  for (int64_t j = 0; j < cols; ++j) {
    double s = 0;
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t t = r * cols + j;
      const double x = a.buf[0][t], dy = a.buf[2][t];
      if (a.buf[3]) a.buf[3][t] = static_cast<float>(x > 0.0 ? dy : static_cast<double>(a.buf[1][j]) * dy);
      if (x < 0.0) s += dy * x;
    }
    if (a.buf[4]) a.buf[4][j] = static_cast<float>(s);
  }
  return Status::Ok();
}

}  // namespace

NT_REGISTER_KERNEL(KernelVariants{"prelu_forward_f32", prelu_forward_f32, prelu_forward_f32_ref});
NT_REGISTER_KERNEL(KernelVariants{"prelu_backward_f32", prelu_backward_f32, prelu_backward_f32_ref});

}  // namespace nt
