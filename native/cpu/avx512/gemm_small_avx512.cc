// The direct small-product GEMM (native/kernels/gemm_small.h) on the AVX-512 trait (16 floats,
// cpu/avx512/vec_avx512.h). Built into nt_avx512; called only through the AVX-512 kernel set.
#include "cpu/avx512/vec_avx512.h"
#include "kernels/gemm_small.h"

namespace nt {
namespace gemm_detail {

void gemm_small_f32_avx512(const GemmArgs& g, float* bt) { gemm_small<Avx512Vec>(g, bt, gemm_epilogue_f32_avx512); }

}  // namespace gemm_detail
}  // namespace nt
