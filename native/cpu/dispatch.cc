// The CPU Backend tables, filled ONCE at start-up from the detected CPU features:
//   portable  the portable kernels (scalar or auto-vectorised C++), every machine;
//   dispatched the best the machine has: AVX2/FMA GEMM microkernels and optimizer bodies where
//             the CPU has them (and the build compiled them), else the portable ones.
// set_force_portable(true) makes cpu_backend() return the portable table (one atomic load per
// call; the kernels themselves never test features). The AVX-512 table slots in beside AVX2:
// fill_avx512() below is where its kernels go, selected when cpu_features() reports AVX-512.
// Also the registry of extension kernels (NT_REGISTER_KERNEL in nodetrain/backend.h).
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "kernels/variants.h"
#include "nodetrain/backend.h"
#include "nodetrain/cpu_features.h"

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
  b->softmax_xent = softmax_xent_f32;
  b->sgd_step = sgd_step_f32_portable;
  b->adam_step = adam_step_f32_portable;
  b->rmsprop_step = rmsprop_step_f32_portable;
  b->adagrad_step = adagrad_step_f32_portable;
}

bool fill_avx2(Backend* b) {
#if defined(NT_HAVE_AVX2_KERNELS)
  const CpuFeatures& f = cpu_features();
  if (!(f.avx2 && f.fma)) return false;
  b->isa = Isa::kAvx2;
  b->gemm = gemm_f32_avx2;
  b->sgd_step = sgd_step_f32_avx2;
  b->adam_step = adam_step_f32_avx2;
  b->rmsprop_step = rmsprop_step_f32_avx2;
  b->adagrad_step = adagrad_step_f32_avx2;
  return true;
#else
  (void)b;
  return false;
#endif
}

// AVX-512 kernels (GEMM microkernel, optimizer bodies) go here, over the AVX2 table, once built.
bool fill_avx512(Backend* b) {
  (void)b;
  return false;
}

struct Tables {
  Backend portable, dispatched;
  Tables() {
    fill_portable(&portable);
    dispatched = portable;
    if (fill_avx2(&dispatched)) fill_avx512(&dispatched);
  }
};

const Tables& tables() {
  static const Tables t;
  return t;
}

// Filled before main (static initialisation of this file), so no call ever races the first fill.
const Tables& g_tables_at_startup = tables();
std::atomic<bool> g_force_portable{false};

std::vector<KernelVariants>& registry() {
  static std::vector<KernelVariants> r;
  return r;
}

}  // namespace

const Backend& cpu_backend() {
  const Tables& t = tables();
  return g_force_portable.load(std::memory_order_relaxed) ? t.portable : t.dispatched;
}

bool use_avx2() {
  return !g_force_portable.load(std::memory_order_relaxed) && tables().dispatched.isa != Isa::kPortable;
}
void set_force_portable(bool on) { g_force_portable.store(on, std::memory_order_relaxed); }
bool force_portable() { return g_force_portable.load(std::memory_order_relaxed); }

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
