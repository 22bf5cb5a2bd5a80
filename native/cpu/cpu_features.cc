// CPU feature detection (once, at first use). The dispatch tables and the force-portable switch
// are in dispatch.cc.
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
}  // namespace

const CpuFeatures& cpu_features() {
  static const CpuFeatures f = detect();
  return f;
}

}  // namespace nt
