// GEMM on the device: C[M,N] = act(alpha * op(A) op(B) + beta * C + bias[N]), the contract of
// nodetrain/kernels.h (row-major, leading dimensions, transposes, fused bias + activation epilogue).
//
// Three implementations:
//  * FP32 FMA tiles: gemm_f32_simt_128x128 (8x8 per thread, BK=8) for C large enough to fill the
//    chip with 128x128 tiles, gemm_f32_simt_64x64 (4x4 per thread, BK=16) below that
//    (launch_plan.h simt_tile), 256-thread blocks.
//  * gemm_mma_128x128<kTf32|kBf16>: tensor cores through warp-level `mma.sync` (sm_80+), FP32
//    accumulation. 128x128x32 block tiles, 8 warps as 2 (M) x 4 (N), each warp 64x32 = 4x4 MMA
//    tiles; the next K tile is prefetched into registers while the current one is multiplied
//    (a register double buffer). The API's storage is float32: operands are rounded when a K tile
//    is stored to shared memory (cvt.rna.tf32.f32, or round-to-nearest-even bf16), once per
//    element, and fragments read the rounded words.
//  * cuBLAS (cublasGemmEx, COMPUTE_32F / _FAST_TF32 / _FAST_16BF), loaded with dlopen at run time
//    when present (cublas_loader.cc): the addon links only the CUDA runtime. The epilogue then runs
//    as a separate bias+activation kernel. The table's slots (the fit loop, predict) take cuBLAS
//    whenever it was loaded (gemm_route in launch_plan.h): on Hopper it issues wgmma, which the
//    mma.sync kernels here cannot match; NODETRAIN_CUBLAS=off keeps the project's kernels.
//
// Fragment layouts (PTX ISA, "Matrix Fragments for mma.m16n8k8" (.tf32) and "for mma.m16n8k16"
// (.bf16); the same as CUTLASS include/cute/atom/mma_traits_sm80.hpp, SM80_16x8x8_F32TF32TF32F32_TN
// and SM80_16x8x16_F32BF16BF16F32_TN in include/cute/arch/mma_sm80.hpp), with g = lane / 4 and
// t = lane % 4:
//   m16n8k8 tf32:  A a0 (g, t)  a1 (g+8, t)  a2 (g, t+4)  a3 (g+8, t+4)
//                  B b0 (k=t, n=g)  b1 (k=t+4, n=g)
//   m16n8k16 bf16: A r0 (g, 2t..2t+1)  r1 (g+8, 2t..2t+1)  r2 (g, 2t+8..2t+9)  r3 (g+8, 2t+8..2t+9)
//                  B r0 (k=2t..2t+1, n=g)  r1 (k=2t+8..2t+9, n=g)   (lower k in the low half)
//   C/D (both):    c0 (g, 2t)  c1 (g, 2t+1)  c2 (g+8, 2t)  c3 (g+8, 2t+1)
// Shared-memory padding (+4 floats on A rows, +8 on B rows) makes the fragment reads of a warp hit
// 32 different banks. llm.c (llmc/matmul.cuh) takes the same shape of epilogue fusion (bias and
// GELU after the product) through cuBLASLt; here the fusion is in the kernel's store.
#include <cuda_bf16.h>

#include <atomic>

#include "cuda/common.cuh"
#include "cuda/cublas_loader.h"
#include "cuda/cuda_kernels.h"
#include "cuda/launch_plan.h"

