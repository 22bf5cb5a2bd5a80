// The Backend table: every operation the engine needs, as function pointers over raw device
// pointers with the kernel API's signatures (nodetrain/kernels.h). The engine's ops call only
// through a Backend, never a kernel directly, so a second device (CUDA) plugs in by filling its
// own table. The CPU tables are filled ONCE at start-up by native/cpu/dispatch.cc from the
// detected CPU features; set_force_portable() switches which of them is active.
//
// Extension kernels: a kernel file can register named variants of its own (a fast one and its
// scalar _ref twin) with NT_REGISTER_KERNEL, without any edit to this header, the dispatch or the
// binding. Ops look them up by name (Backend::extension) while building their plan; the binding's
// generic kernel entry (kernelCall, for tests) reaches them by the same name.
#pragma once
#include <cstddef>
#include <cstdint>

#include "nodetrain/enums.h"
#include "nodetrain/kernels.h"
#include "nodetrain/status.h"

namespace nt {

// Generic arguments of an extension kernel: buffers (with their lengths in elements, so that the
// kernel checks its own extents), integers and numbers, each kernel documenting its own order.
struct KernelArgs {
  static constexpr int kMax = 8;
  float* buf[kMax] = {};
  int64_t len[kMax] = {};
  int64_t i[kMax] = {};
  double f[kMax] = {};
  int nbuf = 0, ni = 0, nf = 0;
};
using KernelFn = Status (*)(const KernelArgs& args);

// ---- the engine's loops over buffer contents (loss, metrics, row gather, hypergradient direction,
// dropout draws) as backend slots, so that a step never reads device memory from the host. Their
// scalar results land in BACKEND memory (`double* out`): the engine collects a step's loss and
// metric values with one copy_to_host.

// The loss of a batch and its gradient. out[0] receives the mean loss (Keras's sum-over-batch-size
// reduction, with weights: sum_r w_r * loss_r / rows); out[1..4] are the device's deferred checks
// (a backend that cannot return an error without a host round trip writes them instead):
// out[1] = 1 + the first batch row with a class label outside [0, k), out[2] = that label,
// out[3] = 1 + the first row with a weight that is negative or not finite, out[4] = that weight
// (all 0 when fine). A host backend returns those errors as InvalidArgument and writes 0.
// With `health` set (the device-resident update's record, in backend memory), a loss that is not
// finite, or such a label or weight, also sets kHealthLoss in health->nonfinite, so that the
// step's update is skipped without the host reading the loss first.
struct UpdateHealth;
struct LossArgs {
  LossKind kind = LossKind::kMse;
  float huber_delta = 1.0f;
  const float* p = nullptr;          // [rows, k]: predictions, or logits for the *Logits kinds
  const float* y = nullptr;          // [rows, k] float targets (null for sparse labels)
  const int32_t* labels = nullptr;   // [rows] class labels (sparse kinds)
  const float* weights = nullptr;    // [rows] per-row weights, or null (every row weighs 1)
  int64_t rows = 0, k = 0;
  float* grad = nullptr;             // [rows, k] dL/dp of the mean loss, or null (evaluation)
  // The table's fused softmax cross-entropy, for the *CceLogits kinds on host backends.
  Status (*softmax_xent)(const float*, const float*, const int32_t*, int64_t, int64_t, double*, float*,
                         float) = nullptr;
  UpdateHealth* health = nullptr;
};
static constexpr int kLossOutputs = 5;

// One metric's batch sums (tf.keras.metrics definitions). out receives metric_outputs() doubles:
// accuracy and error metrics their sum over rows (the binary ones over rows and columns, divided
// by k); precision/recall/F1 the confusion counts [classes, binary, tp[c], fp[c], fn[c]]; R2 the
// per-column sums [k, 0, sum y[k], sum y^2[k], sum (y - p)^2[k]].
struct MetricArgs {
  MetricKind kind = MetricKind::kMse;
  const float* p = nullptr;         // [rows, k] model output (argmax / thresholds read it)
  const float* q = nullptr;         // [rows, k] probabilities for the error metrics and binary accuracy
  bool sigmoid_q = false;           // q holds logits: the probabilities are sigmoid(q)
  float threshold = 0.5f;           // on q (binary accuracy) or p (binary precision/recall/F1)
  const float* y = nullptr;
  const int32_t* labels = nullptr;
  int64_t rows = 0, k = 0;
};
inline int64_t metric_outputs(MetricKind kind, int64_t k, bool labels) {
  switch (kind) {
    case MetricKind::kPrecision:
    case MetricKind::kRecall:
    case MetricKind::kF1:
      return 2 + 3 * ((!labels && k == 1) ? 2 : k);
    case MetricKind::kR2:
      return 2 + 3 * k;
    default:
      return 1;
  }
}

// ---- the device-resident update (device backends; the CPU tables leave these slots null and the
// engine runs the per-tensor optimizer slots with a host-side norm and finiteness check).
// The update's record in BACKEND memory: written by the device, read by the host only when the
// engine asks (the fit loop's guard-snapshot and epoch-end points), so a step never synchronises.
struct UpdateHealth {
  double sum_sq;           // this step's squared global gradient norm (trainable arena)
  int32_t nonfinite;       // this step: 0 fine, 1 a gradient or statistic not finite, 2 the update would overflow,
                           // with kHealthLoss or'ed in when the loss slot found the loss (or a label, a weight) bad
  int32_t skipped;         // steps skipped since the record was created (only ever incremented)
  float scale;             // this step's global-norm clip scale
  int32_t first_reason;    // the `nonfinite` value of the first skip after the host's latest read
  int64_t first_skipped;   // and its 1-based optimizer step (a skip while skipped == FusedUpdateArgs::seen)
};
static_assert(sizeof(UpdateHealth) == 32, "UpdateHealth is 8 floats of backend memory");
static constexpr int kUpdateHealthFloats = 8;
static constexpr int32_t kHealthLoss = 4;

// One parameter group of the fused update: a [begin, end) range of the trainable arena with its
// rate, weight decay and the per-step scalars computed once on the host (Adam: c1 = lr / (1 -
// beta1^t), c2 = sqrt(1 - beta2^t); AdaGrad: c1 = lr / (1 + (t - 1) lr_decay)).
struct UpdateGroup {
  int64_t begin = 0, end = 0;
  float lr = 0, weight_decay = 0, c1 = 1, c2 = 1;
};
struct FusedUpdateArgs {
  OptKind kind = OptKind::kAdam;
  int ngroups = 0;
  const UpdateGroup* groups = nullptr;  // host memory, ordered by begin, non-overlapping
  float beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f, momentum = 0, dampening = 0, alpha = 0.99f;
  bool nesterov = false, amsgrad = false, centered = false, decoupled = false;
  int64_t step = 1;        // 1-based step of this update
  int32_t seen = 0;        // UpdateHealth::skipped as of the host's latest read (a skip while equal is the first since)
  int64_t n = 0;           // trainable elements: the global norm runs over grad[0, n)
  float lr_decay = 0;      // AdaGrad (in c1 for the device; the host twin passes it on)
  double clip_norm = 0;    // > 0: clip the gradient by its global norm
  // > 0: the step is skipped (nonfinite = 2) when norm * scale exceeds it (SGD: an update that
  // would overflow the weights); 0: off.
  double overflow_limit = 0;
};
static constexpr int kMaxUpdateGroups = 32;

struct KernelVariants {
  const char* name = nullptr;
  KernelFn fast = nullptr;  // the one the dispatched tables use
  KernelFn ref = nullptr;   // scalar reference twin
  KernelFn avx2 = nullptr;  // optional ISA variants (null: fast)
  KernelFn avx512 = nullptr;
};
// Registers a kernel's variants (static initialisation; see NT_REGISTER_KERNEL). Returns true.
bool register_kernel(const KernelVariants& v);
// The registered variants of `name`, or null.
const KernelVariants* find_kernel(const char* name);
// Number of registered extension kernels and the i-th one (for listings).
int num_registered_kernels();
const KernelVariants* registered_kernel(int i);

#define NT_KERNEL_CONCAT2(a, b) a##b
#define NT_KERNEL_CONCAT(a, b) NT_KERNEL_CONCAT2(a, b)
// NT_REGISTER_KERNEL(nt::KernelVariants{"prelu_forward_f32", fast, ref}) at namespace scope.
#define NT_REGISTER_KERNEL(...) \
  static const bool NT_KERNEL_CONCAT(nt_kernel_registered_, __LINE__) = ::nt::register_kernel(__VA_ARGS__)

enum class Isa : int { kPortable = 0, kAvx2 = 1, kAvx512 = 2, kAmx = 3 };

struct Backend {
  const char* name = "";
  Isa isa = Isa::kPortable;
  // Whether buffers are host memory (the CPU tables). false: device memory that the host must not
  // dereference; the registered extension kernels (host code) are then unavailable, and
  // extension() answers from device_extension.
  bool host_memory = true;

