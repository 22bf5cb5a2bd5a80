// float32 GEMM: C[M,N] = act( alpha * op(A) op(B) + beta * C + bias[N] ), row-major, any M, N, K >= 0,
// op = identity or transpose on either side, row strides lda/ldb/ldc (see nodetrain/kernels.h).
//
// gemm_f32 follows the BLIS five-loop structure (Goto & van de Geijn, "Anatomy of High-Performance
// Matrix Multiplication", ACM TOMS 2008; Van Zee & van de Geijn, "BLIS", ACM TOMS 2015):
//   jc over N in NC blocks -> pc over K in KC blocks (pack B~ KCxNC, lives in L3)
//     -> ic over M in MC blocks (pack A~ MCxKC, lives in L2)
//       -> jr over NR=16 columns -> ir over MR=6 rows -> 6x16 microkernel (B~ sliver in L1).
// Packing handles both transposes, so the microkernel only ever sees one layout. Edge tiles are
// computed into a temporary 6x16 tile and merged. The fused epilogue (+bias, activation) runs on
// each tile right after its last k block, while the tile is still in L1, so a dense layer's forward
// pass is one pass over C.
//
// Threads: C is cut into nth rectangles (a tm x tn grid chosen to minimise the rectangle
// perimeter, i.e. the packing and memory traffic), and each thread runs the serial five loops on
// its own rectangle with its own packing buffers. This needs no barrier between packing and
// compute (nt::parallel_for has none), never splits k, and costs only duplicated packing of the
// shared operand, which is O(MK + KN) against O(MNK) flops.
//
// Blocking for Zen3 (32 KiB L1d, 512 KiB L2 per core, 32 MiB L3), BLIS's zen sgemm values:
// KC=256: the B~ sliver (256x16 floats = 16 KiB) fills half of L1d, leaving room for the A~ sliver
// (6 KiB) and the C tile; MC=144: the A~ block (144x256 floats = 144 KiB) stays in L2 beside the
// B~ slivers streaming through it; NC=4080: B~ (4 MiB) lives in L3. On the 2 MiB-L2 Xeon used for
// development, MC/KC from 72..240 / 256..512 measured within noise of each other at 1024^3.
// NODETRAIN_GEMM_BLOCKING="MC,KC,NC" overrides them (read once) for tuning on other machines.
//
// gemm_f32_ref is the scalar triple loop with double accumulation and the same epilogue.
//
// gemm_bf16 (precision 'bf16'): the same driver and epilogue with both operands rounded to bf16
// (nearest, ties to even) as they are packed, products accumulated in fp32, C, bias and the
// epilogue in fp32. By operand format (Kernels::ops):
//   AMX-BF16       tdpbf16ps on 16x16 tiles, 32x32 per microkernel (native/cpu/avx512/gemm_bf16_amx.cc;
//                  for tests on CPUs without AMX, the same kernel source on emulated tiles);
//   AVX512-BF16    vdpbf16ps, 14x32 (native/cpu/avx512/gemm_bf16_avx512.cc);
//   elsewhere      the emulation: the ISA's f32 microkernels over panels rounded to bf16 values. Every
//                  product of two bf16 values is exact in fp32, so it computes the same sums as the
//                  hardware paths, in another order (and without their flush of subnormals to zero).
// gemm_bf16_ref rounds the operands the same way and accumulates in double.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>

#include "kernels/gemm_internal.h"
#include "nodetrain/backend.h"
#include "nodetrain/cpu_features.h"
#include "kernels/variants.h"
#include "nodetrain/kernels.h"
#include "nodetrain/parallel.h"

