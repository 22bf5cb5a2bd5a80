// bf16 x bf16 -> fp32 GEMM, the building block of mixed precision: C[m,n] = bf16(A)[m,k] bf16(B)[k,n]
// with fp32 accumulation, row-major, no transposes. bf16(x) rounds a float to the nearest bfloat16
// (8-bit significand) with ties to even, as vcvtne2ps2bf16 does; NaN stays NaN.
//
// Variants (registered as "gemm_bf16_f32"; buffers a, b, c; ints m, n, k):
//   ref     rounds both operands with bf16_round() and accumulates in double.
//   fast    the emulation for CPUs without AVX512-BF16: the same rounding of both operands, each
//           product exact in fp32 (two 8-bit significands), accumulated in fp32. Same inputs as
//           the hardware path; results differ from it only in fp32 summation order.
//   avx512  vdpbf16ps (native/cpu/avx512/gemm_bf16_avx512.cc) where cpu_features() reports
//           AVX512-BF16, else the emulation. (AMX-BF16 tiles are not implemented.)
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>

#include "nodetrain/backend.h"
#include "nodetrain/cpu_features.h"

namespace nt {

namespace bf16_detail {
#if defined(NT_HAVE_AVX512_KERNELS)
void gemm_bf16_f32_avx512bf16(const float* a, const float* b, float* c, int64_t m, int64_t n, int64_t k);
#endif
}  // namespace bf16_detail

namespace {

// Round to the nearest bfloat16 (ties to even), returned as the float it represents.
inline float bf16_round(float x) {
  uint32_t u;
  std::memcpy(&u, &x, sizeof u);
  if ((u & 0x7F800000u) == 0x7F800000u && (u & 0x007FFFFFu) != 0) {
    u |= 0x00400000u;  // quiet NaN, kept NaN after truncation
  } else {
    u += 0x7FFFu + ((u >> 16) & 1u);
  }
  u &= 0xFFFF0000u;
  float r;
  std::memcpy(&r, &u, sizeof r);
  return r;
}

Status checks(const KernelArgs& a, int64_t* m, int64_t* n, int64_t* k) {
  const char* who = "gemm_bf16_f32";
  if (a.nbuf < 3 || a.ni < 3)
    return InvalidArgument(std::string("Expected 3 buffers and 3 integers for ") + who + " but received " +
                           std::to_string(a.nbuf) + " and " + std::to_string(a.ni));
  *m = a.i[0];
  *n = a.i[1];
  *k = a.i[2];
  if (*m < 0 || *n < 0 || *k < 0)
    return InvalidArgument(std::string("Expected sizes >= 0 for ") + who + " but received m " + std::to_string(*m) +
                           ", n " + std::to_string(*n) + ", k " + std::to_string(*k));
  const int64_t need[3] = {*m * *k, *k * *n, *m * *n};
  for (int i = 0; i < 3; ++i)
    if (need[i] > 0 && (a.buf[i] == nullptr || a.len[i] < need[i]))
      return InvalidArgument("Expected at least " + std::to_string(need[i]) + " elements for buffer " +
                             std::to_string(i) + " of " + who + " but received " +
                             std::to_string(a.buf[i] ? a.len[i] : 0));
  return Status::Ok();
}

Status gemm_bf16_f32_ref(const KernelArgs& args) {
  int64_t m, n, k;
  NT_RETURN_IF_ERROR(checks(args, &m, &n, &k));
  const float* a = args.buf[0];
  const float* b = args.buf[1];
  float* c = args.buf[2];
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double s = 0.0;
      for (int64_t p = 0; p < k; ++p)
        s += static_cast<double>(bf16_round(a[i * k + p])) * static_cast<double>(bf16_round(b[p * n + j]));
      c[i * n + j] = static_cast<float>(s);
    }
  return Status::Ok();
}

Status gemm_bf16_f32_emulated(const KernelArgs& args) {
  int64_t m, n, k;
  NT_RETURN_IF_ERROR(checks(args, &m, &n, &k));
  const float* a = args.buf[0];
  const float* b = args.buf[1];
  float* c = args.buf[2];
  for (int64_t i = 0; i < m * n; ++i) c[i] = 0.0f;
  for (int64_t i = 0; i < m; ++i) {
    float* ci = c + i * n;
    for (int64_t p = 0; p < k; ++p) {
      const float av = bf16_round(a[i * k + p]);
      const float* bp = b + p * n;
      for (int64_t j = 0; j < n; ++j) ci[j] += av * bf16_round(bp[j]);
    }
  }
  return Status::Ok();
}

Status gemm_bf16_f32_avx512(const KernelArgs& args) {
#if defined(NT_HAVE_AVX512_KERNELS)
  if (cpu_features().avx512_bf16) {
    int64_t m, n, k;
    NT_RETURN_IF_ERROR(checks(args, &m, &n, &k));
    bf16_detail::gemm_bf16_f32_avx512bf16(args.buf[0], args.buf[1], args.buf[2], m, n, k);
    return Status::Ok();
  }
#endif
  return gemm_bf16_f32_emulated(args);
}

}  // namespace

NT_REGISTER_KERNEL(KernelVariants{"gemm_bf16_f32", gemm_bf16_f32_emulated, gemm_bf16_f32_ref, nullptr,
                                  gemm_bf16_f32_avx512});

}  // namespace nt