namespace nt {
namespace cuda {
namespace {

struct Dev {
  bool ta, tb;
  int m, n, k;
  float alpha, beta;
  const float* a;
  int lda;
  const float* b;
  int ldb;
  float* c;
  int ldc;
  const float* bias;
  Act act;
};

__device__ __forceinline__ float load_a(const Dev& p, int r, int kk) {
  if (r >= p.m || kk >= p.k) return 0.f;
  return p.ta ? p.a[static_cast<int64_t>(kk) * p.lda + r] : p.a[static_cast<int64_t>(r) * p.lda + kk];
}
__device__ __forceinline__ float load_b(const Dev& p, int kk, int cc) {
  if (kk >= p.k || cc >= p.n) return 0.f;
  return p.tb ? p.b[static_cast<int64_t>(cc) * p.ldb + kk] : p.b[static_cast<int64_t>(kk) * p.ldb + cc];
}
__device__ __forceinline__ void store_c(const Dev& p, int r, int cc, float acc) {
  if (r >= p.m || cc >= p.n) return;
  float* dst = p.c + static_cast<int64_t>(r) * p.ldc + cc;
  float v = p.alpha * acc;
  if (p.beta != 0.f) v += p.beta * *dst;
  if (p.bias) v += p.bias[cc];
  *dst = act_apply(p.act, 0.f, v);
}

// The index pair (row of the tile, k of the tile) of element e of a tile load, chosen so that the
// contiguous dimension of the stored matrix runs across neighbouring threads (coalesced).
template <int ROWS, int BK>
__device__ __forceinline__ void a_index(bool trans, int e, int* r, int* kk) {
  if (!trans) { *r = e / BK; *kk = e % BK; }
  else { *kk = e / ROWS; *r = e % ROWS; }
}
template <int COLS, int BK>
__device__ __forceinline__ void b_index(bool trans, int e, int* kk, int* cc) {
  if (!trans) { *kk = e / COLS; *cc = e % COLS; }
  else { *cc = e / BK; *kk = e % BK; }
}

// ---------------------------------------------------------------- FP32 FMA tiles
constexpr int kSB = 64, kSK = 16;
__global__ void __launch_bounds__(256) gemm_f32_simt_64x64(const Dev p) {
  __shared__ float As[kSK][kSB + 4];
  __shared__ float Bs[kSK][kSB + 4];
  const int tid = threadIdx.x, tx = tid % 16, ty = tid / 16;
  const int m0 = blockIdx.y * kSB, n0 = blockIdx.x * kSB;
  float acc[4][4] = {};
  for (int k0 = 0; k0 < p.k; k0 += kSK) {
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      int r, kk, cc;
      a_index<kSB, kSK>(p.ta, tid + i * 256, &r, &kk);
      As[kk][r] = load_a(p, m0 + r, k0 + kk);
      b_index<kSB, kSK>(p.tb, tid + i * 256, &kk, &cc);
      Bs[kk][cc] = load_b(p, k0 + kk, n0 + cc);
    }
    __syncthreads();
#pragma unroll
    for (int kk = 0; kk < kSK; ++kk) {
      float av[4], bv[4];
#pragma unroll
      for (int i = 0; i < 4; ++i) {
        av[i] = As[kk][ty * 4 + i];
        bv[i] = Bs[kk][tx * 4 + i];
      }
#pragma unroll
      for (int i = 0; i < 4; ++i)
#pragma unroll
        for (int j = 0; j < 4; ++j) acc[i][j] = fmaf(av[i], bv[j], acc[i][j]);
    }
    __syncthreads();
  }
#pragma unroll
  for (int i = 0; i < 4; ++i)
#pragma unroll
    for (int j = 0; j < 4; ++j) store_c(p, m0 + ty * 4 + i, n0 + tx * 4 + j, acc[i][j]);
}

// 128x128 C tile per 256-thread block, 8x8 per thread as four 4x4 quarters (rows ty*4 and 64 + ty*4,
// columns tx*4 and 64 + tx*4), BK = 8: four 16-byte shared-memory reads feed 64 FMAs, where the
// 64x64 kernel's eight 4-byte reads feed 16. The next K tile is fetched into registers while the
// current one is multiplied. Rows padded by 4 floats: the transposing stores of a warp hit 32
// different banks, and the float4 reads stay 16-byte aligned.
constexpr int kLB = 128, kLK = 8, kLP = kLB + 4;
__global__ void __launch_bounds__(256) gemm_f32_simt_128x128(const Dev p) {
  __shared__ __align__(16) float As[kLK][kLP];
  __shared__ __align__(16) float Bs[kLK][kLP];
  const int tid = threadIdx.x, tx = tid % 16, ty = tid / 16;
  const int m0 = blockIdx.y * kLB, n0 = blockIdx.x * kLB;
  float acc[8][8] = {};
  float ra[4], rb[4];
  auto fetch = [&](int k0) {
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      int r, kk, cc;
      a_index<kLB, kLK>(p.ta, tid + i * 256, &r, &kk);
      ra[i] = load_a(p, m0 + r, k0 + kk);
      b_index<kLB, kLK>(p.tb, tid + i * 256, &kk, &cc);
      rb[i] = load_b(p, k0 + kk, n0 + cc);
    }
  };
  auto stash = [&]() {
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      int r, kk, cc;
      a_index<kLB, kLK>(p.ta, tid + i * 256, &r, &kk);
      As[kk][r] = ra[i];
      b_index<kLB, kLK>(p.tb, tid + i * 256, &kk, &cc);
      Bs[kk][cc] = rb[i];
    }
  };
  fetch(0);
  for (int k0 = 0; k0 < p.k; k0 += kLK) {
    stash();
    __syncthreads();
    if (k0 + kLK < p.k) fetch(k0 + kLK);  // global loads in flight during the FMAs below
#pragma unroll
    for (int kk = 0; kk < kLK; ++kk) {
      const float4 a0 = *reinterpret_cast<const float4*>(&As[kk][ty * 4]);
      const float4 a1 = *reinterpret_cast<const float4*>(&As[kk][64 + ty * 4]);
      const float4 b0 = *reinterpret_cast<const float4*>(&Bs[kk][tx * 4]);
      const float4 b1 = *reinterpret_cast<const float4*>(&Bs[kk][64 + tx * 4]);
      const float av[8] = {a0.x, a0.y, a0.z, a0.w, a1.x, a1.y, a1.z, a1.w};
      const float bv[8] = {b0.x, b0.y, b0.z, b0.w, b1.x, b1.y, b1.z, b1.w};
#pragma unroll
      for (int i = 0; i < 8; ++i)
#pragma unroll
        for (int j = 0; j < 8; ++j) acc[i][j] = fmaf(av[i], bv[j], acc[i][j]);
    }
    __syncthreads();
  }
#pragma unroll
  for (int i = 0; i < 8; ++i) {
    const int r = m0 + (i < 4 ? ty * 4 + i : 64 + ty * 4 + i - 4);
#pragma unroll
    for (int j = 0; j < 8; ++j) store_c(p, r, n0 + (j < 4 ? tx * 4 + j : 64 + tx * 4 + j - 4), acc[i][j]);
  }
}

