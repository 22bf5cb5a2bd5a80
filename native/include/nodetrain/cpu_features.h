// CPU feature detection and the kernel dispatch switch. The dispatch table is filled once at
// start-up; set_force_portable(true) makes every kernel take its portable (scalar _ref or
// auto-vectorised baseline) path so that tests cover both.
#pragma once

namespace nt {

struct CpuFeatures {
  bool avx2 = false;
  bool fma = false;
};

const CpuFeatures& cpu_features();
// True when the AVX2+FMA kernels are usable and not disabled.
bool use_avx2();
void set_force_portable(bool on);
bool force_portable();

}  // namespace nt
