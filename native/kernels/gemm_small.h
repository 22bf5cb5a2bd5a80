// The direct float32 GEMM for small products (included by the ISA files that instantiate it:
// native/cpu/x86/gemm_small_avx2.cc, native/cpu/avx512/gemm_small_avx512.cc).
//
// The packed driver (native/kernels/gemm.cc) copies both operands into micro-panels, runs full
// tiles and routes every edge tile through a temporary: for a 16x16x4 product of a tiny model that
// bookkeeping costs ten times the arithmetic. Up to kSmallMaxMNK (gemm.cc) the driver calls this
// instead. It reads A and B in place:
//   C[i, j:j+w] += sum_p op(A)[i, p] * op(B)[p, j:j+w]
// over blocks of R <= 4 rows and chunks of NV <= 2 vectors of V::W columns: R*NV accumulators, one
// broadcast of an A element per row and one load of a B row chunk per k step. The last vector of a
// chunk may be partial (masked loads and stores: no scalar remainder, no read past a row).
// A transposed B (op(B)[p, j] = b[j*ldb + p]) is first copied to a k x n scratch (the caller bounds
// k*n by kSmallMaxBt). Each block stores alpha * acc + beta * C (beta == 0 never reads C); then the
// ISA's packed-GEMM epilogue adds the bias and applies the activation in one pass over C, which the
// size limit keeps in L1/L2.
//
// V (cpu/x86/vec_avx2.h, cpu/avx512/vec_avx512.h) supplies: W, reg, zero(), set1(float), fmadd(a, b, c)
// = a*b + c, mul(a, b), and full or masked
// load(p) / store(p, x) / load_tail(p, n) / store_tail(p, x, n) with 1 <= n <= W.
#pragma once
#include <cstdint>

#include "kernels/gemm_internal.h"
#include "nodetrain/kernels.h"

namespace nt {
namespace gemm_detail {

template <class V, int R, int NV, bool Full>
inline void small_block(const GemmArgs& g, const float* b, int64_t ldb, int64_t si, int64_t sp, int64_t i0, int64_t j0,
                        int tail) {
  using Reg = typename V::reg;
  Reg acc[R][NV];
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v) acc[r][v] = V::zero();
  const float* a = g.a + i0 * si;
  const float* bp = b + j0;
#pragma GCC unroll 4
  for (int64_t p = 0; p < g.k; ++p, a += sp, bp += ldb) {
    Reg bv[NV];
#pragma GCC unroll 2
    for (int v = 0; v < NV - 1; ++v) bv[v] = V::load(bp + v * V::W);
    bv[NV - 1] = Full ? V::load(bp + (NV - 1) * V::W) : V::load_tail(bp + (NV - 1) * V::W, tail);
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
      const Reg ar = V::set1(a[r * si]);
#pragma GCC unroll 2
      for (int v = 0; v < NV; ++v) acc[r][v] = V::fmadd(ar, bv[v], acc[r][v]);
    }
  }
  const Reg alpha = V::set1(g.alpha), beta = V::set1(g.beta);
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r) {
    float* c = g.c + (i0 + r) * g.ldc + j0;
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v) {
      float* cv = c + v * V::W;
      const bool last = v == NV - 1 && !Full;
      Reg x = V::mul(alpha, acc[r][v]);
      if (g.beta != 0.0f) x = V::fmadd(beta, last ? V::load_tail(cv, tail) : V::load(cv), x);
      if (last)
        V::store_tail(cv, x, tail);
      else
        V::store(cv, x);
    }
  }
}

// Columns [j0, n) in chunks of 2 vectors; R rows from i0.
template <class V, int R>
inline void small_rows(const GemmArgs& g, const float* b, int64_t ldb, int64_t si, int64_t sp, int64_t i0) {
  constexpr int64_t W = V::W;
  int64_t j0 = 0;
  for (; j0 + 2 * W <= g.n; j0 += 2 * W) small_block<V, R, 2, true>(g, b, ldb, si, sp, i0, j0, static_cast<int>(W));
  const int64_t rem = g.n - j0;
  if (rem == 0) return;
  if (rem > W) {
    small_block<V, R, 2, false>(g, b, ldb, si, sp, i0, j0, static_cast<int>(rem - W));
  } else if (rem == W) {
    small_block<V, R, 1, true>(g, b, ldb, si, sp, i0, j0, static_cast<int>(W));
  } else {
    small_block<V, R, 1, false>(g, b, ldb, si, sp, i0, j0, static_cast<int>(rem));
  }
}

// The whole product (validated by the driver; m, n, k >= 1). bt: scratch of at least k*n floats,
// used when g.trans_b. ep: the ISA's epilogue (bias + activation).
template <class V>
void gemm_small(const GemmArgs& g, float* bt, EpilogueFn ep) {
  const float* b = g.b;
  int64_t ldb = g.ldb;
  if (g.trans_b) {
    for (int64_t j = 0; j < g.n; ++j) {
      const float* bj = g.b + j * g.ldb;
      for (int64_t p = 0; p < g.k; ++p) bt[p * g.n + j] = bj[p];
    }
    b = bt;
    ldb = g.n;
  }
  // op(A)[i, p] = a[i*si + p*sp]
  const int64_t si = g.trans_a ? 1 : g.lda, sp = g.trans_a ? g.lda : 1;
  int64_t i0 = 0;
  for (; i0 + 4 <= g.m; i0 += 4) small_rows<V, 4>(g, b, ldb, si, sp, i0);
  const int64_t rest = g.m - i0;
  if (rest == 3) small_rows<V, 3>(g, b, ldb, si, sp, i0);
  if (rest == 2) small_rows<V, 2>(g, b, ldb, si, sp, i0);
  if (rest == 1) small_rows<V, 1>(g, b, ldb, si, sp, i0);
  if (g.bias != nullptr || g.act != Act::kNone) ep(g.c, g.ldc, g.m, g.n, g.bias, static_cast<int>(g.act));
}

}  // namespace gemm_detail
}  // namespace nt
