// The CUDA backend's public face, for the binding and the engine (plain C++: no CUDA headers, so
// files compiled by the host compiler include it). Built only with -DNT_CUDA=ON (NT_WITH_CUDA).
//
// The Backend table (nodetrain/backend.h) filled by native/cuda/backend.cc takes DEVICE pointers
// for every float/int buffer. Its scalar results (double* out of sum_squares, dot, softmax_xent's
// loss) are HOST pointers: those calls synchronise the backend's stream. `double* work` scratch
// arguments (batch norm) are ignored: the kernels keep their own device scratch. The engine-loop
// slots (loss, metric: native/cuda/loops.cu) write their results to DEVICE memory, which the
// engine copies back once per batch; hyper_direction's sum is a host result. Everything runs
// on one stream per process (stream()), so host-visible ordering is the stream's order.
// The device-resident extras below (fused multi-group optimizer step, global norm with the
// non-finite check, Philox dropout, precision-selected GEMM) never synchronise.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "nodetrain/backend.h"
#include "nodetrain/kernels.h"
#include "nodetrain/status.h"

namespace nt {
namespace cuda {

struct DeviceInfo {
  int index = 0;
  std::string name;
  int major = 0, minor = 0;  // compute capability
  int multiprocessors = 0;
  size_t total_memory = 0;
};

// Whether the CUDA runtime finds a usable device. false: *why says what is missing (no driver,
// no device, an error string from the runtime).
bool available(std::string* why);
Status devices(std::vector<DeviceInfo>* out);
// The CUDA table (device 0), or null when !available(). Initialised once, thread-safe.
const Backend* backend();
// The stream every launch of this backend uses (a cudaStream_t as void*).
void* stream();
Status synchronize();
// The last launch/runtime error as a Status (kInternal), or Ok.
Status last_error(const char* where);

// ---- GEMM with a chosen precision and implementation
enum class GemmPrecision : int { kF32 = 0, kTf32 = 1, kBf16 = 2 };
enum class GemmImpl : int { kAuto = 0, kOwn = 1, kCublas = 2 };
// kAuto: cuBLAS when it was loaded at run time (then the epilogue is a separate kernel), else the
// project's kernels (mma.sync for kTf32/kBf16, FMA tiles for kF32); the table's gemm slots use
// kAuto. launch_plan.h gemm_route decides.
Status gemm(const GemmArgs& a, GemmPrecision prec, GemmImpl impl);
// The precision the table's gemm slot uses (default kF32, env NODETRAIN_CUDA_GEMM=tf32|bf16).
void set_default_gemm_precision(GemmPrecision p);
// cuBLAS found by dlopen (NODETRAIN_CUBLAS names the library file to try first; off opens none).
bool cublas_loaded(std::string* which);

// ---- global norm and non-finite check, on the device
// Writes sum(g^2) over [g, g+n) into dev_sumsq[0] (a device double; accumulated, so zero it first
// with zero_scalars) and sets dev_flag[0] (a device int) to 1 when any element is not finite.
Status zero_scalars(double* dev_sumsq, int* dev_flag);
Status global_norm_sq(const float* g, int64_t n, double* dev_sumsq, int* dev_flag);
// From the sum of squares: dev_scale[0] = clip > 0 && norm > clip ? clip / (norm + 1e-6) : 1, and
// the flag set when the norm is not finite. One thread; no host round trip.
Status clip_scale(const double* dev_sumsq, float clip_norm, int* dev_flag, float* dev_scale);

// ---- fused multi-group optimizer step: ONE launch over every group of the parameter arena.
// Each group is a [begin, end) range with its own rate and weight decay; the kernel reads the
// gradient scale (global-norm clip) from dev_scale and skips the whole update when dev_flag != 0.
struct GroupStep {
  int64_t begin = 0, end = 0;
  float lr = 0, weight_decay = 0;
  // per-step scalars computed once on the host (bias corrections, lr decay)
  float c1 = 1, c2 = 1;
};
static constexpr int kMaxGroups = 32;
struct MultiStep {
  OptKind kind = OptKind::kAdam;
  int ngroups = 0;
  GroupStep groups[kMaxGroups];
  // shared hyperparameters (PyTorch's names; see nodetrain/kernels.h)
  float beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f, momentum = 0, dampening = 0, alpha = 0.99f;
  bool nesterov = false, amsgrad = false, centered = false, maximize = false, decoupled = false;
  int64_t step = 1;
};
// param, grad, s1, s2, s3: arena pointers (state as in the single-tensor kernels: Adam m, v, vmax;
// SGD momentum in s1; RMSProp sq in s2, buf in s1, gavg in s3; AdaGrad sum in s2).
Status multi_step(const MultiStep& ms, float* param, const float* grad, float* s1, float* s2, float* s3,
                  const float* dev_scale, const int* dev_flag);

// ---- Philox dropout (Salmon et al. 2011, Philox4x32-10): reproducible for (seed, offset).
// mask[i] = u_i < keep ? 1/keep : 0, y = x * mask, where u_i is draw (offset + i) of the stream.
Status dropout_philox_forward(const float* x, int64_t n, float keep, uint64_t seed, uint64_t offset, float* mask,
                              float* y);
// u[i] = uniform [0, 1) draw (offset + i) of the stream (the same draws the fused kernel uses).
Status philox_uniform(uint64_t seed, uint64_t offset, int64_t n, float* u);

// ---- tests and benchmarks (native/cuda/harness.cc)
// Runs a kernel by name on host buffers: uploads every buffer, runs, downloads every buffer.
// Scalar results (sums, the loss, flags) are appended to *scalars. Argument orders: harness.cu.
Status run_kernel_on_host_buffers(const std::string& name, KernelArgs& args, std::vector<double>* scalars);
std::vector<std::string> kernel_names();
// Times `what` with CUDA events (median of reps after warm-up), on random device data.
// what: "gemm" (i: m, n, k, precision, impl), "adam" (i: n), "copy" (i: n floats),
//       "mlp" (i: batch, in, hidden, out, precision, steps, impl). Writes milliseconds per call (per step).
Status bench(const std::string& what, const std::vector<int64_t>& i, double* ms);

}  // namespace cuda
}  // namespace nt
