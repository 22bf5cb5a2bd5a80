// The CUDA Backend table: device selection, the process-wide stream, memory (cudaMalloc, never
// managed memory), device scratch, and the table of launchers (native/cuda/cuda_kernels.h) filled
// ONCE on first use. Nothing here aborts: every runtime error becomes a Status or a null table.
#include <cuda_runtime.h>

#include <cstdlib>
#include <cstring>
#include <mutex>
#include <vector>

#include "cuda/common.cuh"
#include "cuda/cuda_kernels.h"

namespace nt {
namespace cuda {
namespace {

struct Context {
  bool ok = false;
  std::string why;
  cudaStream_t stream = nullptr;
  Backend table;
  // Streamed data sets: the upload queue, the compute queue's progress it waits on, and the
  // completion of each double-buffer slot's latest upload.
  cudaStream_t upload = nullptr;
  cudaEvent_t compute_mark = nullptr;
  cudaEvent_t uploaded[2] = {nullptr, nullptr};
};
Context& ctx();

void* dev_alloc(size_t bytes) {
  void* p = nullptr;
  if (bytes == 0) bytes = 256;
  if (cudaMalloc(&p, bytes) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky-free error so later calls are not blamed
    return nullptr;
  }
  return p;
}
void dev_free(void* p) {
  if (p) cudaFree(p);
}
void h2d(void* dst, const void* src, size_t bytes) {
  if (bytes) cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, cur_stream());
  cudaStreamSynchronize(cur_stream());  // src may be freed by the caller after return
}
void d2h(void* dst, const void* src, size_t bytes) {
  if (bytes) cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, cur_stream());
  cudaStreamSynchronize(cur_stream());
}
void d2d(void* dst, const void* src, size_t bytes) {
  if (bytes) cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, cur_stream());
}
void fill(float* dst, float v, int64_t n) { (void)fill_f32_cuda(dst, v, n); }

void fill_table(Backend* b) {
  b->name = "cuda";
  b->device_extension = device_extension_cuda;
  b->isa = Isa::kPortable;
  b->host_memory = false;
  b->alloc = dev_alloc;
  b->free = dev_free;
  b->copy_to_device = h2d;
  b->copy_to_host = d2h;
  b->copy = d2d;
  b->fill = fill;
  b->gemm = gemm_f32_cuda;
  b->axpy = axpy_f32_cuda;
  b->scale = scale_f32_cuda;
  b->clamp = clamp_f32_cuda;
  b->act_forward = act_forward_f32_cuda;
  b->act_backward = act_backward_f32_cuda;
  b->act_backward_from_output = act_backward_from_output_f32_cuda;
  b->copy_cols = copy_cols_f32_cuda;
  b->sum_squares = sum_squares_f32_cuda;
  b->dot = dot_f32_cuda;
  b->col_sum = col_sum_f32_cuda;
  b->softmax = softmax_f32_cuda;
  b->softmax_backward = softmax_backward_f32_cuda;
  b->layer_norm_forward = layer_norm_forward_f32_cuda;
  b->layer_norm_backward = layer_norm_backward_f32_cuda;
  b->batch_norm_batch_stats = batch_norm_batch_stats_f32_cuda;
  b->batch_norm_moving_stats = batch_norm_moving_stats_f32_cuda;
  b->batch_norm_apply = batch_norm_apply_f32_cuda;
  b->batch_norm_backward = batch_norm_backward_f32_cuda;
  b->batch_norm_frozen_backward = batch_norm_frozen_backward_f32_cuda;
  b->batch_norm_update_moving = batch_norm_update_moving_f32_cuda;
  b->dropout_forward = dropout_forward_f32_cuda;
  b->dropout_backward = dropout_backward_f32_cuda;
  b->softmax_xent = softmax_xent_f32_cuda;
  b->sgd_step = sgd_step_f32_cuda;
  b->adam_step = adam_step_f32_cuda;
  b->rmsprop_step = rmsprop_step_f32_cuda;
  b->adagrad_step = adagrad_step_f32_cuda;
  b->gemm_bf16 = gemm_bf16_cuda;
  b->loss = loss_f32_cuda;
  b->metric = metric_f32_cuda;
  b->gather_rows = gather_rows_f32_cuda;
  b->hyper_direction = hyper_direction_f32_cuda;
  b->uniform = uniform_philox_f32_cuda;
  b->health_reset = health_reset_cuda;
  b->flag_nonfinite = flag_nonfinite_cuda;
  b->fused_update = fused_update_cuda;
  b->memory_available = memory_available_cuda;
  b->alloc_pinned = alloc_pinned_cuda;
  b->free_pinned = free_pinned_cuda;
  b->upload_async = upload_async_cuda;
  b->upload_compute_wait = upload_compute_wait_cuda;
  b->upload_host_wait = upload_host_wait_cuda;
}