  // ---- memory: device buffers (on the CPU, 64-byte aligned host memory)
  void* (*alloc)(size_t bytes) = nullptr;  // null when out of memory; alloc(0) may return null
  void (*free)(void* p) = nullptr;
  void (*copy_to_device)(void* dst, const void* src, size_t bytes) = nullptr;
  void (*copy_to_host)(void* dst, const void* src, size_t bytes) = nullptr;
  void (*copy)(void* dst, const void* src, size_t bytes) = nullptr;  // device to device
  void (*fill)(float* dst, float value, int64_t n) = nullptr;

  // ---- gemm
  Status (*gemm)(const GemmArgs& args) = nullptr;
  // The same with both operands rounded to bf16 and fp32 accumulation (precision 'bf16').
  Status (*gemm_bf16)(const GemmArgs& args) = nullptr;

  // ---- elementwise and activations
  Status (*axpy)(float alpha, const float* x, int64_t n, float* y) = nullptr;
  Status (*scale)(const float* x, float alpha, int64_t n, float* out) = nullptr;
  Status (*clamp)(float* x, float lo, float hi, int64_t n) = nullptr;
  Status (*act_forward)(Act act, float alpha, const float* x, int64_t n, float* y) = nullptr;
  Status (*act_backward)(Act act, float alpha, const float* x, const float* y, const float* dy, int64_t n,
                         float* dx) = nullptr;
  Status (*act_backward_from_output)(Act act, const float* y, const float* dy, int64_t n, float* dx) = nullptr;
  Status (*copy_cols)(const float* src, int64_t rows, int64_t cols, int64_t lds, float* dst, int64_t ldd,
                      bool accumulate) = nullptr;