// ---------------------------------------------------------------- tensor cores (mma.sync)
constexpr int kBM = 128, kBN = 128, kBK = 32, kAP = kBK + 4, kBP = kBN + 8;
constexpr int kLoads = kBM * kBK / 256;  // 16 elements of A and of B per thread per K tile

__device__ __forceinline__ uint32_t tf32(float x) {
  uint32_t r;
  asm("cvt.rna.tf32.f32 %0, %1;" : "=r"(r) : "f"(x));
  return r;
}
// Operands are rounded once, when a K tile is stored to shared memory: TF32 as cvt.rna's 32-bit
// pattern, BF16 as the bf16 bits in the high half of a word (the float32 the bf16 value is). A
// fragment register then takes the word as is (TF32) or the two high halves (BF16, lower k in the
// low half): the same roundings as converting at each fragment read, once per element instead of
// once per read.
template <int PREC>
__device__ __forceinline__ uint32_t round_operand(float x) {
  if (PREC == static_cast<int>(GemmPrecision::kTf32)) return tf32(x);
  return static_cast<uint32_t>(__bfloat16_as_ushort(__float2bfloat16_rn(x))) << 16;
}
__device__ __forceinline__ uint32_t bf16_pair(uint32_t lo, uint32_t hi) {
  return __byte_perm(lo, hi, 0x7632);  // (lo >> 16) | (hi & 0xffff0000)
}

