// Runtime controls: thread count, forced portable kernels, CPU features, build info.
#include "common.h"
#include "nodetrain/cpu_features.h"
#include "nodetrain/parallel.h"

namespace ntb {
namespace {

Napi::Value GetNumThreads(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), nt::num_threads()); }

void SetNumThreads(const Napi::CallbackInfo& info) {
  int64_t n;
  if (!ArgInt(info, 0, "threads", &n, 1, 256)) return;
  nt::set_num_threads(static_cast<int>(n));
}

void SetForcePortable(const Napi::CallbackInfo& info) {
  bool on;
  if (!ArgBool(info, 0, "on", &on)) return;
  nt::set_force_portable(on);
}

Napi::Value GetForcePortable(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), nt::force_portable());
}

const char* const kIsaNames[] = {"portable", "avx2", "avx512", "amx"};

// setMaxIsa(level): 0 portable, 1 AVX2, 2 AVX-512, 3 AMX, -1 no cap (the names are mapped in lib/runtime.ts).
void SetMaxIsa(const Napi::CallbackInfo& info) {
  int64_t level;
  if (!ArgInt(info, 0, "level", &level, -1, 3)) return;
  nt::set_max_isa(static_cast<int>(level));
}

Napi::Value GetMaxIsa(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), nt::max_isa()); }

Napi::Value CpuFeatures(const Napi::CallbackInfo& info) {
  Napi::Object o = Napi::Object::New(info.Env());
  const nt::CpuFeatures& f = nt::cpu_features();
  o.Set("avx2", f.avx2);
  o.Set("fma", f.fma);
#if defined(NT_HAVE_AVX2_KERNELS)
  o.Set("avx2Kernels", true);
#else
  o.Set("avx2Kernels", false);
#endif
  o.Set("useAvx2", nt::use_avx2());
  o.Set("avx512f", f.avx512f);
  o.Set("avx512bw", f.avx512bw);
  o.Set("avx512vl", f.avx512vl);
  o.Set("avx512dq", f.avx512dq);
  o.Set("avx512bf16", f.avx512_bf16);
  o.Set("amxTile", f.amx_tile);
  o.Set("amxBf16", f.amx_bf16);
#if defined(NT_HAVE_AVX512_KERNELS)
  o.Set("avx512Kernels", true);
#else
  o.Set("avx512Kernels", false);
#endif
  o.Set("bestIsa", kIsaNames[nt::best_isa()]);
  o.Set("isa", kIsaNames[nt::active_isa()]);
  // The path precision 'bf16' GEMMs take with the active table: AMX tiles (where the tile
  // permission is granted: on the AMX table this asks for it now, as the first bf16 product
  // would), AVX512-BF16 vdpbf16ps, or the emulation on the f32 kernels (same rounding).
  // With the test hook on (setAmxEmulation), the AMX level runs on emulated tiles: reported as
  // such, and the tile permission is not asked.
  const int active = nt::active_isa();
  const bool emulated_tiles = active == 3 && nt::amx_emulation();
  const bool amx = active == 3 && !emulated_tiles && nt::amx_ready();
  const char* bf16 = "emulated";
  if (emulated_tiles) {
    bf16 = "amx-emulated";
  } else if (amx) {
    bf16 = "amx";
  } else if (active >= 2 && f.avx512_bf16) {
    bf16 = "avx512bf16";
  }
  o.Set("bf16Gemm", bf16);
  o.Set("amxPermission", nt::amx_permission());
  o.Set("amxEmulation", nt::amx_emulation());
  return o;
}

// setAmxEmulation(on) -> whether the emulated AMX level is now in effect (test hook; see
// nt::set_amx_emulation). amxEmulationCounts() -> the software tile unit's counters.
Napi::Value SetAmxEmulation(const Napi::CallbackInfo& info) {
  bool on;
  if (!ArgBool(info, 0, "on", &on)) return info.Env().Undefined();
  return Napi::Boolean::New(info.Env(), nt::set_amx_emulation(on));
}

Napi::Value AmxEmulationCounts(const Napi::CallbackInfo& info) {
  uint64_t faults = 0, dp = 0;
  nt::amx_emulation_counts(&faults, &dp);
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("faults", static_cast<double>(faults));
  o.Set("tdpbf16ps", static_cast<double>(dp));
  return o;
}

}  // namespace

void InitRuntime(Napi::Env env, Napi::Object exports) {
  exports.Set("getNumThreads", Napi::Function::New<GetNumThreads>(env, "getNumThreads"));
  exports.Set("setNumThreads", Napi::Function::New<SetNumThreads>(env, "setNumThreads"));
  exports.Set("setForcePortable", Napi::Function::New<SetForcePortable>(env, "setForcePortable"));
  exports.Set("getForcePortable", Napi::Function::New<GetForcePortable>(env, "getForcePortable"));
  exports.Set("setMaxIsa", Napi::Function::New<SetMaxIsa>(env, "setMaxIsa"));
  exports.Set("getMaxIsa", Napi::Function::New<GetMaxIsa>(env, "getMaxIsa"));
  exports.Set("cpuFeatures", Napi::Function::New<CpuFeatures>(env, "cpuFeatures"));
  exports.Set("setAmxEmulation", Napi::Function::New<SetAmxEmulation>(env, "setAmxEmulation"));
  exports.Set("amxEmulationCounts", Napi::Function::New<AmxEmulationCounts>(env, "amxEmulationCounts"));
  exports.Set("abiVersion", Napi::Number::New(env, 1));
}

}  // namespace ntb