  // ---- reductions
  Status (*sum_squares)(const float* x, int64_t n, double* out) = nullptr;
  Status (*dot)(const float* x, const float* y, int64_t n, double* out) = nullptr;
  Status (*col_sum)(const float* x, int64_t rows, int64_t cols, int64_t ldx, float* out, bool accumulate) = nullptr;

  // ---- softmax
  Status (*softmax)(const float* x, int64_t rows, int64_t cols, float* y) = nullptr;
  Status (*softmax_backward)(const float* y, const float* dy, int64_t rows, int64_t cols, float* dx) = nullptr;

  // ---- normalisation
  Status (*layer_norm_forward)(const float* x, int64_t rows, int64_t cols, const float* gamma, const float* beta,
                               float eps, float* stats, float* y) = nullptr;
  Status (*layer_norm_backward)(const float* x, const float* stats, const float* dy, int64_t rows, int64_t cols,
                                const float* gamma, float* dgamma, float* dbeta, float* dx) = nullptr;
  Status (*batch_norm_batch_stats)(const float* x, int64_t rows, int64_t cols, float eps, double* work, float* mean,
                                   float* rstd, float* var) = nullptr;
  Status (*batch_norm_moving_stats)(const float* moving_mean, const float* moving_var, int64_t cols, float eps,
                                    float* mean, float* rstd) = nullptr;
  Status (*batch_norm_apply)(const float* x, int64_t rows, int64_t cols, const float* mean, const float* rstd,
                             const float* gamma, const float* beta, float* y) = nullptr;
  Status (*batch_norm_backward)(const float* x, const float* dy, int64_t rows, int64_t cols, const float* mean,
                                const float* rstd, const float* gamma, double* work, float* dgamma, float* dbeta,
                                float* dx) = nullptr;
  Status (*batch_norm_frozen_backward)(const float* dy, int64_t rows, int64_t cols, const float* rstd,
                                       const float* gamma, float* dx) = nullptr;
  Status (*batch_norm_update_moving)(const float* mean, const float* var, int64_t cols, float momentum,
                                     float* moving_mean, float* moving_var) = nullptr;

  // ---- dropout
  Status (*dropout_forward)(const float* x, const float* u, int64_t n, float keep, float* mask, float* y) = nullptr;
  Status (*dropout_backward)(const float* dy, const float* mask, int64_t n, float* dx) = nullptr;

  // ---- losses
  Status (*softmax_xent)(const float* logits, const float* targets, const int32_t* labels, int64_t rows, int64_t cols,
                         double* loss, float* grad, float grad_scale) = nullptr;

