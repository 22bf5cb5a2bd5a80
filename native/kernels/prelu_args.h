// Argument checks of the PReLU kernels (native/kernels/prelu.cc, the CUDA ones in
// native/cuda/prelu.cu): the buffer and size layout both read, checked on the host before a launch.
//   prelu_forward_f32:  buffers x, alpha, y; ints rows, cols
//   prelu_backward_f32: buffers x, alpha, dy, dx (null: skip), dalpha (null: skip); ints rows, cols
#pragma once
#include <string>

#include "nodetrain/backend.h"

namespace nt {
namespace prelu_detail {

inline Status check(const KernelArgs& a, int nbuf, const char* who, int64_t* rows, int64_t* cols) {
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

inline Status extent(const KernelArgs& a, int b, int64_t n, bool optional, const char* who) {
  if (optional && a.buf[b] == nullptr) return Status::Ok();
  if (n > 0 && (a.buf[b] == nullptr || a.len[b] < n))
    return InvalidArgument("Expected at least " + std::to_string(n) + " elements for buffer " + std::to_string(b) +
                           " of " + who + " but received " + std::to_string(a.buf[b] ? a.len[b] : 0));
  return Status::Ok();
}

inline Status forward_checks(const KernelArgs& a, const char* who, int64_t* rows, int64_t* cols) {
  NT_RETURN_IF_ERROR(check(a, 3, who, rows, cols));
  NT_RETURN_IF_ERROR(extent(a, 0, *rows * *cols, false, who));
  NT_RETURN_IF_ERROR(extent(a, 1, *cols, false, who));
  return extent(a, 2, *rows * *cols, false, who);
}

inline Status backward_checks(const KernelArgs& a, const char* who, int64_t* rows, int64_t* cols) {
  NT_RETURN_IF_ERROR(check(a, 5, who, rows, cols));
  NT_RETURN_IF_ERROR(extent(a, 0, *rows * *cols, false, who));
  NT_RETURN_IF_ERROR(extent(a, 1, *cols, false, who));
  NT_RETURN_IF_ERROR(extent(a, 2, *rows * *cols, false, who));
  NT_RETURN_IF_ERROR(extent(a, 3, *rows * *cols, true, who));
  return extent(a, 4, *cols, true, who);
}

}  // namespace prelu_detail
}  // namespace nt