namespace nt {
namespace {

using gemm_detail::EpilogueFn;
using gemm_detail::kGemmMR;
using gemm_detail::kGemmNR;
using gemm_detail::MicroKernelFn;
using gemm_detail::PackA6Fn;
using gemm_detail::PackBT16Fn;

constexpr int64_t kMR = kGemmMR;
constexpr int64_t kNR = kGemmNR;

struct Blocking {
  int64_t mc = 144;
  int64_t kc = 256;
  int64_t nc = 4080;
};

// The NODETRAIN_GEMM_BLOCKING override ("MC,KC,NC"), or mc = 0 when unset or invalid.
const Blocking& env_blocking() {
  static const Blocking b = [] {
    Blocking x{0, 0, 0};
    if (const char* s = std::getenv("NODETRAIN_GEMM_BLOCKING")) {
      long mc = 0, kc = 0, nc = 0;
      char* end = nullptr;
      mc = std::strtol(s, &end, 10);
      if (end && *end == ',') kc = std::strtol(end + 1, &end, 10);
      if (end && *end == ',') nc = std::strtol(end + 1, &end, 10);
      if (mc >= 1 && kc >= 1 && nc >= 1) x = Blocking{mc, kc, nc};
    }
    return x;
  }();
  return b;
}

// Below this many flops (2*m*n*k) one thread is faster than waking the pool.
constexpr double kMinFlopsPerThread = 1.5e6;

// Products with m*n*k at most this run the direct kernel (kernels/gemm_small.h) of the f32 kernel
// sets that have one; NODETRAIN_GEMM_SMALL=<m*n*k> overrides it (read once; 0 turns it off). On
// Zen 4 (scripts/bench/gemm-small.js, 1 thread) the direct kernel measured 1.05-1.6x faster than
// the packed driver from 16x16x4 to 80^3 (AVX-512 and AVX2), 2.3-2.5x on the narrow products of a
// 10-class head (128x10x256), and still 1.1-1.2x at 128^3; the limit stays below the size at which
// the packed driver starts a second thread (2*m*n*k >= 2 * kMinFlopsPerThread), which it cannot.
constexpr int64_t kSmallMaxMNK = int64_t(1) << 19;
static_assert(2.0 * kSmallMaxMNK < 2 * kMinFlopsPerThread, "the direct kernel is single-threaded");
// A transposed B is copied to a stack scratch of k*n floats (32 KiB) on that path.
constexpr int64_t kSmallMaxBt = 8192;
int64_t small_max_mnk() {
  static const int64_t v = [] {
    if (const char* s = std::getenv("NODETRAIN_GEMM_SMALL")) {
      char* end = nullptr;
      const long long x = std::strtoll(s, &end, 10);
      if (end != s && *end == '\0' && x >= 0) return static_cast<int64_t>(x);
    }
    return kSmallMaxMNK;
  }();
  return v;
}

bool epilogue_act_supported(Act a) {
  return a == Act::kNone || a == Act::kRelu || a == Act::kGelu || a == Act::kSigmoid || a == Act::kTanh;
}

// ---- portable microkernel and epilogue --------------------------------------------------------

void gemm_f32_portable_6x16(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, float alpha,
                            float beta) {
  float acc[kMR][kNR];
  for (int i = 0; i < kMR; ++i)
    for (int j = 0; j < kNR; ++j) acc[i][j] = 0.0f;
  for (int64_t p = 0; p < kc; ++p) {
    const float* bp = b + p * kNR;
    const float* ap = a + p * kMR;
    for (int i = 0; i < kMR; ++i) {
      const float ai = ap[i];
      for (int j = 0; j < kNR; ++j) acc[i][j] += ai * bp[j];
    }
  }
  for (int i = 0; i < kMR; ++i) {
    float* ci = c + i * ldc;
    if (beta == 0.0f) {
      for (int j = 0; j < kNR; ++j) ci[j] = alpha * acc[i][j];
    } else {
      for (int j = 0; j < kNR; ++j) ci[j] = alpha * acc[i][j] + beta * ci[j];
    }
  }
}

inline float act_scalar(Act act, float x) {
  switch (act) {
    case Act::kRelu: return x > 0.0f ? x : 0.0f;
    case Act::kGelu: {
      const float u = 0.7978845608028654f * (x + 0.044715f * x * x * x);
      return 0.5f * x * (1.0f + std::tanh(u));
    }
    case Act::kSigmoid: return 1.0f / (1.0f + std::exp(-x));
    case Act::kTanh: return std::tanh(x);
    default: return x;
  }
}

void gemm_epilogue_f32_portable(float* c, int64_t ldc, int64_t rows, int64_t cols, const float* bias, int act_i) {
  const Act act = static_cast<Act>(act_i);
  for (int64_t i = 0; i < rows; ++i) {
    float* ci = c + i * ldc;
    if (bias)
      for (int64_t j = 0; j < cols; ++j) ci[j] += bias[j];
    if (act != Act::kNone)
      for (int64_t j = 0; j < cols; ++j) ci[j] = act_scalar(act, ci[j]);
  }
}

void gemm_pack_a6_portable(const float* a, int64_t lda, int64_t kc, float* dst) {
  for (int64_t p = 0; p < kc; ++p) {
    float* d = dst + p * kMR;
    for (int64_t r = 0; r < kMR; ++r) d[r] = a[r * lda + p];
  }
}

void gemm_pack_bt16_portable(const float* b, int64_t ldb, int64_t kc, float* dst) {
  // Blocks of 8 k steps keep the reads of each of the 16 rows within one cache line.
  for (int64_t p = 0; p < kc; p += 8) {
    const int64_t pe = std::min(p + 8, kc);
    for (int64_t j = 0; j < kNR; ++j) {
      const float* s = b + j * ldb;
      for (int64_t q = p; q < pe; ++q) dst[q * kNR + j] = s[q];
    }
  }
}

// One kernel set: its tile shape (mr x nr, mr <= kMaxMR, nr <= kMaxNR), its microkernel, epilogue
// and full-sliver packers, and the cache blocking chosen for it (mc a multiple of mr).
constexpr int64_t kMaxMR = 32, kMaxNR = 32;
// How the packed operands reach the microkernel (see gemm_internal.h, "bf16 operands").
enum class Operands {
  kF32,        // float32 panels
  kBf16Round,  // float32 panels whose values are rounded to bf16 (the emulation: f32 microkernels)
  kBf16Pairs,  // bf16 pairs along k, converted from the float32 panels (vdpbf16ps / AMX microkernels)
};
struct Kernels {
  int64_t mr, nr;
  MicroKernelFn uk;
  EpilogueFn ep;
  PackA6Fn pack_a;    // full mr-row sliver of a row-major A
  PackBT16Fn pack_bt; // full nr-row sliver of a transposed B
  Blocking bl;
  Operands ops = Operands::kF32;
  gemm_detail::PairsAFn pairs_a = nullptr;  // kBf16Pairs: float32 A panel -> the kernel's bf16 A layout
  gemm_detail::PairsBFn pairs_b = nullptr;  // kBf16Pairs: float32 B panel -> bf16 pairs along k
  int64_t kd_align = 1;  // kBf16Pairs: the pair count per block is padded (with zeros) to a multiple of this
  gemm_detail::SmallFn small = nullptr;  // kF32: the direct kernel for small products (gemm_small.h)
  gemm_detail::PairsBRowsFn pairs_b_rows = nullptr;  // kBf16Pairs: B stored as is -> pairs, no panel
  gemm_detail::PairsARowsFn pairs_a_rows = nullptr;  // kBf16Pairs: full slivers of A stored as is -> pairs
  gemm_detail::PairsBRowsFn pairs_at_rows = nullptr;  // kBf16Pairs: slivers of a transposed A -> pairs
  gemm_detail::PairsBRowsFn pairs_bt_rows = nullptr;  // kBf16Pairs: tiles of a transposed B -> pairs
};
constexpr Kernels with_small(Kernels k, gemm_detail::SmallFn f) {
  k.small = f;
  return k;
}

constexpr Kernels kPortableKernels = {kMR, kNR, gemm_f32_portable_6x16, gemm_epilogue_f32_portable,
                                      gemm_pack_a6_portable, gemm_pack_bt16_portable, {144, 256, 4080}};
#if defined(NT_HAVE_AVX2_KERNELS)
constexpr Kernels kAvx2Kernels = with_small({kMR, kNR, gemm_detail::gemm_f32_avx2_6x16, gemm_detail::gemm_epilogue_f32_avx2,
                                             gemm_detail::gemm_pack_a6_avx2, gemm_detail::gemm_pack_bt16_avx2, {144, 256, 4080}},
                                            gemm_detail::gemm_small_f32_avx2);
#endif
#if defined(NT_HAVE_AVX512_KERNELS)
// 14x32 tiles: KC=256 makes the B~ sliver 256x32 floats = 32 KiB, the size of Zen4's L1d (48 KiB on
// Sapphire Rapids), with the A~ sliver (14 KiB) streaming through; MC=168 (12 slivers) keeps the A~
// block (168 KiB) in a 1-2 MiB L2; NC=4064 (127 slivers) keeps B~ (4 MiB) in L3. On Zen4, KC=256
// measured 3-7 % faster than 192 at 1024^3 and 2048^3 (1 and 2 threads) and level at the MLP shapes.
constexpr Kernels kAvx512Kernels = with_small({gemm_detail::kGemmMR512, gemm_detail::kGemmNR512,
                                               gemm_detail::gemm_f32_avx512_14x32, gemm_detail::gemm_epilogue_f32_avx512,
                                               gemm_detail::gemm_pack_a14_avx512, gemm_detail::gemm_pack_bt32_avx512,
                                               {168, 256, 4064}},
                                              gemm_detail::gemm_small_f32_avx512);
#endif

// bf16 operands (precision 'bf16'): the emulation runs each ISA's f32 microkernels on panels
// rounded to bf16, so it costs what float32 costs and gives the hardware paths' products exactly.
constexpr Kernels with_rounding(Kernels k) {
  k.ops = Operands::kBf16Round;
  k.small = nullptr;
  return k;
}
constexpr Kernels kPortableBf16Kernels = with_rounding(kPortableKernels);
#if defined(NT_HAVE_AVX2_KERNELS)
constexpr Kernels kAvx2Bf16Kernels = with_rounding(kAvx2Kernels);
#endif
#if defined(NT_HAVE_AVX512_KERNELS)
constexpr Kernels kAvx512Bf16EmulatedKernels = with_rounding(kAvx512Kernels);
// vdpbf16ps 14x32: each k pair is one instruction per 16 outputs, so KC doubles (512 k values =
// 256 pairs, the same 32 KiB B~ sliver as the f32 kernel's; 5-10 % faster than 384 on Zen4).
constexpr Kernels kAvx512Bf16Kernels = {gemm_detail::kGemmMR512, gemm_detail::kGemmNR512,
                                        gemm_detail::gemm_bf16_avx512_14x32, gemm_detail::gemm_epilogue_f32_avx512,
                                        gemm_detail::gemm_pack_a14_avx512, gemm_detail::gemm_pack_bt32_avx512,
                                        {168, 512, 4064}, Operands::kBf16Pairs,
                                        gemm_detail::gemm_bf16_pairs_a_avx512, gemm_detail::gemm_bf16_pairs_b_avx512, 1,
                                        nullptr, gemm_detail::gemm_bf16_pairs_b_rows_avx512,
                                        gemm_detail::gemm_bf16_pairs_a_rows_avx512, gemm_detail::gemm_bf16_pairs_at_rows_avx512,
                                        gemm_detail::gemm_bf16_pairs_bt_rows_avx512};
// AMX-BF16 32x32 (four 16x16 fp32 accumulator tiles); k in steps of 32 (one tile row of A). Its B
// layout is the vdpbf16ps kernel's, 32 columns wide, so it shares that kernel's B converters.
static_assert(gemm_detail::kGemmNRAmx == gemm_detail::kGemmNR512, "the AMX kernel shares the 32-wide B pair layout");
constexpr Kernels kAmxBf16Kernels = {gemm_detail::kGemmMRAmx, gemm_detail::kGemmNRAmx,
                                     gemm_detail::gemm_bf16_amx_32x32, gemm_detail::gemm_epilogue_f32_avx512,
                                     gemm_detail::gemm_pack_a32_amx_f32, gemm_detail::gemm_pack_bt32_avx512,
                                     {160, 512, 4064}, Operands::kBf16Pairs,
                                     gemm_detail::gemm_bf16_pairs_a_amx, gemm_detail::gemm_bf16_pairs_b_avx512, 16,
                                     nullptr, gemm_detail::gemm_bf16_pairs_b_rows_avx512, nullptr, nullptr,
                                     gemm_detail::gemm_bf16_pairs_bt_rows_avx512};
// The same set with the microkernel run on the software tile unit (tests on CPUs without AMX).
constexpr Kernels with_microkernel(Kernels k, MicroKernelFn uk) {
  k.uk = uk;
  return k;
}
constexpr Kernels kAmxBf16EmulatedKernels =
    with_microkernel(kAmxBf16Kernels, gemm_detail::gemm_bf16_amx_32x32_emulated);
#endif

// Rounds n floats to the nearest bf16 in place (ties to even; NaN stays NaN), as vcvtne2ps2bf16
// does for normal numbers (the instruction also flushes subnormal inputs to zero).
inline float round_bf16(float f) {
  uint32_t x;
  std::memcpy(&x, &f, sizeof x);  // (memcpy: no aliasing of float storage through uint32_t)
  const bool nan = (x & 0x7F800000u) == 0x7F800000u && (x & 0x007FFFFFu) != 0;
  x = nan ? (x | 0x00400000u) : x + 0x7FFFu + ((x >> 16) & 1u);
  x &= 0xFFFF0000u;
  std::memcpy(&f, &x, sizeof f);
  return f;
}
void round_bf16_inplace(float* p, int64_t n) {
  for (int64_t i = 0; i < n; ++i) p[i] = round_bf16(p[i]);
}

// The kernel set's blocking, or NODETRAIN_GEMM_BLOCKING="MC,KC,NC" (read once; invalid values are
// ignored) rounded to the set's tile shape, for tuning on other machines.
Blocking blocking_for(const Kernels& kern) {
  Blocking x = kern.bl;
  const Blocking& o = env_blocking();
  if (o.mc > 0) {
    x.mc = std::max<int64_t>(kern.mr, (o.mc / kern.mr) * kern.mr);
    x.kc = o.kc;
    x.nc = std::max<int64_t>(kern.nr, (o.nc / kern.nr) * kern.nr);
  }
  return x;
}

// ---- packing ----------------------------------------------------------------------------------

// A~ for rows [i0, i0+mc) and depth [p0, p0+kc) of op(A): ceil(mc/MR) micro-panels of kc*MR floats.
void pack_a(const GemmArgs& g, const Kernels& kern, int64_t i0, int64_t mc, int64_t p0, int64_t kc, float* dst) {
  const int64_t kMR = kern.mr;
  for (int64_t ir = 0; ir < mc; ir += kMR, dst += kMR * kc) {
    const int64_t rows = std::min(kMR, mc - ir);
    if (!g.trans_a) {
      // op(A)[i][p] = A[i*lda + p]: MR row streams, contiguous writes.
      const float* src[kMaxMR];
      for (int64_t r = 0; r < kMR; ++r) src[r] = g.a + (i0 + ir + std::min(r, rows - 1)) * g.lda + p0;
      if (rows == kMR) {
        kern.pack_a(src[0], g.lda, kc, dst);
      } else {
        for (int64_t p = 0; p < kc; ++p) {
          float* d = dst + p * kMR;
          for (int64_t r = 0; r < kMR; ++r) d[r] = r < rows ? src[r][p] : 0.0f;
        }
      }
    } else {
      // op(A)[i][p] = A[p*lda + i]: each k step is a contiguous run of `rows` floats.
      const float* src = g.a + p0 * g.lda + i0 + ir;
      for (int64_t p = 0; p < kc; ++p) {
        float* d = dst + p * kMR;
        const float* s = src + p * g.lda;
        int64_t r = 0;
        for (; r < rows; ++r) d[r] = s[r];
        for (; r < kMR; ++r) d[r] = 0.0f;
      }
    }
  }
}

// B~ for depth [p0, p0+kc) and columns [j0, j0+nc) of op(B): ceil(nc/NR) micro-panels of kc*NR.
void pack_b(const GemmArgs& g, const Kernels& kern, int64_t p0, int64_t kc, int64_t j0, int64_t nc, float* dst) {
  const int64_t kNR = kern.nr;
  for (int64_t jr = 0; jr < nc; jr += kNR, dst += kNR * kc) {
    const int64_t cols = std::min(kNR, nc - jr);
    if (!g.trans_b) {
      // op(B)[p][j] = B[p*ldb + j]: each k step copies a contiguous run.
      const float* src = g.b + p0 * g.ldb + j0 + jr;
      if (cols == kNR) {
        for (int64_t p = 0; p < kc; ++p) std::memcpy(dst + p * kNR, src + p * g.ldb, kNR * sizeof(float));
      } else {
        for (int64_t p = 0; p < kc; ++p) {
          float* d = dst + p * kNR;
          const float* s = src + p * g.ldb;
          int64_t j = 0;
          for (; j < cols; ++j) d[j] = s[j];
          for (; j < kNR; ++j) d[j] = 0.0f;
        }
      }
    } else {
      // op(B)[p][j] = B[j*ldb + p]: a transpose of NR row streams.
      const float* src = g.b + (j0 + jr) * g.ldb + p0;
      if (cols == kNR) {
        kern.pack_bt(src, g.ldb, kc, dst);
      } else {
        for (int64_t p = 0; p < kc; ++p) {
          float* d = dst + p * kNR;
          for (int64_t j = 0; j < kNR; ++j) d[j] = j < cols ? src[j * g.ldb + p] : 0.0f;
        }
      }
    }
  }
}

// ---- per-thread packing buffers -----------------------------------------------------------------

struct PackBuffers {
  float* a = nullptr;
  size_t a_cap = 0;  // floats
  float* b = nullptr;
  size_t b_cap = 0;
  float* sa = nullptr;  // float32 staging panels for the bf16 pair conversion
  size_t sa_cap = 0;
  float* sb = nullptr;
  size_t sb_cap = 0;
  ~PackBuffers() {
    std::free(a);
    std::free(b);
    std::free(sa);
    std::free(sb);
  }
  // Grow-only, 64-byte aligned. Returns false when the allocation fails.
  static bool ensure(float** p, size_t* cap, size_t need) {
    if (*cap >= need) return true;
    size_t bytes = ((need * sizeof(float) + 63) / 64) * 64;
    void* q = std::aligned_alloc(64, bytes);
    if (!q) return false;
    std::free(*p);
    *p = static_cast<float*>(q);
    *cap = bytes / sizeof(float);
    return true;
  }
};

thread_local PackBuffers tl_pack;

// The serial five loops on the rectangle [m0, m1) x [n0, n1) of C. Returns false on allocation failure.
bool gemm_block(const GemmArgs& g, const Kernels& kern, int64_t m0, int64_t m1, int64_t n0, int64_t n1) {
  if (m0 >= m1 || n0 >= n1) return true;
  const int64_t kMR = kern.mr, kNR = kern.nr;
  const Blocking bl = blocking_for(kern);
  const bool has_epilogue = g.bias != nullptr || g.act != Act::kNone;
  const bool pairs = kern.ops == Operands::kBf16Pairs, round = kern.ops == Operands::kBf16Round;
  // Even k blocks (k=300 -> 150+150 rather than 256+44) keep every pass over C equally useful;
  // pair kernels take an even kc so that only the last block has a padded pair.
  const int64_t kblocks = (g.k + bl.kc - 1) / bl.kc;
  int64_t kc_max = (g.k + kblocks - 1) / kblocks;
  if (pairs && kblocks > 1) kc_max = (kc_max + 1) / 2 * 2;
  // The depth the microkernel steps through: k values, or bf16 pairs of them (padded to kd_align).
  const auto depth = [&](int64_t kc) {
    return pairs ? ((kc + 1) / 2 + kern.kd_align - 1) / kern.kd_align * kern.kd_align : kc;
  };
  const int64_t kd_max = std::max(kc_max, depth(kc_max));
  const int64_t nc_max = std::min(bl.nc, ((n1 - n0 + kNR - 1) / kNR) * kNR);
  const int64_t mc_max = std::min(bl.mc, ((m1 - m0 + kMR - 1) / kMR) * kMR);
  PackBuffers& pb = tl_pack;
  if (!PackBuffers::ensure(&pb.a, &pb.a_cap, static_cast<size_t>(mc_max * kd_max)) ||
      !PackBuffers::ensure(&pb.b, &pb.b_cap, static_cast<size_t>(nc_max * kd_max)))
    return false;
  // The float32 staging panels, for the operands no direct converter reads from storage.
  const bool b_direct = pairs && (g.trans_b ? kern.pairs_bt_rows : kern.pairs_b_rows) != nullptr;
  const bool a_direct = pairs && g.trans_a && kern.pairs_at_rows != nullptr;
  if (pairs && ((!a_direct && !PackBuffers::ensure(&pb.sa, &pb.sa_cap, static_cast<size_t>(mc_max * kc_max))) ||
                (!b_direct && !PackBuffers::ensure(&pb.sb, &pb.sb_cap, static_cast<size_t>(nc_max * kc_max)))))
    return false;
  alignas(64) float tile[kMaxMR * kMaxNR];

  for (int64_t jc = n0; jc < n1; jc += bl.nc) {
    const int64_t nc = std::min(bl.nc, n1 - jc);
    const int64_t nc_pad = (nc + kNR - 1) / kNR * kNR;
    for (int64_t pc = 0; pc < g.k; pc += kc_max) {
      const int64_t kc = std::min(kc_max, g.k - pc);
      const int64_t kd = depth(kc);
      const bool last_k = pc + kc == g.k;
      const float beta = pc == 0 ? g.beta : 1.0f;
      if (b_direct) {
        // Each tile's pairs straight from B's storage, without the float32 panel.
        for (int64_t jr = 0; jr < nc; jr += kNR) {
          const int64_t cols = std::min(kNR, nc - jr);
          if (g.trans_b)
            kern.pairs_bt_rows(g.b + (jc + jr) * g.ldb + pc, g.ldb, kc, kd, cols, pb.b + jr * kd);
          else
            kern.pairs_b_rows(g.b + pc * g.ldb + jc + jr, g.ldb, kc, kd, cols, pb.b + jr * kd);
        }
      } else if (pairs) {
        pack_b(g, kern, pc, kc, jc, nc, pb.sb);
        for (int64_t jr = 0; jr < nc_pad; jr += kNR) kern.pairs_b(pb.sb + jr * kc, kc, kd, pb.b + jr * kd);
      } else {
        pack_b(g, kern, pc, kc, jc, nc, pb.b);
        if (round) round_bf16_inplace(pb.b, nc_pad * kc);
      }
      for (int64_t ic = m0; ic < m1; ic += bl.mc) {
        const int64_t mc = std::min(bl.mc, m1 - ic);
        const int64_t mc_pad = (mc + kMR - 1) / kMR * kMR;
        if (a_direct) {
          // A transposed: every sliver (a partial one too) straight from storage.
          for (int64_t ir = 0; ir < mc; ir += kMR)
            kern.pairs_at_rows(g.a + pc * g.lda + ic + ir, g.lda, kc, kd, std::min(kMR, mc - ir), pb.a + ir * kd);
        } else if (pairs && !g.trans_a && kern.pairs_a_rows) {
          // A as is: full slivers straight from their rows; a last partial one through the panel.
          for (int64_t ir = 0; ir < mc; ir += kMR) {
            const int64_t rows = std::min(kMR, mc - ir);
            if (rows == kMR) {
              kern.pairs_a_rows(g.a + (ic + ir) * g.lda + pc, g.lda, kc, kd, pb.a + ir * kd);
            } else {
              pack_a(g, kern, ic + ir, rows, pc, kc, pb.sa);
              kern.pairs_a(pb.sa, kc, kd, pb.a + ir * kd);
            }
          }
        } else if (pairs) {
          pack_a(g, kern, ic, mc, pc, kc, pb.sa);
          for (int64_t ir = 0; ir < mc_pad; ir += kMR) kern.pairs_a(pb.sa + ir * kc, kc, kd, pb.a + ir * kd);
        } else {
          pack_a(g, kern, ic, mc, pc, kc, pb.a);
          if (round) round_bf16_inplace(pb.a, mc_pad * kc);
        }
        for (int64_t jr = 0; jr < nc; jr += kNR) {
          const int64_t nr = std::min(kNR, nc - jr);
          const float* bp = pb.b + jr * kd;
          const float* bias = g.bias ? g.bias + jc + jr : nullptr;
          for (int64_t ir = 0; ir < mc; ir += kMR) {
            const int64_t mr = std::min(kMR, mc - ir);
            const float* ap = pb.a + ir * kd;
            float* cp = g.c + (ic + ir) * g.ldc + jc + jr;
            if (mr == kMR && nr == kNR) {
              kern.uk(kd, ap, bp, cp, g.ldc, g.alpha, beta);
            } else {
              kern.uk(kd, ap, bp, tile, kNR, g.alpha, 0.0f);
              for (int64_t i = 0; i < mr; ++i) {
                float* ci = cp + i * g.ldc;
                const float* ti = tile + i * kNR;
                if (beta == 0.0f) {
                  for (int64_t j = 0; j < nr; ++j) ci[j] = ti[j];
                } else {
                  for (int64_t j = 0; j < nr; ++j) ci[j] = ti[j] + beta * ci[j];
                }
              }
            }
            if (last_k && has_epilogue) kern.ep(cp, g.ldc, mr, nr, bias, static_cast<int>(g.act));
          }
        }
      }
    }
  }
  return true;
}

// Splits nth threads into a tm x tn grid over C minimising the per-thread rectangle perimeter
// (packing and memory traffic) while keeping at least one tile per thread in each direction.
void choose_grid(int64_t m, int64_t n, int nth, int64_t kMR, int64_t kNR, int* tm, int* tn) {
  double best = -1;
  *tm = 1;
  *tn = nth;
  for (int a = 1; a <= nth; ++a) {
    if (nth % a) continue;
    const int b = nth / a;
    const double mt = std::ceil(static_cast<double>(m) / kMR), nt_ = std::ceil(static_cast<double>(n) / kNR);
    if (a > mt || b > nt_) continue;
    // Rectangle of the largest part (ceil-div on tiles).
    const double rm = std::ceil(mt / a) * kMR, rn = std::ceil(nt_ / b) * kNR;
    const double cost = rm * rn * 4.0 /* load balance: the slowest thread */ + (rm + rn) * 64.0;
    if (best < 0 || cost < best) {
      best = cost;
      *tm = a;
      *tn = b;
    }
  }
}

Status validate(const GemmArgs& g, const char* who) {
  // The name becomes a string only on the error paths (this runs on every call).
  const auto w = [who] { return std::string(who); };
  if (g.m < 0 || g.n < 0 || g.k < 0)
    return InvalidArgument(w() + ": sizes must be >= 0 (m=" + std::to_string(g.m) + ", n=" + std::to_string(g.n) +
                           ", k=" + std::to_string(g.k) + ")");
  const int64_t a_cols = g.trans_a ? g.m : g.k, b_cols = g.trans_b ? g.k : g.n;
  if (g.lda < a_cols || g.lda < 0)
    return InvalidArgument(w() + ": lda=" + std::to_string(g.lda) + " is less than the row length " +
                           std::to_string(a_cols) + " of A");
  if (g.ldb < b_cols || g.ldb < 0)
    return InvalidArgument(w() + ": ldb=" + std::to_string(g.ldb) + " is less than the row length " +
                           std::to_string(b_cols) + " of B");
  if (g.ldc < g.n || g.ldc < 0)
    return InvalidArgument(w() + ": ldc=" + std::to_string(g.ldc) + " is less than the row length " +
                           std::to_string(g.n) + " of C");
  if (g.m > 0 && g.k > 0 && g.a == nullptr) return InvalidArgument(w() + ": A is null");
  if (g.k > 0 && g.n > 0 && g.b == nullptr) return InvalidArgument(w() + ": B is null");
  if (g.m > 0 && g.n > 0 && g.c == nullptr) return InvalidArgument(w() + ": C is null");
  if (!epilogue_act_supported(g.act))
    return InvalidArgument("Expected one of 'linear', 'relu', 'gelu', 'sigmoid', 'tanh' for the " + w() +
                           " epilogue activation but received \"" + act_name(g.act) + "\"");
  return Status::Ok();
}

}  // namespace

namespace {
Status gemm_driver(const GemmArgs& args, const Kernels& kern) {
  NT_RETURN_IF_ERROR(validate(args, kern.ops == Operands::kF32 ? "gemm_f32" : "gemm_bf16"));
  const GemmArgs& g = args;
  if (g.m == 0 || g.n == 0) return Status::Ok();
  const bool has_epilogue = g.bias != nullptr || g.act != Act::kNone;
  if (g.k == 0) {
    // C = beta*C (write-only when beta == 0), then the epilogue.
    for (int64_t i = 0; i < g.m; ++i) {
      float* ci = g.c + i * g.ldc;
      if (g.beta == 0.0f) {
        std::fill(ci, ci + g.n, 0.0f);
      } else if (g.beta != 1.0f) {
        for (int64_t j = 0; j < g.n; ++j) ci[j] *= g.beta;
      }
    }
    if (has_epilogue) kern.ep(g.c, g.ldc, g.m, g.n, g.bias, static_cast<int>(g.act));
    return Status::Ok();
  }

  if (kern.small != nullptr && static_cast<double>(g.m) * static_cast<double>(g.n) * static_cast<double>(g.k) <=
                                   static_cast<double>(small_max_mnk()) &&
      (!g.trans_b || g.k * g.n <= kSmallMaxBt)) {
    alignas(64) float bt[kSmallMaxBt];
    kern.small(g, bt);
    return Status::Ok();
  }
  const double flops = 2.0 * static_cast<double>(g.m) * static_cast<double>(g.n) * static_cast<double>(g.k);
  const int64_t kMR = kern.mr, kNR = kern.nr;
  const int64_t tiles = ((g.m + kMR - 1) / kMR) * ((g.n + kNR - 1) / kNR);
  int64_t want = std::min<int64_t>(num_threads(), static_cast<int64_t>(flops / kMinFlopsPerThread));
  want = std::max<int64_t>(1, std::min(want, tiles));

  if (want == 1) {
    if (!gemm_block(g, kern, 0, g.m, 0, g.n)) return Status(StatusCode::kOutOfMemory, std::string(kern.ops == Operands::kF32 ? "gemm_f32" : "gemm_bf16") + ": packing buffers");
    return Status::Ok();
  }
  std::atomic<bool> oom{false};
  parallel_for(want, [&](int ith, int nth) {
    int tm, tn;
    choose_grid(g.m, g.n, nth, kMR, kNR, &tm, &tn);
    const int im = ith / tn, in = ith % tn;
    int64_t m0, m1, n0, n1;
    partition(g.m, im, tm, kMR, &m0, &m1);
    partition(g.n, in, tn, kNR, &n0, &n1);
    if (!gemm_block(g, kern, m0, m1, n0, n1)) oom.store(true, std::memory_order_relaxed);
  });
  if (oom.load()) return Status(StatusCode::kOutOfMemory, std::string(kern.ops == Operands::kF32 ? "gemm_f32" : "gemm_bf16") + ": packing buffers");
  return Status::Ok();
}
}  // namespace

Status gemm_f32_portable(const GemmArgs& args) { return gemm_driver(args, kPortableKernels); }
#if defined(NT_HAVE_AVX2_KERNELS)
Status gemm_f32_avx2(const GemmArgs& args) { return gemm_driver(args, kAvx2Kernels); }
#endif
#if defined(NT_HAVE_AVX512_KERNELS)
Status gemm_f32_avx512(const GemmArgs& args) { return gemm_driver(args, kAvx512Kernels); }
#endif
Status gemm_f32(const GemmArgs& args) { return cpu_backend().gemm(args); }

Status gemm_bf16_portable(const GemmArgs& args) { return gemm_driver(args, kPortableBf16Kernels); }
#if defined(NT_HAVE_AVX2_KERNELS)
Status gemm_bf16_avx2(const GemmArgs& args) { return gemm_driver(args, kAvx2Bf16Kernels); }
#endif
#if defined(NT_HAVE_AVX512_KERNELS)
Status gemm_bf16_avx512(const GemmArgs& args) {
  return gemm_driver(args, cpu_features().avx512_bf16 ? kAvx512Bf16Kernels : kAvx512Bf16EmulatedKernels);
}
Status gemm_bf16_amx(const GemmArgs& args) {
  // The tile configuration is loaded per microkernel call, so any pool thread may run it; the
  // process-wide permission is asked once, here, at the first bf16 GEMM.
  if (!amx_ready()) return gemm_bf16_avx512(args);
  return gemm_driver(args, kAmxBf16Kernels);
}
Status gemm_bf16_amx_emulated(const GemmArgs& args) { return gemm_driver(args, kAmxBf16EmulatedKernels); }
#endif
Status gemm_bf16(const GemmArgs& args) { return cpu_backend().gemm_bf16(args); }

namespace {
Status gemm_ref(const GemmArgs& args, bool bf16) {
  NT_RETURN_IF_ERROR(validate(args, bf16 ? "gemm_bf16_ref" : "gemm_f32_ref"));
  const GemmArgs& g = args;
  for (int64_t i = 0; i < g.m; ++i) {
    for (int64_t j = 0; j < g.n; ++j) {
      double s = 0.0;
      for (int64_t p = 0; p < g.k; ++p) {
        float af = g.trans_a ? g.a[p * g.lda + i] : g.a[i * g.lda + p];
        float bf = g.trans_b ? g.b[j * g.ldb + p] : g.b[p * g.ldb + j];
        if (bf16) {
          af = round_bf16(af);
          bf = round_bf16(bf);
        }
        const double av = af, bv = bf;
        s += av * bv;
      }
      float& cij = g.c[i * g.ldc + j];
      double v = static_cast<double>(g.alpha) * s;
      if (g.beta != 0.0f) v += static_cast<double>(g.beta) * static_cast<double>(cij);
      if (g.bias) v += g.bias[j];
      switch (g.act) {
        case Act::kRelu: v = v > 0.0 ? v : 0.0; break;
        case Act::kGelu: v = 0.5 * v * (1.0 + std::tanh(0.7978845608028654 * (v + 0.044715 * v * v * v))); break;
        case Act::kSigmoid: v = 1.0 / (1.0 + std::exp(-v)); break;
        case Act::kTanh: v = std::tanh(v); break;
        default: break;
      }
      cij = static_cast<float>(v);
    }
  }
  return Status::Ok();
}
}  // namespace

Status gemm_f32_ref(const GemmArgs& args) { return gemm_ref(args, false); }
Status gemm_bf16_ref(const GemmArgs& args) { return gemm_ref(args, true); }

#if defined(NT_HAVE_AVX512_KERNELS)
// Registered here, in a file built for the baseline ISA: a static initialiser in an AVX-512 file
// would run at load time on every CPU.
NT_REGISTER_KERNEL(KernelVariants{"amx_tile_emulated", gemm_detail::amx_tile_emulated_kernel,
                                  gemm_detail::amx_tile_emulated_kernel});
#endif

}  // namespace nt