  // ---- optimizer steps
  Status (*sgd_step)(const SgdParams& p, float* param, const float* grad, float* momentum_buf, int64_t n) = nullptr;
  Status (*adam_step)(const AdamParams& p, float* param, const float* grad, float* m, float* v, float* vmax,
                      int64_t n) = nullptr;
  Status (*rmsprop_step)(const RmspropParams& p, float* param, const float* grad, float* sq, float* buf, float* gavg,
                         int64_t n) = nullptr;
  Status (*adagrad_step)(const AdagradParams& p, float* param, const float* grad, float* sum, int64_t n) = nullptr;

  // ---- the engine's loops (see LossArgs / MetricArgs above); out: backend memory
  Status (*loss)(const LossArgs& a, double* out) = nullptr;
  Status (*metric)(const MetricArgs& a, double* out) = nullptr;
  // dst[r, :] = src[idx[r], :] for r < n, rows of `cols` 4-byte elements (floats, or int32 labels
  // reinterpreted); idx in backend memory.
  Status (*gather_rows)(const float* src, int64_t cols, const uint32_t* idx, int64_t n, float* dst) = nullptr;
  // Hypergradient direction: dir[i] = (old[i] - param[i]) * inv_lr; *sum_sq (HOST) = sum dir[i]^2
  // in double.
  Status (*hyper_direction)(const float* old, const float* param, float inv_lr, int64_t n, float* dir,
                            double* sum_sq) = nullptr;
  // Dropout draws: out[i] = draw i of the Philox stream (kernels/philox.h) keyed by
  // take_philox_key(state) (engine/rng.h: from the xoshiro128** state[0..4), host memory, which
  // advances two steps), uniform in [0, 1). Every table draws this same stream, so the masks of a
  // seeded model are the same on every device and ISA level.
  Status (*uniform)(uint32_t* state, float* out, int64_t n) = nullptr;

  // ---- the device-resident update (null on host tables; see UpdateHealth above). health: backend
  // memory. health_reset zeroes this step's fields (sum_sq, nonfinite, scale); flag_nonfinite sets
  // nonfinite = 1 when any of x[0, n) is not finite; fused_update computes the global norm and the
  // clip scale on the device and runs every group's step in one launch, skipped as a whole when
  // nonfinite is set (then skipped and last_* record it). None of them waits for the device.
  Status (*health_reset)(UpdateHealth* health) = nullptr;
  Status (*flag_nonfinite)(const float* x, int64_t n, UpdateHealth* health) = nullptr;
  Status (*fused_update)(const FusedUpdateArgs& a, float* param, const float* grad, float* s1, float* s2, float* s3,
                         UpdateHealth* health) = nullptr;

  // ---- streamed data sets (device backends; null on host tables: the engine then uses plain host
  // buffers and copy_to_device). Two upload slots (0, 1) for double buffering on a second queue.
  // Device memory free for data (bytes), or null.
  size_t (*memory_available)() = nullptr;
  void* (*alloc_pinned)(size_t bytes) = nullptr;  // page-locked host memory; null when it fails
  void (*free_pinned)(void* p) = nullptr;
  // Queues a host-to-device copy on the upload queue, after all work queued so far on the compute
  // queue (which may still read dst), and marks `slot` done when it lands. src must stay unchanged
  // until upload_host_wait(slot) returns.
  Status (*upload_async)(void* dst, const void* src, size_t bytes, int slot) = nullptr;
  // The compute queue waits (on the device) for slot's latest upload.
  Status (*upload_compute_wait)(int slot) = nullptr;
  // The host waits for slot's latest upload (its host buffer may then be refilled).
  Status (*upload_host_wait)(int slot) = nullptr;

  // A device table's own extension kernels by name (null: none), over device pointers.
  KernelFn (*device_extension)(const char* kernel_name) = nullptr;

  // The active variant of a registered extension kernel (see NT_REGISTER_KERNEL), or null; on a
  // device table, its device_extension's kernel of that name.
  KernelFn extension(const char* kernel_name) const {
    if (!host_memory) return device_extension ? device_extension(kernel_name) : nullptr;
    const KernelVariants* v = find_kernel(kernel_name);
    if (!v) return nullptr;
    if (isa >= Isa::kAvx512 && v->avx512) return v->avx512;
    if (isa != Isa::kPortable && v->avx2) return v->avx2;
    return v->fast;
  }
};

// The active CPU table: the dispatched one, or the portable one while force_portable() holds.
const Backend& cpu_backend();

}  // namespace nt
