// CPU feature detection and the kernel dispatch switch. The Backend tables (nodetrain/backend.h)
// are filled once at start-up by native/cpu/dispatch.cc; set_force_portable(true) makes the
// portable table the active one, so that tests cover both.
#pragma once

namespace nt {

struct CpuFeatures {
  bool avx2 = false;
  bool fma = false;
};

const CpuFeatures& cpu_features();
// True when the active table uses the AVX2+FMA kernels (reporting only; kernels never ask).
bool use_avx2();
void set_force_portable(bool on);
bool force_portable();

}  // namespace nt