template <int PREC>
__global__ void __launch_bounds__(256) gemm_mma_128x128(const Dev p) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  __shared__ uint32_t As[kBM][kAP];
  __shared__ uint32_t Bs[kBK][kBP];
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const int g = lane >> 2, t = lane & 3;
  const int wm = (warp >> 2) * 64, wn = (warp & 3) * 32;
  const int m0 = blockIdx.y * kBM, n0 = blockIdx.x * kBN;
  float acc[4][4][4] = {};
  float ra[kLoads], rb[kLoads];
  auto fetch = [&](int k0) {
#pragma unroll
    for (int i = 0; i < kLoads; ++i) {
      int r, kk, cc;
      a_index<kBM, kBK>(p.ta, tid + i * 256, &r, &kk);
      ra[i] = load_a(p, m0 + r, k0 + kk);
      b_index<kBN, kBK>(p.tb, tid + i * 256, &kk, &cc);
      rb[i] = load_b(p, k0 + kk, n0 + cc);
    }
  };
  auto stash = [&]() {
#pragma unroll
    for (int i = 0; i < kLoads; ++i) {
      int r, kk, cc;
      a_index<kBM, kBK>(p.ta, tid + i * 256, &r, &kk);
      As[r][kk] = round_operand<PREC>(ra[i]);
      b_index<kBN, kBK>(p.tb, tid + i * 256, &kk, &cc);
      Bs[kk][cc] = round_operand<PREC>(rb[i]);
    }
  };
  fetch(0);
  for (int k0 = 0; k0 < p.k; k0 += kBK) {
    stash();
    __syncthreads();
    if (k0 + kBK < p.k) fetch(k0 + kBK);  // global loads in flight during the MMAs below
    if (PREC == static_cast<int>(GemmPrecision::kTf32)) {
#pragma unroll
      for (int ks = 0; ks < kBK; ks += 8) {
        uint32_t af[4][4], bfr[4][2];
#pragma unroll
        for (int mi = 0; mi < 4; ++mi) {
          const int r = wm + mi * 16 + g;
          af[mi][0] = As[r][ks + t];
          af[mi][1] = As[r + 8][ks + t];
          af[mi][2] = As[r][ks + t + 4];
          af[mi][3] = As[r + 8][ks + t + 4];
        }
#pragma unroll
        for (int ni = 0; ni < 4; ++ni) {
          const int c = wn + ni * 8 + g;
          bfr[ni][0] = Bs[ks + t][c];
          bfr[ni][1] = Bs[ks + t + 4][c];
        }
#pragma unroll
        for (int mi = 0; mi < 4; ++mi)
#pragma unroll
          for (int ni = 0; ni < 4; ++ni) {
            float* d = acc[mi][ni];
            asm volatile(
                "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
                "{%0,%1,%2,%3};"
                : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
                : "r"(af[mi][0]), "r"(af[mi][1]), "r"(af[mi][2]), "r"(af[mi][3]), "r"(bfr[ni][0]), "r"(bfr[ni][1]));
          }
      }
    } else {
#pragma unroll
      for (int ks = 0; ks < kBK; ks += 16) {
        uint32_t af[4][4], bfr[4][2];
#pragma unroll
        for (int mi = 0; mi < 4; ++mi) {
          const int r = wm + mi * 16 + g;
          af[mi][0] = bf16_pair(As[r][ks + 2 * t], As[r][ks + 2 * t + 1]);
          af[mi][1] = bf16_pair(As[r + 8][ks + 2 * t], As[r + 8][ks + 2 * t + 1]);
          af[mi][2] = bf16_pair(As[r][ks + 2 * t + 8], As[r][ks + 2 * t + 9]);
          af[mi][3] = bf16_pair(As[r + 8][ks + 2 * t + 8], As[r + 8][ks + 2 * t + 9]);
        }
#pragma unroll
        for (int ni = 0; ni < 4; ++ni) {
          const int c = wn + ni * 8 + g;
          bfr[ni][0] = bf16_pair(Bs[ks + 2 * t][c], Bs[ks + 2 * t + 1][c]);
          bfr[ni][1] = bf16_pair(Bs[ks + 2 * t + 8][c], Bs[ks + 2 * t + 9][c]);
        }
#pragma unroll
        for (int mi = 0; mi < 4; ++mi)
#pragma unroll
          for (int ni = 0; ni < 4; ++ni) {
            float* d = acc[mi][ni];
            asm volatile(
                "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
                "{%0,%1,%2,%3};"
                : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
                : "r"(af[mi][0]), "r"(af[mi][1]), "r"(af[mi][2]), "r"(af[mi][3]), "r"(bfr[ni][0]), "r"(bfr[ni][1]));
          }
      }
    }
    __syncthreads();
  }