Context& ctx() {
  static Context* c = [] {
    auto* k = new Context();  // never freed: the CUDA runtime may already be gone at exit
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e == cudaErrorNoDevice || (e == cudaSuccess && n == 0)) {
      k->why = "this machine has no CUDA device";
    } else if (e == cudaErrorInsufficientDriver) {
      k->why = "this machine has no CUDA driver (or one older than the runtime nodetrain was built with)";
    } else if (e != cudaSuccess) {
      k->why = std::string("the CUDA runtime reports: ") + cudaGetErrorString(e);
    } else if ((e = cudaSetDevice(0)) != cudaSuccess ||
               (e = cudaStreamCreateWithFlags(&k->stream, cudaStreamNonBlocking)) != cudaSuccess ||
               (e = cudaStreamCreateWithFlags(&k->upload, cudaStreamNonBlocking)) != cudaSuccess ||
               (e = cudaEventCreateWithFlags(&k->compute_mark, cudaEventDisableTiming)) != cudaSuccess ||
               (e = cudaEventCreateWithFlags(&k->uploaded[0], cudaEventDisableTiming)) != cudaSuccess ||
               (e = cudaEventCreateWithFlags(&k->uploaded[1], cudaEventDisableTiming)) != cudaSuccess) {
      k->why = std::string("the CUDA device could not be initialised: ") + cudaGetErrorString(e);
    } else {
      k->ok = true;
      fill_table(&k->table);
      const char* env = std::getenv("NODETRAIN_CUDA_GEMM");
      if (env && std::strcmp(env, "tf32") == 0) set_default_gemm_precision(GemmPrecision::kTf32);
      if (env && std::strcmp(env, "bf16") == 0) set_default_gemm_precision(GemmPrecision::kBf16);
    }
    cudaGetLastError();
    return k;
  }();
  return *c;
}

}  // namespace

bool available(std::string* why) {
  Context& c = ctx();
  if (why) *why = c.why;
  return c.ok;
}

Status devices(std::vector<DeviceInfo>* out) {
  out->clear();
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError();
    return Status::Ok();  // no driver / no device: an empty list
  }
  for (int i = 0; i < n; ++i) {
    cudaDeviceProp p;
    NT_CUDA_RETURN(cudaGetDeviceProperties(&p, i), "cudaGetDeviceProperties");
    DeviceInfo d;
    d.index = i;
    d.name = p.name;
    d.major = p.major;
    d.minor = p.minor;
    d.multiprocessors = p.multiProcessorCount;
    d.total_memory = p.totalGlobalMem;
    out->push_back(d);
  }
  return Status::Ok();
}

const Backend* backend() {
  Context& c = ctx();
  return c.ok ? &c.table : nullptr;
}

void* stream() { return ctx().stream; }

Status synchronize() { return from_cuda(cudaStreamSynchronize(ctx().stream), "cudaStreamSynchronize"); }

Status last_error(const char* where) { return from_cuda(cudaGetLastError(), where); }

