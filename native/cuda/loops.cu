// The engine's loops on the device (nodetrain/backend.h LossArgs / MetricArgs; CPU twins and
// float64-checked references: native/kernels/loops.cc): the loss of a batch with its gradient, one
// metric's batch sums, the row gather of a shuffled batch, the hypergradient direction and the
// dropout draws. Loss and metric results stay in device memory (the engine copies a step's
// results back once); invalid labels and weights are recorded in the loss outputs [1..4] instead
// of failing the launch. Sums accumulate per thread in double, one atomic per block (as the
// global-norm kernel does), so their order, unlike the CPU's, is not fixed: results agree with
// the CPU to float32 rounding, not bit for bit.
#include <climits>

#include "cuda/common.cuh"
#include "cuda/cuda_kernels.h"
#include "engine/rng.h"

namespace nt {
namespace cuda {
namespace {

constexpr int kThreads = 256;
constexpr float kProbEps = 1e-7f;

__device__ __forceinline__ float sigmoid_dev(float z) { return 1.0f / (1.0f + expf(-z)); }

__device__ __forceinline__ void block_add(double v, double* out) {
  v = block_sum(v);
  if (threadIdx.x == 0 && v != 0.0) atomicAdd(out, v);
}

// out[0..n) = 0, then the two header values (metric state layouts) where n > 2.
__global__ void init_k(double* out, int64_t n, double h0, double h1, int* flags) {
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) out[i] = 0.0;
  __syncthreads();
  if (threadIdx.x == 0 && n > 2) {
    out[0] = h0;
    out[1] = h1;
  }
  if (flags && threadIdx.x < 2) flags[threadIdx.x] = INT_MAX;
}

// flags[0]: the first row with a bad label, flags[1]: with a bad weight (INT_MAX: none). With the
// update record, a bad row or a loss that is not finite vetoes the step (kHealthLoss).
__global__ void finish_loss_k(const int* flags, const int32_t* labels, const float* weights, double* out,
                              UpdateHealth* h) {
  if (flags[0] != INT_MAX) {
    out[1] = flags[0] + 1.0;
    out[2] = labels[flags[0]];
  }
  if (flags[1] != INT_MAX) {
    out[3] = flags[1] + 1.0;
    out[4] = weights[flags[1]];
  }
  if (h && (flags[0] != INT_MAX || flags[1] != INT_MAX || !isfinite(out[0]))) atomicOr(&h->nonfinite, kHealthLoss);
}

__global__ void check_weights_k(const float* w, int64_t rows, int* flags) {
  for (int64_t r = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; r < rows; r += int64_t(gridDim.x) * blockDim.x) {
    const float wr = w[r];
    if (!(wr >= 0.0f) || !isfinite(wr)) atomicMin(&flags[1], static_cast<int>(r));
  }
}

// Element-wise losses (mse, mae, huber, bce, bce on logits): loss += w_r * l_t / (rows k).
__global__ void pointwise_loss_k(LossKind kind, float d, const float* p, const float* y, const float* w, int64_t rows,
                                 int64_t k, float* g, double* out) {
  const int64_t cnt = rows * k;
  const double inv_cnt = 1.0 / static_cast<double>(cnt);
  const float ginv = static_cast<float>(inv_cnt);
  double acc = 0;
  for (int64_t t = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; t < cnt; t += int64_t(gridDim.x) * blockDim.x) {
    const float wr = w ? w[t / k] : 1.0f;
    const float yt = y[t];
    double l;
    float gv;
    if (kind == LossKind::kMse) {
      const float e = p[t] - yt;
      l = static_cast<double>(e) * e;
      gv = 2.0f * e;
    } else if (kind == LossKind::kMae) {
      const float e = p[t] - yt;
      l = fabsf(e);
      gv = e > 0 ? 1.0f : (e < 0 ? -1.0f : 0.0f);
    } else if (kind == LossKind::kHuber) {
      const float e = p[t] - yt, ae = fabsf(e);
      l = ae <= d ? 0.5 * static_cast<double>(e) * e : static_cast<double>(d) * (ae - 0.5 * d);
      gv = ae <= d ? e : (e > 0 ? d : -d);
    } else if (kind == LossKind::kBce) {
      const float q = fminf(fmaxf(p[t], kProbEps), 1.0f - kProbEps);
      l = -(yt * log(static_cast<double>(q)) + (1.0 - yt) * log(1.0 - q));
      gv = (q - yt) / (q * (1.0f - q));
    } else {  // kBceLogits
      const float z = p[t];
      l = fmaxf(z, 0.0f) - z * yt + log1p(exp(-fabs(static_cast<double>(z))));
      gv = sigmoid_dev(z) - yt;
    }
    if (w && !(wr >= 0.0f && isfinite(wr))) continue;  // reported by check_weights_k
    acc += wr * l * inv_cnt;
    if (g) g[t] = w ? wr * gv * ginv : gv * ginv;
  }
  block_add(acc, out);
}

// Categorical cross-entropy on probabilities (one-hot/probability targets or labels), a thread per row.
__global__ void cce_rows_k(const float* p, const float* y, const int32_t* labels, const float* w, int64_t rows,
                           int64_t k, float* g, double* out, int* flags) {
  const float rinv = 1.0f / static_cast<float>(rows);
  double acc = 0;
  for (int64_t r = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; r < rows; r += int64_t(gridDim.x) * blockDim.x) {
    const float wr = w ? w[r] : 1.0f;
    if (w && !(wr >= 0.0f && isfinite(wr))) continue;
    const float* pr = p + r * k;
    float* gr = g ? g + r * k : nullptr;
    if (gr)
      for (int64_t j = 0; j < k; ++j) gr[j] = 0.0f;
    double lr = 0;
    if (labels) {
      const int32_t c = labels[r];
      if (c < 0 || c >= k) {
        atomicMin(&flags[0], static_cast<int>(r));
        continue;
      }
      const float q = fmaxf(pr[c], kProbEps);
      lr = -log(static_cast<double>(q));
      if (gr) gr[c] = -wr * rinv / q;
    } else {
      const float* yr = y + r * k;
      for (int64_t j = 0; j < k; ++j) {
        if (yr[j] == 0.0f) continue;
        const float q = fmaxf(pr[j], kProbEps);
        lr -= yr[j] * log(static_cast<double>(q));
        if (gr) gr[j] = -wr * yr[j] * rinv / q;
      }
    }
    acc += wr * lr / static_cast<double>(rows);
  }
  block_add(acc, out);
}

// Softmax cross-entropy on logits, a block per row: loss_r = sum_j t_j (m - z_j) + sum_j t_j log s
// with m the row's max and s = sum_j exp(z_j - m) >= 1, both terms non-negative and summed in
// double, so a small loss keeps its relative accuracy; grad = w_r / rows * (softmax * sum_j t_j - t).
// Accurate expf/log (parity with the CPU). The label's logit is read before any gradient write.
__global__ void xent_rows_k(const float* z, const float* t, const int32_t* labels, const float* w, int64_t rows,
                            int64_t cols, float* grad, double* out, int* flags) {
  const int64_t r = blockIdx.x;
  const float wr = w ? w[r] : 1.0f;
  if (w && !(wr >= 0.0f && isfinite(wr))) return;
  const float* zr = z + r * cols;
  int32_t lab = -1;
  float zlab = 0.f;
  if (labels) {
    lab = labels[r];
    if (lab < 0 || lab >= cols) {
      if (threadIdx.x == 0) atomicMin(&flags[0], static_cast<int>(r));
      return;
    }
    zlab = zr[lab];
  }
  float m = -INFINITY;
  for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) m = fmaxf(m, zr[j]);
  m = block_max(m);
  double s = 0, tmz = 0, tsum = 0;
  for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) {
    const float zj = zr[j];
    s += static_cast<double>(expf(zj - m));
    if (t) {
      const double tj = t[r * cols + j];
      tmz += tj * (static_cast<double>(m) - static_cast<double>(zj));
      tsum += tj;
    }
  }
  s = block_sum(s);
  if (t) {
    tmz = block_sum(tmz);
    tsum = block_sum(tsum);
  } else {
    tmz = static_cast<double>(m) - static_cast<double>(zlab);
    tsum = 1.0;
  }
  if (threadIdx.x == 0) atomicAdd(out, wr * (tmz + tsum * log(s)) / static_cast<double>(rows));
  if (grad) {
    const float gs = wr / static_cast<float>(rows);
    const float inv = static_cast<float>(1.0 / s);
    const float ts = static_cast<float>(tsum);
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) {
      const float p = expf(zr[j] - m) * inv;
      const float tj = labels ? (j == lab ? 1.f : 0.f) : t[r * cols + j];
      grad[r * cols + j] = gs * (p * ts - tj);
    }
  }
}