#pragma unroll
  for (int mi = 0; mi < 4; ++mi)
#pragma unroll
    for (int ni = 0; ni < 4; ++ni) {
      const int r = m0 + wm + mi * 16 + g, c = n0 + wn + ni * 8 + 2 * t;
      store_c(p, r, c, acc[mi][ni][0]);
      store_c(p, r, c + 1, acc[mi][ni][1]);
      store_c(p, r + 8, c, acc[mi][ni][2]);
      store_c(p, r + 8, c + 1, acc[mi][ni][3]);
    }
#endif
}

__global__ void bias_act_k(float* c, int m, int n, int ldc, const float* bias, Act act) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < static_cast<int64_t>(m) * n;
       i += static_cast<int64_t>(blockDim.x) * gridDim.x) {
    const int r = static_cast<int>(i / n), j = static_cast<int>(i % n);
    float* d = c + static_cast<int64_t>(r) * ldc + j;
    float v = *d;
    if (bias) v += bias[j];
    *d = act_apply(act, 0.f, v);
  }
}

std::atomic<int> g_default_prec{static_cast<int>(GemmPrecision::kF32)};

Status check_args(const GemmArgs& a) {
  if (a.m < 0 || a.n < 0 || a.k < 0) return InvalidArgument("Expected sizes >= 0 for gemm but received a negative one");
  const int64_t lim = (int64_t(1) << 31) - 1;
  if (a.m > lim || a.n > lim || a.k > lim || a.lda > lim || a.ldb > lim || a.ldc > lim)
    return InvalidArgument("Expected sizes and leading dimensions below 2^31 for the CUDA gemm but received larger");
  if (a.ldc < a.n) return InvalidArgument("Expected ldc >= n for gemm but received " + std::to_string(a.ldc));
  if (a.lda < (a.trans_a ? a.m : a.k)) return InvalidArgument("Expected lda >= the stored row length for gemm but received " + std::to_string(a.lda));
  if (a.ldb < (a.trans_b ? a.k : a.n)) return InvalidArgument("Expected ldb >= the stored row length for gemm but received " + std::to_string(a.ldb));
  switch (a.act) {
    case Act::kNone: case Act::kRelu: case Act::kGelu: case Act::kSigmoid: case Act::kTanh: break;
    default: {
      const int k = static_cast<int>(a.act);
      return InvalidArgument("Expected linear, relu, gelu, sigmoid or tanh for the gemm epilogue but received " +
                             (k >= 0 && k < 8 ? std::string(kActNames[k]) : std::to_string(k)));
    }
  }
  return Status::Ok();
}

Dev to_dev(const GemmArgs& a) {
  return Dev{a.trans_a, a.trans_b, static_cast<int>(a.m), static_cast<int>(a.n), static_cast<int>(a.k), a.alpha,
             a.beta, a.a, static_cast<int>(a.lda), a.b, static_cast<int>(a.ldb), a.c, static_cast<int>(a.ldc), a.bias,
             a.act};
}

int device_multiprocessors() {
  static const int sms = [] {
    int dev = 0, n = 0;
    if (cudaGetDevice(&dev) != cudaSuccess || cudaDeviceGetAttribute(&n, cudaDevAttrMultiProcessorCount, dev) != cudaSuccess) {
      cudaGetLastError();
      return 1;
    }
    return n;
  }();
  return sms;
}

bool device_has_mma() {
  static const bool has = [] {
    int dev = 0, major = 0;
    if (cudaGetDevice(&dev) != cudaSuccess || cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, dev) != cudaSuccess) {
      cudaGetLastError();
      return false;
    }
    return major >= 8;
  }();
  return has;
}

}  // namespace

