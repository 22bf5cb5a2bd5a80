// The activation and softmax loops (native/kernels/act_loops.h) compiled with this library's
// AVX512 flags, for the AVX512 level of the dispatch table (native/kernels/elementwise.cc).
#define NT_ACT_NS act_avx512
#include "kernels/act_loops.h"
#undef NT_ACT_NS
#include "kernels/act_detail.h"

namespace nt {
namespace act_detail {

void act_fwd_avx512(Act act, float alpha, const float* x, float* y, int64_t s, int64_t e) {
  act_avx512::act_fwd_any(act, alpha, x, y, s, e);
}
void act_bwd_avx512(Act act, float alpha, const float* x, const float* y, const float* dy, float* dx, int64_t s,
                    int64_t e) {
  act_avx512::act_bwd_any(act, alpha, x, y, dy, dx, s, e);
}
void softmax_rows_avx512(const float* x, int64_t cols, float* y, int64_t r0, int64_t r1) {
  act_avx512::softmax_rows(x, cols, y, r0, r1);
}
void from_output_avx512(Act act, const float* y, const float* dy, float* dz, int64_t s, int64_t e) {
  act_avx512::from_output_any(act, y, dy, dz, s, e);
}
double xent_rows_avx512(const float* logits, const float* targets, const int32_t* labels, int64_t r0, int64_t r1,
                    int64_t cols, float* grad, float gscale) {
  return act_avx512::xent_rows(logits, targets, labels, r0, r1, cols, grad, gscale);
}

}  // namespace act_detail
}  // namespace nt
