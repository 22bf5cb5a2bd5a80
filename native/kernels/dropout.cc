// Inverted dropout (Srivastava et al. 2014; the "inverted" scaling of tf.keras.layers.Dropout):
// forward y = x * mask with mask = (u < keep) / keep from uniform draws u in [0, 1) that the caller
// supplies (the engine draws them from its seeded generator, so runs are reproducible and the
// kernel stays free of random state); backward dx = dy * mask. Shapes are flat [n].
#include <string>

#include "nodetrain/backend.h"
#include "nodetrain/kernels.h"

namespace nt {
namespace {
Status check(const char* who, int64_t n, const void* a, const void* b) {
  if (n < 0) return InvalidArgument(std::string("Expected n >= 0 for ") + who + " but received " + std::to_string(n));
  if (n > 0 && (a == nullptr || b == nullptr))
    return InvalidArgument(std::string("Expected non-null buffers for ") + who + " but received null");
  return Status::Ok();
}
Status check_keep(const char* who, float keep) {
  if (!(keep > 0.0f && keep <= 1.0f))
    return InvalidArgument(std::string("Expected a keep probability in (0, 1] for ") + who + " but received " +
                           std::to_string(keep));
  return Status::Ok();
}
}  // namespace

Status dropout_forward_f32(const float* x, const float* u, int64_t n, float keep, float* mask, float* y) {
  NT_RETURN_IF_ERROR(check("dropout_forward_f32", n, x, y));
  NT_RETURN_IF_ERROR(check_keep("dropout_forward_f32", keep));
  const float inv = 1.0f / keep;
  if (mask == u) {  // in place (the engine's case): one pointer, so the loop vectorises
    for (int64_t t = 0; t < n; ++t) {
      const float m = mask[t] < keep ? inv : 0.0f;
      mask[t] = m;
      y[t] = x[t] * m;
    }
    return Status::Ok();
  }
  for (int64_t t = 0; t < n; ++t) {
    const float m = u[t] < keep ? inv : 0.0f;
    mask[t] = m;
    y[t] = x[t] * m;
  }
  return Status::Ok();
}

Status dropout_forward_f32_ref(const float* x, const float* u, int64_t n, float keep, float* mask, float* y) {
  NT_RETURN_IF_ERROR(check("dropout_forward_f32_ref", n, x, y));
  NT_RETURN_IF_ERROR(check_keep("dropout_forward_f32_ref", keep));
  for (int64_t t = 0; t < n; ++t) {
    const bool kept = u[t] < keep;
    mask[t] = kept ? 1.0f / keep : 0.0f;
    y[t] = kept ? static_cast<float>(static_cast<double>(x[t]) * mask[t]) : 0.0f * x[t];
  }
  return Status::Ok();
}

Status dropout_backward_f32(const float* dy, const float* mask, int64_t n, float* dx) {
  NT_RETURN_IF_ERROR(check("dropout_backward_f32", n, dy, dx));
  for (int64_t t = 0; t < n; ++t) dx[t] = dy[t] * mask[t];
  return Status::Ok();
}

Status dropout_backward_f32_ref(const float* dy, const float* mask, int64_t n, float* dx) {
  NT_RETURN_IF_ERROR(check("dropout_backward_f32_ref", n, dy, dx));
  for (int64_t t = 0; t < n; ++t) dx[t] = static_cast<float>(static_cast<double>(dy[t]) * mask[t]);
  return Status::Ok();
}

namespace {
// dropout_forward: buf x, u, mask, y; i n; f keep.  dropout_backward: buf dy, mask, dx; i n.
template <bool kRef>
Status fwd(const KernelArgs& a) {
  if (a.nbuf < 4 || a.ni < 1 || a.nf < 1)
    return InvalidArgument("Expected 4 buffers, 1 integer and 1 number for dropout_forward_f32");
  const int64_t n = a.i[0];
  for (int b = 0; b < 4; ++b)
    if (n < 0 || !a.buf[b] || a.len[b] < n)
      return InvalidArgument("Expected at least " + std::to_string(n) + " elements for buffer " + std::to_string(b));
  return (kRef ? dropout_forward_f32_ref : dropout_forward_f32)(a.buf[0], a.buf[1], n, static_cast<float>(a.f[0]),
                                                                a.buf[2], a.buf[3]);
}
template <bool kRef>
Status bwd(const KernelArgs& a) {
  if (a.nbuf < 3 || a.ni < 1) return InvalidArgument("Expected 3 buffers and 1 integer for dropout_backward_f32");
  const int64_t n = a.i[0];
  for (int b = 0; b < 3; ++b)
    if (n < 0 || !a.buf[b] || a.len[b] < n)
      return InvalidArgument("Expected at least " + std::to_string(n) + " elements for buffer " + std::to_string(b));
  return (kRef ? dropout_backward_f32_ref : dropout_backward_f32)(a.buf[0], a.buf[1], n, a.buf[2]);
}
}  // namespace

NT_REGISTER_KERNEL(KernelVariants{"dropout_forward_f32", fwd<false>, fwd<true>});
NT_REGISTER_KERNEL(KernelVariants{"dropout_backward_f32", bwd<false>, bwd<true>});

}  // namespace nt
