// The direct small-product GEMM (native/kernels/gemm_small.h) on the AVX2 trait (8 floats,
// cpu/x86/vec_avx2.h). Built into nt_avx2 with -mavx2 -mfma; called only through the AVX2 kernel set.
#include "cpu/x86/vec_avx2.h"
#include "kernels/gemm_small.h"

namespace nt {
namespace gemm_detail {

void gemm_small_f32_avx2(const GemmArgs& g, float* bt) { gemm_small<Avx2Vec>(g, bt, gemm_epilogue_f32_avx2); }

}  // namespace gemm_detail
}  // namespace nt
