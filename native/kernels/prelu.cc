// PReLU (He et al. 2015, "Delving Deep into Rectifiers"; tf.keras.layers.PReLU with one slope per
// feature) over row-major [rows, cols]:
//   forward   y[r, j] = x > 0 ? x : alpha[j] * x
//   backward  dx[r, j] = x > 0 ? dy : alpha[j] * dy;  dalpha[j] = sum_r (x < 0 ? dy * x : 0)
// The fast kernels sum dalpha in double per column; the scalar _ref twins compute everything in
// double and round once. This file registers both with the Backend (NT_REGISTER_KERNEL), so the
// prelu op and the parity tests reach them by name: a new kernel needs no edit elsewhere.
//   prelu_forward_f32:  buffers x, alpha, y; ints rows, cols
//   prelu_backward_f32: buffers x, alpha, dy, dx (null: skip), dalpha (null: skip); ints rows, cols
#include <string>

#include "nodetrain/backend.h"

namespace nt {
namespace {

Status check(const KernelArgs& a, int nbuf, const char* who, int64_t* rows, int64_t* cols) {
  if (a.nbuf < nbuf || a.ni < 2)
    return InvalidArgument(std::string("Expected ") + std::to_string(nbuf) + " buffers and 2 integers for " + who +
                           " but received " + std::to_string(a.nbuf) + " and " + std::to_string(a.ni));
  *rows = a.i[0];
  *cols = a.i[1];
  if (*rows < 0 || *cols < 0)
    return InvalidArgument(std::string("Expected sizes >= 0 for ") + who + " but received rows " +
                           std::to_string(*rows) + ", cols " + std::to_string(*cols));
  return Status::Ok();
}

Status extent(const KernelArgs& a, int b, int64_t n, bool optional, const char* who) {
  if (optional && a.buf[b] == nullptr) return Status::Ok();
  if (n > 0 && (a.buf[b] == nullptr || a.len[b] < n))
    return InvalidArgument("Expected at least " + std::to_string(n) + " elements for buffer " + std::to_string(b) +
                           " of " + who + " but received " + std::to_string(a.buf[b] ? a.len[b] : 0));
  return Status::Ok();
}

Status forward_checks(const KernelArgs& a, const char* who, int64_t* rows, int64_t* cols) {
  NT_RETURN_IF_ERROR(check(a, 3, who, rows, cols));
  NT_RETURN_IF_ERROR(extent(a, 0, *rows * *cols, false, who));
  NT_RETURN_IF_ERROR(extent(a, 1, *cols, false, who));
  return extent(a, 2, *rows * *cols, false, who);
}

Status backward_checks(const KernelArgs& a, const char* who, int64_t* rows, int64_t* cols) {
  NT_RETURN_IF_ERROR(check(a, 5, who, rows, cols));
  NT_RETURN_IF_ERROR(extent(a, 0, *rows * *cols, false, who));
  NT_RETURN_IF_ERROR(extent(a, 1, *cols, false, who));
  NT_RETURN_IF_ERROR(extent(a, 2, *rows * *cols, false, who));
  NT_RETURN_IF_ERROR(extent(a, 3, *rows * *cols, true, who));
  return extent(a, 4, *cols, true, who);
}

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