__device__ int64_t argmax_dev(const float* p, int64_t k) {
  int64_t best = 0;
  for (int64_t j = 1; j < k; ++j)
    if (p[j] > p[best]) best = j;
  return best;
}

// Metrics whose result is one sum (accuracies over rows, binary accuracy and errors over elements / k).
__global__ void metric_sum_k(MetricArgs a, double* out) {
  const int64_t k = a.k;
  const bool per_row = a.kind == MetricKind::kCategoricalAccuracy || a.kind == MetricKind::kSparseCategoricalAccuracy;
  const int64_t n = per_row ? a.rows : a.rows * k;
  double acc = 0;
  for (int64_t t = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; t < n; t += int64_t(gridDim.x) * blockDim.x) {
    if (a.kind == MetricKind::kCategoricalAccuracy) {
      acc += argmax_dev(a.p + t * k, k) == argmax_dev(a.y + t * k, k) ? 1.0 : 0.0;
    } else if (a.kind == MetricKind::kSparseCategoricalAccuracy) {
      acc += argmax_dev(a.p + t * k, k) == a.labels[t] ? 1.0 : 0.0;
    } else if (a.kind == MetricKind::kBinaryAccuracy) {
      acc += ((a.q[t] > a.threshold) == (a.y[t] > 0.5f)) ? 1.0 : 0.0;
    } else {
      const float pt = a.sigmoid_q ? sigmoid_dev(a.q[t]) : a.q[t];
      const double e = pt - a.y[t];
      acc += a.kind == MetricKind::kMae ? fabs(e) : e * e;
    }
  }
  if (!per_row) acc /= static_cast<double>(k);
  block_add(acc, out);
}

