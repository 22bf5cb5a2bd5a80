// CPU feature detection (once, at first use) and the force-portable switch used by tests.
#include "nodetrain/cpu_features.h"

#include <atomic>

namespace nt {
namespace {
CpuFeatures detect() {
  CpuFeatures f;
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
  __builtin_cpu_init();
  f.avx2 = __builtin_cpu_supports("avx2");
  f.fma = __builtin_cpu_supports("fma");
#endif
  return f;
}
std::atomic<bool> g_force_portable{false};
}  // namespace

const CpuFeatures& cpu_features() {
  static const CpuFeatures f = detect();
  return f;
}

bool use_avx2() {
#if defined(NT_HAVE_AVX2_KERNELS)
  return !g_force_portable.load(std::memory_order_relaxed) && cpu_features().avx2 && cpu_features().fma;
#else
  return false;
#endif
}

void set_force_portable(bool on) { g_force_portable.store(on, std::memory_order_relaxed); }
bool force_portable() { return g_force_portable.load(std::memory_order_relaxed); }

}  // namespace nt