namespace {

// Scratch is per host thread: the fit loop's thread and the threads serving predictions and
// evaluations meanwhile enqueue on the same stream, and a kernel's flags or partial sums must not
// be reset by another thread's launch between its own. A thread's slot goes back to a pool when
// the thread ends (fits start a thread each) and is reused, never freed: the stream's order
// makes its previous owner's launches finish first.
struct ScratchSlot {
  void* dev = nullptr;
  size_t bytes = 0;
  double* host = nullptr;  // pinned where possible, else `fallback`
  double fallback = 0;
};

std::mutex& pool_mu() {
  static auto* m = new std::mutex();
  return *m;
}
std::vector<ScratchSlot*>& pool() {
  static auto* p = new std::vector<ScratchSlot*>();
  return *p;
}

struct SlotHolder {
  ScratchSlot* slot = nullptr;
  ~SlotHolder() {
    if (!slot) return;
    std::lock_guard<std::mutex> lock(pool_mu());
    pool().push_back(slot);
  }
};

ScratchSlot& thread_slot() {
  thread_local SlotHolder h;
  if (!h.slot) {
    {
      std::lock_guard<std::mutex> lock(pool_mu());
      if (!pool().empty()) {
        h.slot = pool().back();
        pool().pop_back();
      }
    }
    if (!h.slot) {
      h.slot = new ScratchSlot();
      if (cudaMallocHost(reinterpret_cast<void**>(&h.slot->host), sizeof(double)) != cudaSuccess) {
        cudaGetLastError();
        h.slot->host = &h.slot->fallback;
      }
    }
  }
  return *h.slot;
}

}  // namespace

Status scratch(size_t bytes, void** p) {
  ScratchSlot& s = thread_slot();
  if (bytes > s.bytes) {
    if (s.dev) {
      cudaStreamSynchronize(ctx().stream);  // launches still reading the old block
      cudaFree(s.dev);
      s.dev = nullptr;
      s.bytes = 0;
    }
    const size_t want = bytes < 4096 ? 4096 : bytes * 2;
    NT_CUDA_RETURN(cudaMalloc(&s.dev, want), "cudaMalloc (scratch)");
    s.bytes = want;
  }
  *p = s.dev;
  return Status::Ok();
}

double* host_scalar() { return thread_slot().host; }

size_t memory_available_cuda() {
  size_t free_b = 0, total_b = 0;
  if (cudaMemGetInfo(&free_b, &total_b) != cudaSuccess) {
    cudaGetLastError();
    return 0;
  }
  return free_b;
}

void* alloc_pinned_cuda(size_t bytes) {
  void* p = nullptr;
  if (cudaMallocHost(&p, bytes ? bytes : 256) != cudaSuccess) {
    cudaGetLastError();
    return nullptr;
  }
  return p;
}

void free_pinned_cuda(void* p) {
  if (p) cudaFreeHost(p);
}

Status upload_async_cuda(void* dst, const void* src, size_t bytes, int slot) {
  if (slot < 0 || slot > 1) return InvalidArgument("Expected upload slot 0 or 1 but received " + std::to_string(slot));
  Context& c = ctx();
  // dst may still be read by work already queued on the compute stream: the upload waits for it.
  NT_CUDA_RETURN(cudaEventRecord(c.compute_mark, c.stream), "upload (mark)");
  NT_CUDA_RETURN(cudaStreamWaitEvent(c.upload, c.compute_mark, 0), "upload (wait)");
  if (bytes) NT_CUDA_RETURN(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, c.upload), "upload (copy)");
  NT_CUDA_RETURN(cudaEventRecord(c.uploaded[slot], c.upload), "upload (done)");
  return Status::Ok();
}

Status upload_compute_wait_cuda(int slot) {
  if (slot < 0 || slot > 1) return InvalidArgument("Expected upload slot 0 or 1 but received " + std::to_string(slot));
  Context& c = ctx();
  NT_CUDA_RETURN(cudaStreamWaitEvent(c.stream, c.uploaded[slot], 0), "upload (compute wait)");
  return Status::Ok();
}

Status upload_host_wait_cuda(int slot) {
  if (slot < 0 || slot > 1) return InvalidArgument("Expected upload slot 0 or 1 but received " + std::to_string(slot));
  NT_CUDA_RETURN(cudaEventSynchronize(ctx().uploaded[slot]), "upload (host wait)");
  return Status::Ok();
}

}  // namespace cuda
}  // namespace nt