// Confusion counts [classes, binary, tp[c], fp[c], fn[c]], a thread per row.
__global__ void confusion_k(MetricArgs a, int64_t nc, double* out) {
  const int64_t k = a.k;
  const bool binary = nc == 2 && !a.labels && k == 1;
  for (int64_t r = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; r < a.rows; r += int64_t(gridDim.x) * blockDim.x) {
    int64_t pred, truth;
    if (binary) {
      pred = a.p[r] > a.threshold ? 1 : 0;
      truth = a.y[r] > 0.5f ? 1 : 0;
    } else {
      pred = argmax_dev(a.p + r * k, k);
      truth = a.labels ? a.labels[r] : argmax_dev(a.y + r * k, k);
    }
    if (truth < 0 || truth >= nc) continue;
    if (pred == truth) {
      atomicAdd(&out[2 + truth], 1.0);
    } else {
      atomicAdd(&out[2 + nc + pred], 1.0);
      atomicAdd(&out[2 + 2 * nc + truth], 1.0);
    }
  }
}

// R2 sufficient statistics per column [k, 0, sum y[k], sum y^2[k], sum (y - p)^2[k]], a thread per element.
__global__ void r2_k(MetricArgs a, double* out) {
  const int64_t k = a.k, n = a.rows * k;
  for (int64_t t = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; t < n; t += int64_t(gridDim.x) * blockDim.x) {
    const int64_t j = t % k;
    const float pj = a.sigmoid_q ? sigmoid_dev(a.q[t]) : a.q[t];
    const double yt = a.y[t], e = yt - pj;
    atomicAdd(&out[2 + j], yt);
    atomicAdd(&out[2 + k + j], yt * yt);
    atomicAdd(&out[2 + 2 * k + j], e * e);
  }
}

__global__ void gather_k(const uint32_t* src, int64_t cols, const uint32_t* idx, int64_t n, uint32_t* dst) {
  const int64_t total = n * cols;
  for (int64_t t = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; t < total; t += int64_t(gridDim.x) * blockDim.x) {
    const int64_t r = t / cols, c = t - r * cols;
    dst[t] = src[static_cast<int64_t>(idx[r]) * cols + c];
  }
}

__global__ void hyper_dir_k(const float* old, const float* param, float inv, int64_t n, float* dir, double* sq) {
  double acc = 0;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    const float d = (old[i] - param[i]) * inv;
    dir[i] = d;
    acc += static_cast<double>(d) * d;
  }
  block_add(acc, sq);
}

}  // namespace

