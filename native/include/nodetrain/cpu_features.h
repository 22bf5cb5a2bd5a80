// CPU feature detection and the kernel dispatch switch. The Backend tables (nodetrain/backend.h)
// are filled once at start-up by native/cpu/dispatch.cc; set_force_portable(true) makes the
// portable table the active one, and set_max_isa() caps the dispatched table at an ISA level
// (for tests and comparisons: every path the machine can run can be made the active one).
#pragma once
#include <cstdint>

namespace nt {

struct CpuFeatures {
  bool avx2 = false;
  bool fma = false;
  // AVX-512 Foundation + BW/VL/DQ with the OS saving opmask and zmm state (XCR0 bits 5-7).
  bool avx512f = false, avx512bw = false, avx512vl = false, avx512dq = false;
  bool avx512_bf16 = false;  // vdpbf16ps / vcvtne2ps2bf16 (CPUID.(7,1):EAX[5])
  bool amx_tile = false, amx_bf16 = false;  // CPUID.(7,0):EDX[24], [22]; the OS part is asked at first use
  bool avx512_all() const { return avx512f && avx512bw && avx512vl && avx512dq; }
};

const CpuFeatures& cpu_features();
// AMX tile data needs the kernel's permission once per process (Linux 5.16+:
// arch_prctl(ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA)), asked the first time a tile kernel is about
// to run rather than at start-up, so that processes that never use bf16 keep their signal frames
// small. True when granted; the call can fail (older kernel, seccomp, a sigaltstack too small for
// the tile state), and then the AVX512-BF16 kernels run instead. Thread-safe; asks once.
bool amx_ready();
// "not requested", "granted" or "denied: <reason>" (for cpuFeatures()).
const char* amx_permission();
// True when the active table uses the AVX2+FMA kernels (reporting only; kernels never ask).
bool use_avx2();
void set_force_portable(bool on);
bool force_portable();
// ISA levels: 0 portable, 1 AVX2/FMA, 2 AVX-512, 3 AMX (AVX-512 with AMX-BF16 tiles for bf16 GEMMs). set_max_isa(level) makes the active table the
// best one at or below `level` (-1: no cap); levels above what the machine has change nothing.
void set_max_isa(int level);
int max_isa();
// The ISA level of the best table this machine and build have, and of the active one.
int best_isa();
int active_isa();

// TEST HOOK, never on in production: set_amx_emulation(true), on a CPU with AVX512-BF16 and the
// AVX-512 table but no AMX, makes ISA level 3 available with a table whose bf16 GEMM runs the AMX
// driver, packing and microkernel source over a software model of the tile unit
// (native/cpu/avx512/amx_emulated.h), so that they are tested without AMX hardware. best_isa() is
// then 3 and the active table (unless capped) the emulated one. false restores everything. Where
// the CPU has AMX (or lacks AVX512-BF16) it does nothing. Returns amx_emulation().
bool set_amx_emulation(bool on);
// True while the emulated AMX level is in effect.
bool amx_emulation();
// Counts of the software tile unit, process-wide: faults (what the hardware would raise #UD or #GP
// for; the instruction is then skipped) and TDPBF16PS instructions executed.
void amx_emulation_counts(uint64_t* faults, uint64_t* dot_products);

}  // namespace nt
