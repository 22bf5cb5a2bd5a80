// GEMM bindings: gemm(a, b, c, transA, transB, m, n, k, alpha, beta, lda, ldb, ldc, bias, act, useRef, bf16)
// (bf16: both operands rounded to bfloat16, fp32 accumulation: nt::gemm_bf16)
// (act: a name from nt::kActNames)
// over NativeBuffers, computing c = act(alpha * op(a) op(b) + beta * c + bias) in place (see
// nt::gemm_f32 in nodetrain/kernels.h). Checks every buffer extent the kernel will touch.
#include <cstdint>
#include <limits>
#include <new>
#include <string>

#include "common.h"
#include "nodetrain/kernels.h"

namespace ntb {
namespace {

constexpr int64_t kMaxDim = (int64_t(1) << 40);

// Elements a rows x cols matrix with row stride ld spans; -1 when it overflows int64.
int64_t Extent(int64_t rows, int64_t cols, int64_t ld) {
  if (rows == 0 || cols == 0) return 0;
  if (ld > 0 && rows - 1 > (std::numeric_limits<int64_t>::max() - cols) / ld) return -1;
  return (rows - 1) * ld + cols;
}

void Gemm(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!ArgCount(info, 17, "gemm")) return;
  NativeBuffer *a, *b, *c, *bias;
  nt::GemmArgs g;
  bool use_ref, bf16;
  nt::Act act = nt::Act::kNone;
  if (!ArgBuffer(info, 0, "a", &a) || !ArgBuffer(info, 1, "b", &b) || !ArgBuffer(info, 2, "c", &c) ||
      !ArgBool(info, 3, "transA", &g.trans_a) || !ArgBool(info, 4, "transB", &g.trans_b) ||
      !ArgInt(info, 5, "m", &g.m, 0, kMaxDim) || !ArgInt(info, 6, "n", &g.n, 0, kMaxDim) ||
      !ArgInt(info, 7, "k", &g.k, 0, kMaxDim) || !ArgFloat(info, 8, "alpha", &g.alpha) ||
      !ArgFloat(info, 9, "beta", &g.beta) || !ArgInt(info, 10, "lda", &g.lda, 0, kMaxDim) ||
      !ArgInt(info, 11, "ldb", &g.ldb, 0, kMaxDim) || !ArgInt(info, 12, "ldc", &g.ldc, 0, kMaxDim) ||
      !ArgBuffer(info, 13, "bias", &bias, true) || !ParseName(env, info[14], "act", nt::kActNames, &act) ||
      !ArgBool(info, 15, "useRef", &use_ref) || !ArgBool(info, 16, "bf16", &bf16))
    return;
  if (c == a || c == b || (bias != nullptr && c == bias)) {
    ThrowError(env, nt::StatusCode::kInvalidArgumentValue, "Expected c to be a buffer distinct from a, b and bias");
    return;
  }
  const int64_t a_rows = g.trans_a ? g.k : g.m, a_cols = g.trans_a ? g.m : g.k;
  const int64_t b_rows = g.trans_b ? g.n : g.k, b_cols = g.trans_b ? g.k : g.n;
  if (g.lda < a_cols || g.ldb < b_cols || g.ldc < g.n) {
    ThrowError(env, nt::StatusCode::kInvalidArgumentValue, "Expected each leading dimension to be at least its row length");
    return;
  }
  if (!CheckBuffer(env, a, "a", DType::kFloat32, Extent(a_rows, a_cols, g.lda)) ||
      !CheckBuffer(env, b, "b", DType::kFloat32, Extent(b_rows, b_cols, g.ldb)) ||
      !CheckBuffer(env, c, "c", DType::kFloat32, Extent(g.m, g.n, g.ldc)))
    return;
  if (bias != nullptr && !CheckBuffer(env, bias, "bias", DType::kFloat32, g.n)) return;
  g.a = a->f32();
  g.b = b->f32();
  g.c = c->f32();
  g.bias = bias ? bias->f32() : nullptr;
  g.act = act;
  nt::Status st;
  try {
    if (bf16) {
      st = use_ref ? nt::gemm_bf16_ref(g) : nt::gemm_bf16(g);
    } else {
      st = use_ref ? nt::gemm_f32_ref(g) : nt::gemm_f32(g);
    }
  } catch (const std::bad_alloc&) {
    st = nt::Status(nt::StatusCode::kOutOfMemory, "gemm: out of memory");
  } catch (...) {
    st = nt::Internal("gemm: unexpected exception");
  }
  ThrowIfError(env, st);
}

}  // namespace

void InitGemm(Napi::Env env, Napi::Object exports) {
  exports.Set("gemm", Napi::Function::New<Gemm>(env, "gemm"));
}

}  // namespace ntb
