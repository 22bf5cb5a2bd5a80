// cuBLAS through dlopen: the few entry points the GEMM needs, declared here with the library's
// documented signatures and enum values (cublas_api.h), so the build needs neither cuBLAS headers
// nor its library. Tried in order: $NODETRAIN_CUBLAS, libcublas.so.13, .so.12, .so;
// NODETRAIN_CUBLAS=off (or 0, none, false; any case) opens none.
// Thread-safe lazy load; one handle per process, bound to the backend's stream on each call.
#include <dlfcn.h>

#include <cctype>
#include <cstdlib>
#include <mutex>
#include <string>

#include "cuda/cublas_loader.h"
#include "cuda/cuda_backend.h"

namespace nt {
namespace cuda {
namespace {

using Handle = void*;
using CreateFn = int (*)(Handle*);
using SetStreamFn = int (*)(Handle, cudaStream_t);
using GemmExFn = int (*)(Handle, int, int, int, int, int, const void*, const void*, int, int, const void*, int, int,
                         const void*, void*, int, int, int, int);
constexpr int kOpN = 0, kOpT = 1, kR32F = 0;
constexpr int kCompute32F = 68, kCompute32FFast16BF = 75, kCompute32FFastTF32 = 77, kGemmDefault = -1;

struct Lib {
  void* dl = nullptr;
  std::string which;
  Handle handle = nullptr;
  SetStreamFn set_stream = nullptr;
  GemmExFn gemm_ex = nullptr;
  std::mutex mu;  // the handle is shared; calls are serialised
};

Lib& lib() {
  static Lib* l = [] {
    auto* k = new Lib();
    std::string names[4] = {"", "libcublas.so.13", "libcublas.so.12", "libcublas.so"};
    if (const char* env = std::getenv("NODETRAIN_CUBLAS")) {
      std::string e = env, lower = env;
      for (char& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      if (lower == "off" || lower == "0" || lower == "none" || lower == "false") return k;  // own kernels only
      names[0] = e;  // "" (set but empty): the default names
    }
    for (const std::string& n : names) {
      if (n.empty()) continue;
      k->dl = dlopen(n.c_str(), RTLD_NOW | RTLD_LOCAL);
      if (k->dl) {
        k->which = n;
        break;
      }
    }
    if (!k->dl) return k;
    auto create = reinterpret_cast<CreateFn>(dlsym(k->dl, "cublasCreate_v2"));
    k->set_stream = reinterpret_cast<SetStreamFn>(dlsym(k->dl, "cublasSetStream_v2"));
    k->gemm_ex = reinterpret_cast<GemmExFn>(dlsym(k->dl, "cublasGemmEx"));
    if (!create || !k->set_stream || !k->gemm_ex || !available(nullptr) || create(&k->handle) != 0) {
      k->handle = nullptr;
      k->which.clear();
    }
    return k;
  }();
  return *l;
}

}  // namespace

bool cublas_loaded(std::string* which) {
  Lib& l = lib();
  if (which) *which = l.which;
  return l.handle != nullptr;
}

Status cublas_gemm(const GemmArgs& a, int prec, cudaStream_t stream) {
  Lib& l = lib();
  if (!l.handle) return Status(StatusCode::kNotSupported, "cuBLAS is not loaded");
  std::lock_guard<std::mutex> lock(l.mu);
  if (l.set_stream(l.handle, stream) != 0) return Internal("cublasSetStream failed");
  const int compute = prec == 1 ? kCompute32FFastTF32 : prec == 2 ? kCompute32FFast16BF : kCompute32F;
  const float alpha = a.alpha, beta = a.beta;
  const int st = l.gemm_ex(l.handle, a.trans_b ? kOpT : kOpN, a.trans_a ? kOpT : kOpN, static_cast<int>(a.n),
                           static_cast<int>(a.m), static_cast<int>(a.k), &alpha, a.b, kR32F, static_cast<int>(a.ldb), a.a,
                           kR32F, static_cast<int>(a.lda), &beta, a.c, kR32F, static_cast<int>(a.ldc), compute,
                           kGemmDefault);
  if (st != 0) return Internal("cublasGemmEx returned status " + std::to_string(st));
  return Status::Ok();
}

}  // namespace cuda
}  // namespace nt
