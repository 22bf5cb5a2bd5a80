// CPU feature detection (once, at first use). The dispatch tables and the force-portable switch
// are in dispatch.cc.
#include "nodetrain/cpu_features.h"

#include <atomic>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <string>

#if defined(__linux__) && defined(__x86_64__)
#include <sys/syscall.h>
#include <unistd.h>
#define NT_AMX_PRCTL 1
#endif

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>
#define NT_X86_CPUID 1
#endif

namespace nt {
namespace {

#if defined(NT_X86_CPUID)
unsigned long long xgetbv0() {
  unsigned eax = 0, edx = 0;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return (static_cast<unsigned long long>(edx) << 32) | eax;
}
#endif

CpuFeatures detect() {
  CpuFeatures f;
#if defined(NT_X86_CPUID)
  __builtin_cpu_init();
  f.avx2 = __builtin_cpu_supports("avx2");
  f.fma = __builtin_cpu_supports("fma");
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return f;
  const bool osxsave = (c >> 27) & 1;
  if (!osxsave) return f;
  const unsigned long long xcr0 = xgetbv0();
  const bool os_zmm = (xcr0 & 0xE6) == 0xE6;  // SSE, AVX, opmask, ZMM_Hi256, Hi16_ZMM
  const bool os_amx = (xcr0 & 0x60000) == 0x60000;  // XTILECFG, XTILEDATA (permission asked separately)
  if (__get_cpuid_max(0, nullptr) < 7) return f;
  __cpuid_count(7, 0, a, b, c, d);
  if (os_zmm) {
    f.avx512f = (b >> 16) & 1;
    f.avx512dq = (b >> 17) & 1;
    f.avx512bw = (b >> 30) & 1;
    f.avx512vl = (b >> 31) & 1;
  }
  if (os_amx) {
    f.amx_bf16 = (d >> 22) & 1;
    f.amx_tile = (d >> 24) & 1;
  }
  const unsigned max_sub = a;
  if (max_sub >= 1 && os_zmm) {
    __cpuid_count(7, 1, a, b, c, d);
    f.avx512_bf16 = (a >> 5) & 1;
  }
#endif
  return f;
}
}  // namespace

const CpuFeatures& cpu_features() {
  static const CpuFeatures f = detect();
  return f;
}

namespace {
std::once_flag g_amx_once;
std::atomic<int> g_amx_state{0};  // 0 not requested, 1 granted, 2 denied
std::string g_amx_reason = "not requested";

void request_amx() {
  const CpuFeatures& f = cpu_features();
  if (!(f.amx_tile && f.amx_bf16)) {
    g_amx_reason = "denied: the CPU or OS does not report AMX-TILE and AMX-BF16";
    g_amx_state.store(2);
    return;
  }
#if defined(NT_AMX_PRCTL)
  constexpr int kArchGetXcompPerm = 0x1022, kArchReqXcompPerm = 0x1023, kXfeatureXtiledata = 18;
  if (syscall(SYS_arch_prctl, static_cast<unsigned long>(kArchReqXcompPerm),
              static_cast<unsigned long>(kXfeatureXtiledata)) != 0) {
    const int err = errno;  // (read before anything that allocates)
    char buf[128];
    const char* msg = strerror_r(err, buf, sizeof buf);  // GNU: returns the message
    g_amx_reason = std::string("denied: arch_prctl(ARCH_REQ_XCOMP_PERM) failed: ") + msg;
    g_amx_state.store(2);
    return;
  }
  unsigned long long bitmask = 0;
  if (syscall(SYS_arch_prctl, static_cast<unsigned long>(kArchGetXcompPerm), &bitmask) != 0 || !(bitmask & (1ULL << kXfeatureXtiledata))) {
    g_amx_reason = "denied: ARCH_GET_XCOMP_PERM does not list XTILEDATA";
    g_amx_state.store(2);
    return;
  }
  g_amx_reason = "granted";
  g_amx_state.store(1);
#else
  g_amx_reason = "denied: tile permission is only requested on Linux x86-64";
  g_amx_state.store(2);
#endif
}
}  // namespace

bool amx_ready() {
  if (g_amx_state.load(std::memory_order_acquire) == 0) std::call_once(g_amx_once, request_amx);
  return g_amx_state.load(std::memory_order_acquire) == 1;
}

const char* amx_permission() {
  return g_amx_state.load(std::memory_order_acquire) == 0 ? "not requested" : g_amx_reason.c_str();
}

}  // namespace nt