void set_default_gemm_precision(GemmPrecision p) { g_default_prec.store(static_cast<int>(p)); }

Status gemm(const GemmArgs& a, GemmPrecision prec, GemmImpl impl) {
  const int pi = static_cast<int>(prec), ii = static_cast<int>(impl);
  if (pi < 0 || pi > 2) return InvalidArgument("Expected precision 0 (f32), 1 (tf32) or 2 (bf16) for gemm but received " + std::to_string(pi));
  if (ii < 0 || ii > 2) return InvalidArgument("Expected impl 0 (auto), 1 (own) or 2 (cuBLAS) for gemm but received " + std::to_string(ii));
  NT_RETURN_IF_ERROR(check_args(a));
  if (a.m == 0 || a.n == 0) return Status::Ok();
  const Dev p = to_dev(a);
  const GemmRoute route = gemm_route(static_cast<int>(impl), cublas_loaded(nullptr), a.k);
  if (route == GemmRoute::kCublasMissing)
    return Status(StatusCode::kNotSupported, "Expected cuBLAS to be loadable for the cuBLAS gemm but it was not found");
  if (route == GemmRoute::kCublas) {
    NT_RETURN_IF_ERROR(cublas_gemm(a, static_cast<int>(prec), cur_stream()));
    if (a.bias || a.act != Act::kNone) {
      const int64_t cnt = a.m * a.n;
      bias_act_k<<<grid_for(cnt, 256), 256, 0, cur_stream()>>>(a.c, p.m, p.n, p.ldc, a.bias, a.act);
    }
    NT_CUDA_LAUNCHED("gemm (cuBLAS epilogue)");
  }
  // FP32 (or a device without mma.sync for TF32/BF16: the FP32 result is the more accurate one).
  const bool mma = prec != GemmPrecision::kF32 && device_has_mma();
  const int64_t simt = mma ? 0 : simt_tile(a.m, a.n, device_multiprocessors());
  const int64_t tile_m = mma ? kBM : simt, tile_n = mma ? kBN : simt;
  // Row tiles go on gridDim.y (at most 65535): a taller C runs as several launches over row ranges.
  const int64_t launches = gemm_row_launches(a.m, tile_m);
  for (int64_t i = 0; i < launches; ++i) {
    const RowRange rr = gemm_row_launch(a.m, tile_m, i);
    Dev q = p;
    q.m = static_cast<int>(rr.rows);
    q.a = p.a + gemm_a_row_offset(p.ta, rr.begin, p.lda);
    q.c = p.c + rr.begin * static_cast<int64_t>(p.ldc);
    const dim3 grid(static_cast<unsigned>((a.n + tile_n - 1) / tile_n), static_cast<unsigned>((rr.rows + tile_m - 1) / tile_m));
    if (!mma && simt == kLB)
      gemm_f32_simt_128x128<<<grid, 256, 0, cur_stream()>>>(q);
    else if (!mma)
      gemm_f32_simt_64x64<<<grid, 256, 0, cur_stream()>>>(q);
    else if (prec == GemmPrecision::kTf32)
      gemm_mma_128x128<static_cast<int>(GemmPrecision::kTf32)><<<grid, 256, 0, cur_stream()>>>(q);
    else
      gemm_mma_128x128<static_cast<int>(GemmPrecision::kBf16)><<<grid, 256, 0, cur_stream()>>>(q);
    NT_RETURN_IF_ERROR(last_error(mma ? "gemm_mma_128x128" : simt == kLB ? "gemm_f32_simt_128x128" : "gemm_f32_simt_64x64"));
  }
  return Status::Ok();
}

// The table's slots: cuBLAS when it was loaded (NODETRAIN_CUBLAS=off keeps it closed), the
// project's kernels otherwise.
Status gemm_f32_cuda(const GemmArgs& a) {
  return gemm(a, static_cast<GemmPrecision>(g_default_prec.load()), GemmImpl::kAuto);
}

Status gemm_bf16_cuda(const GemmArgs& a) { return gemm(a, GemmPrecision::kBf16, GemmImpl::kAuto); }

}  // namespace cuda
}  // namespace nt
