// The CPU Backend tables, filled ONCE at start-up from the detected CPU features:
//   portable  the portable kernels (scalar or auto-vectorised C++), every machine;
//   avx2      AVX2/FMA GEMM microkernels and optimizer bodies where the CPU has them (and the
//             build compiled them), else the portable ones;
//   avx512    the AVX-512 GEMM and the AVX-512 build of the activation and softmax loops over
//             the avx2 table, where the CPU has AVX-512 F/BW/VL/DQ.
//   amx       bf16 GEMMs on AMX-BF16 tiles over the avx512 table, where the CPU has AMX;
//             set_amx_emulation(true) (tests only) makes the same level available on CPUs with
//             AVX512-BF16 but no AMX, its tiles emulated in software.
// The active table is the best one, capped by set_max_isa() (tests force each level).
// set_force_portable(true) makes cpu_backend() return the portable table (one atomic load per
// call; the kernels themselves never test features).
// Also the registry of extension kernels (NT_REGISTER_KERNEL in nodetrain/backend.h).
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "kernels/gemm_internal.h"
#include "kernels/variants.h"
#include "nodetrain/backend.h"
#include "nodetrain/cpu_features.h"
#include "nodetrain/loops.h"

namespace nt {
namespace {

void* cpu_alloc(size_t bytes) {
  if (bytes == 0) bytes = 64;
  const size_t rounded = (bytes + 63) / 64 * 64;
  return std::aligned_alloc(64, rounded);
}
void cpu_free(void* p) { std::free(p); }
void cpu_copy(void* dst, const void* src, size_t bytes) {
  if (bytes) std::memcpy(dst, src, bytes);
}
void cpu_fill(float* dst, float v, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dst[i] = v;
}

void fill_portable(Backend* b) {
  b->name = "cpu";
  b->isa = Isa::kPortable;
  b->alloc = cpu_alloc;
  b->free = cpu_free;
  b->copy_to_device = cpu_copy;
  b->copy_to_host = cpu_copy;
  b->copy = cpu_copy;
  b->fill = cpu_fill;
  b->gemm = gemm_f32_portable;
  b->gemm_bf16 = gemm_bf16_portable;
  b->axpy = axpy_f32;
  b->scale = scale_f32;
  b->clamp = clamp_f32;
  b->act_forward = act_forward_f32;
  b->act_backward = act_backward_f32;
  b->act_backward_from_output = act_backward_from_output_f32;
  b->copy_cols = copy_cols_f32;
  b->sum_squares = sum_squares_f32;
  b->dot = dot_f32;
  b->col_sum = col_sum_f32;
  b->softmax = softmax_f32;
  b->softmax_backward = softmax_backward_f32;
  b->layer_norm_forward = layer_norm_forward_f32;
  b->layer_norm_backward = layer_norm_backward_f32;
  b->batch_norm_batch_stats = batch_norm_batch_stats_f32;
  b->batch_norm_moving_stats = batch_norm_moving_stats_f32;
  b->batch_norm_apply = batch_norm_apply_f32;
  b->batch_norm_backward = batch_norm_backward_f32;
  b->batch_norm_frozen_backward = batch_norm_frozen_backward_f32;
  b->batch_norm_update_moving = batch_norm_update_moving_f32;
  b->dropout_forward = dropout_forward_f32;
  b->dropout_backward = dropout_backward_f32;
  b->softmax_xent = softmax_xent_f32_portable;
  b->sgd_step = sgd_step_f32_portable;
  b->adam_step = adam_step_f32_portable;
  b->rmsprop_step = rmsprop_step_f32_portable;
  b->adagrad_step = adagrad_step_f32_portable;
  // The engine's loops (nodetrain/loops.h): one variant for every ISA level (inherited below),
  // except the dropout draws, whose Philox fill has an AVX2 build (the AVX-512 table keeps it).
  b->loss = loss_f32_ref;
  b->metric = metric_f32_ref;
  b->gather_rows = gather_rows_f32;
  b->hyper_direction = hyper_direction_f32_ref;
  b->uniform = uniform_philox_f32_ref;
}

bool fill_avx2(Backend* b) {
#if defined(NT_HAVE_AVX2_KERNELS)
  const CpuFeatures& f = cpu_features();
  if (!(f.avx2 && f.fma)) return false;
  b->isa = Isa::kAvx2;
  b->gemm = gemm_f32_avx2;
  b->gemm_bf16 = gemm_bf16_avx2;
  b->sgd_step = sgd_step_f32_avx2;
  b->adam_step = adam_step_f32_avx2;
  b->rmsprop_step = rmsprop_step_f32_avx2;
  b->adagrad_step = adagrad_step_f32_avx2;
  b->act_forward = act_forward_f32_avx2;
  b->act_backward = act_backward_f32_avx2;
  b->softmax = softmax_f32_avx2;
  b->act_backward_from_output = act_backward_from_output_f32_avx2;
  b->softmax_xent = softmax_xent_f32_avx2;
  b->uniform = uniform_philox_f32_avx2;
  return true;
#else
  (void)b;
  return false;
#endif
}

// AVX-512 kernels over the AVX2 table: the 14x32 GEMM (native/cpu/avx512/), the activation and
// softmax loops (kernels/act_loops.h compiled with -mavx512f). Selected on every CPU
// with AVX-512 F/BW/VL/DQ and OS zmm support, Zen4 included: there the 512-bit FMAs issue as two
// 256-bit halves, so the GEMM's FMA peak equals AVX2's, but the 14x32 tile halves the loads and
// broadcasts per FMA and measured at least as fast as the 6x16 AVX2 kernel (README, "GEMM").
// NODETRAIN_NO_AVX512=1 in the environment keeps the AVX2 table (read once at start-up).
bool fill_avx512(Backend* b) {
#if defined(NT_HAVE_AVX512_KERNELS)
  if (!cpu_features().avx512_all()) return false;
  if (const char* e = std::getenv("NODETRAIN_NO_AVX512"))
    if (e[0] == '1') return false;
  b->isa = Isa::kAvx512;
  b->gemm = gemm_f32_avx512;
  b->gemm_bf16 = gemm_bf16_avx512;
  b->act_forward = act_forward_f32_avx512;
  b->act_backward = act_backward_f32_avx512;
  b->softmax = softmax_f32_avx512;
  b->act_backward_from_output = act_backward_from_output_f32_avx512;
  b->softmax_xent = softmax_xent_f32_avx512;
  return true;
#else
  (void)b;
  return false;
#endif
}

// AMX over the AVX-512 table: bf16 GEMMs on AMX-BF16 tiles, where the CPU reports AMX-TILE,
// AMX-BF16 and AVX512-BF16 (the tile kernel converts with vcvtne2ps2bf16). The OS permission is
// asked at the first bf16 GEMM (amx_ready()); if refused, that slot runs the vdpbf16ps kernel.
// NODETRAIN_NO_AMX=1 keeps the AVX-512 table.
bool fill_amx(Backend* b) {
#if defined(NT_HAVE_AVX512_KERNELS)
  const CpuFeatures& f = cpu_features();
  if (!(f.amx_tile && f.amx_bf16 && f.avx512_bf16)) return false;
  if (const char* e = std::getenv("NODETRAIN_NO_AMX"))
    if (e[0] == '1') return false;
  b->isa = Isa::kAmx;
  b->gemm_bf16 = gemm_bf16_amx;
  return true;
#else
  (void)b;
  return false;
#endif
}

// The AMX level over EMULATED tiles (test hook, set_amx_emulation): the AVX-512 table with bf16
// GEMMs through the AMX driver, packing and microkernel source run on the software tile unit
// (native/cpu/avx512/amx_emulated.h). Only where the AVX-512 table is the best one and the CPU has
// AVX512-BF16 (the AMX pair converters use vcvtne2ps2bf16) but no AMX: a CPU with AMX runs the
// real one (and keeps the AVX-512 table under NODETRAIN_NO_AMX=1).
bool fill_amx_emulated(Backend* b) {
#if defined(NT_HAVE_AVX512_KERNELS)
  const CpuFeatures& f = cpu_features();
  if (!f.avx512_bf16 || (f.amx_tile && f.amx_bf16)) return false;  // (AMX with NODETRAIN_NO_AMX=1 too)
  b->isa = Isa::kAmx;
  b->gemm_bf16 = gemm_bf16_amx_emulated;
  return true;
#else
  (void)b;
  return false;
#endif
}

// One table per ISA level: by_isa[0] portable, [1] AVX2 (or portable), [2] AVX-512 (or the AVX2
// one); best is the level of the best table this machine and build have. amx_emulated is the
// level-3 table the test hook puts in use (when amx_emulation_possible).
struct Tables {
  Backend by_isa[4];
  int best = 0;
  Backend amx_emulated;
  bool amx_emulation_possible = false;
  Tables() {
    fill_portable(&by_isa[0]);
    by_isa[1] = by_isa[0];
    if (fill_avx2(&by_isa[1])) best = 1;
    by_isa[2] = by_isa[1];
    if (best == 1 && fill_avx512(&by_isa[2])) best = 2;
    by_isa[3] = by_isa[2];
    if (best == 2 && fill_amx(&by_isa[3])) best = 3;
    amx_emulated = by_isa[2];
    amx_emulation_possible = best == 2 && fill_amx_emulated(&amx_emulated);
  }
};

const Tables& tables() {
  static const Tables t;
  return t;
}

// Filled before main (static initialisation of this file), so no call ever races the first fill.
const Tables& g_tables_at_startup = tables();
std::atomic<bool> g_force_portable{false};
std::atomic<int> g_max_isa{-1};
std::atomic<bool> g_amx_emulation{false};  // only ever true where amx_emulation_possible

int best_level() { return g_amx_emulation.load(std::memory_order_relaxed) ? 3 : tables().best; }

int active_level() {
  if (g_force_portable.load(std::memory_order_relaxed)) return 0;
  const int cap = g_max_isa.load(std::memory_order_relaxed);
  const int best = best_level();
  return cap < 0 || cap > best ? best : cap;
}

std::vector<KernelVariants>& registry() {
  static std::vector<KernelVariants> r;
  return r;
}

}  // namespace

const Backend& cpu_backend() {
  const int level = active_level();
  return level == 3 && g_amx_emulation.load(std::memory_order_relaxed) ? tables().amx_emulated
                                                                         : tables().by_isa[level];
}

bool use_avx2() { return cpu_backend().isa != Isa::kPortable; }
void set_max_isa(int level) { g_max_isa.store(level < 0 ? -1 : level, std::memory_order_relaxed); }
int max_isa() { return g_max_isa.load(std::memory_order_relaxed); }
int best_isa() { return best_level(); }
int active_isa() { return static_cast<int>(cpu_backend().isa); }
void set_force_portable(bool on) { g_force_portable.store(on, std::memory_order_relaxed); }
bool force_portable() { return g_force_portable.load(std::memory_order_relaxed); }

bool set_amx_emulation(bool on) {
  g_amx_emulation.store(on && tables().amx_emulation_possible, std::memory_order_relaxed);
  return amx_emulation();
}
bool amx_emulation() { return g_amx_emulation.load(std::memory_order_relaxed); }
void amx_emulation_counts(uint64_t* faults, uint64_t* dot_products) {
#if defined(NT_HAVE_AVX512_KERNELS)
  *faults = gemm_detail::amx_emulated_faults();
  *dot_products = gemm_detail::amx_emulated_dot_products();
#else
  *faults = *dot_products = 0;
#endif
}

bool register_kernel(const KernelVariants& v) {
  for (auto& e : registry())
    if (std::strcmp(e.name, v.name) == 0) {
      e = v;
      return true;
    }
  registry().push_back(v);
  return true;
}

const KernelVariants* find_kernel(const char* name) {
  for (const auto& e : registry())
    if (std::strcmp(e.name, name) == 0) return &e;
  return nullptr;
}

int num_registered_kernels() { return static_cast<int>(registry().size()); }
const KernelVariants* registered_kernel(int i) {
  return i >= 0 && i < num_registered_kernels() ? &registry()[static_cast<size_t>(i)] : nullptr;
}

}  // namespace nt