Status loss_f32_cuda(const LossArgs& a, double* out) {
  void* s = nullptr;
  NT_RETURN_IF_ERROR(scratch(2 * sizeof(int), &s));
  int* flags = static_cast<int*>(s);
  cudaStream_t st = cur_stream();
  init_k<<<1, 32, 0, st>>>(out, kLossOutputs, 0.0, 0.0, flags);
  if (a.rows <= 0 || a.k <= 0) NT_CUDA_LAUNCHED("loss_f32_cuda");
  if (a.weights) check_weights_k<<<grid_for(a.rows, kThreads), kThreads, 0, st>>>(a.weights, a.rows, flags);
  switch (a.kind) {
    case LossKind::kMse:
    case LossKind::kMae:
    case LossKind::kHuber:
    case LossKind::kBce:
    case LossKind::kBceLogits:
      pointwise_loss_k<<<grid_for(a.rows * a.k, kThreads, 1024), kThreads, 0, st>>>(
          a.kind, a.huber_delta, a.p, a.y, a.weights, a.rows, a.k, a.grad, out);
      break;
    case LossKind::kCce:
    case LossKind::kSparseCce:
      cce_rows_k<<<grid_for(a.rows, kThreads, 1024), kThreads, 0, st>>>(
          a.p, a.kind == LossKind::kCce ? a.y : nullptr, a.kind == LossKind::kSparseCce ? a.labels : nullptr,
          a.weights, a.rows, a.k, a.grad, out, flags);
      break;
    case LossKind::kCceLogits:
    case LossKind::kSparseCceLogits: {
      int threads = 32;
      while (threads < a.k && threads < 1024) threads *= 2;
      xent_rows_k<<<static_cast<unsigned>(a.rows), threads, 0, st>>>(
          a.p, a.kind == LossKind::kCceLogits ? a.y : nullptr, a.kind == LossKind::kSparseCceLogits ? a.labels : nullptr,
          a.weights, a.rows, a.k, a.grad, out, flags);
      break;
    }
  }
  finish_loss_k<<<1, 1, 0, st>>>(flags, a.labels, a.weights, out, a.health);
  NT_CUDA_LAUNCHED("loss_f32_cuda");
}

Status metric_f32_cuda(const MetricArgs& a, double* out) {
  cudaStream_t st = cur_stream();
  const bool binary = !a.labels && a.k == 1;
  switch (a.kind) {
    case MetricKind::kPrecision:
    case MetricKind::kRecall:
    case MetricKind::kF1: {
      const int64_t nc = binary ? 2 : a.k;
      init_k<<<1, 256, 0, st>>>(out, 2 + 3 * nc, static_cast<double>(nc), binary ? 1.0 : 0.0, nullptr);
      if (a.rows > 0) confusion_k<<<grid_for(a.rows, kThreads, 1024), kThreads, 0, st>>>(a, nc, out);
      break;
    }
    case MetricKind::kR2:
      init_k<<<1, 256, 0, st>>>(out, 2 + 3 * a.k, static_cast<double>(a.k), 0.0, nullptr);
      if (a.rows > 0) r2_k<<<grid_for(a.rows * a.k, kThreads, 1024), kThreads, 0, st>>>(a, out);
      break;
    default:
      init_k<<<1, 32, 0, st>>>(out, 1, 0.0, 0.0, nullptr);
      if (a.rows > 0) metric_sum_k<<<grid_for(a.rows * a.k, kThreads, 1024), kThreads, 0, st>>>(a, out);
  }
  NT_CUDA_LAUNCHED("metric_f32_cuda");
}

Status gather_rows_f32_cuda(const float* src, int64_t cols, const uint32_t* idx, int64_t n, float* dst) {
  if (n <= 0 || cols <= 0) return Status::Ok();
  // 4-byte words, copied as bits (the same kernel gathers int32 labels).
  gather_k<<<grid_for(n * cols, kThreads), kThreads, 0, cur_stream()>>>(reinterpret_cast<const uint32_t*>(src), cols,
                                                                       idx, n, reinterpret_cast<uint32_t*>(dst));
  NT_CUDA_LAUNCHED("gather_rows_f32_cuda");
}

Status hyper_direction_f32_cuda(const float* old, const float* param, float inv_lr, int64_t n, float* dir,
                                double* sum_sq) {
  void* s = nullptr;
  NT_RETURN_IF_ERROR(scratch(sizeof(double), &s));
  double* d = static_cast<double*>(s);
  cudaStream_t st = cur_stream();
  init_k<<<1, 32, 0, st>>>(d, 1, 0.0, 0.0, nullptr);
  if (n > 0) hyper_dir_k<<<grid_for(n, kThreads, 1024), kThreads, 0, st>>>(old, param, inv_lr, n, dir, d);
  NT_CUDA_RETURN(cudaMemcpyAsync(host_scalar(), d, sizeof(double), cudaMemcpyDeviceToHost, st), "hyper_direction");
  NT_CUDA_RETURN(cudaStreamSynchronize(st), "hyper_direction");
  *sum_sq = *host_scalar();
  return Status::Ok();
}

// The draws come from Philox (philox_uniform) keyed by the host generator's state, which then
// advances (take_philox_key), so successive calls draw fresh masks and a seed reproduces them: the
// same stream as the CPU's uniform slot (kernels/loops.cc), so dropout masks match across devices.
Status uniform_philox_f32_cuda(uint32_t* state, float* out, int64_t n) {
  return philox_uniform(take_philox_key(state), 0, n, out);
}

}  // namespace cuda
}  // namespace nt
