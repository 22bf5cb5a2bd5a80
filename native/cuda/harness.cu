// Test and benchmark entry points of the CUDA backend (reached from JavaScript through
// native/binding/cuda_binding.cc): run one kernel by name on host buffers (upload, run, download)
// for the parity tests in scripts/device/parity.js, and time kernels with CUDA events for
// scripts/device/check.sh. Kernel names and their argument orders (buf / i / f of KernelArgs):
//   gemm            i m n k trans_a trans_b act precision impl; f alpha beta; buf a b c [bias]
//   sum_squares     buf x -> scalar            dot  buf x y -> scalar
//   col_sum         i rows cols accumulate; buf x out
//   act_forward     i act; f alpha; buf x y    act_backward  i act; f alpha; buf x y dy dx
//   softmax         i rows cols; buf x y       softmax_backward  i rows cols; buf y dy dx
//   softmax_xent    i rows cols sparse; f grad_scale; buf logits targets|labels(as floats) grad -> loss
//   layer_norm_forward  i rows cols; f eps; buf x gamma beta stats y
//   layer_norm_backward i rows cols; buf x stats dy gamma dgamma dbeta dx
//   batch_norm_batch_stats i rows cols; f eps; buf x mean rstd var
//   batch_norm_apply    i rows cols; buf x mean rstd gamma beta y
//   batch_norm_backward i rows cols; buf x dy mean rstd gamma dgamma dbeta dx
//   dropout_philox  i seed offset; f keep; buf x mask y       philox_uniform  i seed offset; buf u
//   sgd_step        i step nesterov; f lr momentum dampening wd grad_scale; buf p g buf
//   adam_step       i step amsgrad decoupled; f lr b1 b2 eps wd grad_scale; buf p g m v [vmax]
//   multi_adam      i step split decoupled [lo shift]; f lr0 lr1 wd b1 b2 eps clip; buf p g m v
//                   (global norm + clip scale + non-finite flag + one fused two-group launch)
//                   -> scalars sumsq, flag
//   global_norm     buf g -> scalars sumsq, flag
//   prelu_forward_f32 / prelu_backward_f32: the table's extension kernels (kernels/prelu_args.h)
#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <random>

#include "cuda/common.cuh"
#include "cuda/cuda_kernels.h"
#include "cuda/launch_plan.h"

namespace nt {
namespace cuda {
namespace {

const char* const kNames[] = {"gemm", "sum_squares", "dot", "col_sum", "act_forward", "act_backward", "softmax",
                              "softmax_backward", "softmax_xent", "layer_norm_forward", "layer_norm_backward",
                              "batch_norm_batch_stats", "batch_norm_apply", "batch_norm_backward", "dropout_philox",
                              "philox_uniform", "sgd_step", "adam_step", "multi_adam", "global_norm",
                              "prelu_forward_f32", "prelu_backward_f32"};

struct DevBufs {
  std::vector<float*> p;
  ~DevBufs() {
    for (float* x : p) cudaFree(x);
  }
};

Status need(const KernelArgs& a, int nbuf, int ni, int nf, const std::string& name) {
  if (a.nbuf < nbuf || a.ni < ni || a.nf < nf)
    return InvalidArgument("Expected at least " + std::to_string(nbuf) + " buffers, " + std::to_string(ni) +
                           " integers and " + std::to_string(nf) + " numbers for " + name + " but received fewer");
  return Status::Ok();
}

// Host <-> device copies on the backend's stream, waited for. The stream is non-blocking: a plain
// cudaMemcpy runs on the legacy default stream, which does not order with it (a pageable upload
// may still be in flight when the stream's next kernel reads its destination).
Status upload(void* dst, const void* src, size_t bytes, const char* where) {
  if (bytes == 0) return Status::Ok();
  NT_CUDA_RETURN(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, cur_stream()), where);
  NT_CUDA_RETURN(cudaStreamSynchronize(cur_stream()), where);
  return Status::Ok();
}
Status download(void* dst, const void* src, size_t bytes, const char* where) {
  if (bytes == 0) return Status::Ok();
  NT_CUDA_RETURN(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, cur_stream()), where);
  NT_CUDA_RETURN(cudaStreamSynchronize(cur_stream()), where);
  return Status::Ok();
}

struct Scalars {
  double* d = nullptr;
  Status alloc() { return from_cuda(cudaMalloc(&d, 2 * sizeof(double)), "cudaMalloc (scalars)"); }
  ~Scalars() {
    if (d) cudaFree(d);
  }
  int* flag() { return reinterpret_cast<int*>(d + 1); }
  Status read(std::vector<double>* out) {
    double h[2];
    NT_CUDA_RETURN(cudaMemcpyAsync(h, d, sizeof h, cudaMemcpyDeviceToHost, cur_stream()), "read scalars");
    NT_CUDA_RETURN(cudaStreamSynchronize(cur_stream()), "read scalars");
    int f;
    std::memcpy(&f, &h[1], sizeof f);
    out->push_back(h[0]);
    out->push_back(f);
    return Status::Ok();
  }
};

Status dispatch(const std::string& n, KernelArgs& a, float* const* b, std::vector<double>* out) {
  const Backend& be = *backend();
  auto L = [&](int k) { return a.len[k]; };
  if (n == "gemm") {
    NT_RETURN_IF_ERROR(need(a, 3, 8, 2, n));
    GemmArgs g;
    g.m = a.i[0]; g.n = a.i[1]; g.k = a.i[2]; g.trans_a = a.i[3]; g.trans_b = a.i[4];
    g.act = static_cast<Act>(a.i[5]);
    g.alpha = static_cast<float>(a.f[0]); g.beta = static_cast<float>(a.f[1]);
    g.a = b[0]; g.lda = g.trans_a ? g.m : g.k;
    g.b = b[1]; g.ldb = g.trans_b ? g.k : g.n;
    g.c = b[2]; g.ldc = g.n;
    g.bias = a.nbuf > 3 && L(3) > 0 ? b[3] : nullptr;
    if (L(0) < g.m * g.k || L(1) < g.k * g.n || L(2) < g.m * g.n) return InvalidArgument("Expected buffers of m*k, k*n and m*n elements for gemm but received smaller");
    return gemm(g, static_cast<GemmPrecision>(a.i[6]), static_cast<GemmImpl>(a.i[7]));
  }
  if (n == "sum_squares" || n == "dot") {
    double r = 0;
    if (n == "dot") NT_RETURN_IF_ERROR(be.dot(b[0], b[1], std::min(L(0), L(1)), &r));
    else NT_RETURN_IF_ERROR(be.sum_squares(b[0], L(0), &r));
    out->push_back(r);
    return Status::Ok();
  }
  if (n == "col_sum") { NT_RETURN_IF_ERROR(need(a, 2, 3, 0, n)); return be.col_sum(b[0], a.i[0], a.i[1], a.i[1], b[1], a.i[2]); }
  if (n == "act_forward") { NT_RETURN_IF_ERROR(need(a, 2, 1, 1, n)); return be.act_forward(static_cast<Act>(a.i[0]), float(a.f[0]), b[0], L(0), b[1]); }
  if (n == "act_backward") { NT_RETURN_IF_ERROR(need(a, 4, 1, 1, n)); return be.act_backward(static_cast<Act>(a.i[0]), float(a.f[0]), b[0], b[1], b[2], L(0), b[3]); }
  if (n == "softmax") { NT_RETURN_IF_ERROR(need(a, 2, 2, 0, n)); return be.softmax(b[0], a.i[0], a.i[1], b[1]); }
  if (n == "softmax_backward") { NT_RETURN_IF_ERROR(need(a, 3, 2, 0, n)); return be.softmax_backward(b[0], b[1], a.i[0], a.i[1], b[2]); }
  if (n == "softmax_xent") {
    NT_RETURN_IF_ERROR(need(a, 3, 3, 1, n));
    const int64_t rows = a.i[0], cols = a.i[1];
    if (rows < 0 || cols < 0 || L(0) < rows * cols || L(1) < (a.i[2] ? rows : rows * cols) || L(2) < rows * cols)
      return InvalidArgument("Expected buffers of rows*cols logits and gradients for softmax_xent but received smaller");
    double loss = 0;
    if (a.i[2]) {  // labels arrive as floats: convert on the host, upload as int32
      std::vector<float> hl(static_cast<size_t>(rows));
      std::vector<int32_t> li(static_cast<size_t>(rows));
      NT_RETURN_IF_ERROR(download(hl.data(), b[1], rows * sizeof(float), "labels"));
      for (int64_t r = 0; r < rows; ++r) li[r] = static_cast<int32_t>(hl[r]);
      NT_RETURN_IF_ERROR(upload(b[1], li.data(), rows * sizeof(int32_t), "labels"));
      NT_RETURN_IF_ERROR(be.softmax_xent(b[0], nullptr, reinterpret_cast<const int32_t*>(b[1]), rows, cols, &loss, b[2], float(a.f[0])));
    } else {
      NT_RETURN_IF_ERROR(be.softmax_xent(b[0], b[1], nullptr, rows, cols, &loss, b[2], float(a.f[0])));
    }
    out->push_back(loss);
    return Status::Ok();
  }
  if (n == "layer_norm_forward") { NT_RETURN_IF_ERROR(need(a, 5, 2, 1, n)); return be.layer_norm_forward(b[0], a.i[0], a.i[1], b[1], b[2], float(a.f[0]), b[3], b[4]); }
  if (n == "layer_norm_backward") { NT_RETURN_IF_ERROR(need(a, 7, 2, 0, n)); return be.layer_norm_backward(b[0], b[1], b[2], a.i[0], a.i[1], b[3], b[4], b[5], b[6]); }
  if (n == "batch_norm_batch_stats") { NT_RETURN_IF_ERROR(need(a, 4, 2, 1, n)); return be.batch_norm_batch_stats(b[0], a.i[0], a.i[1], float(a.f[0]), nullptr, b[1], b[2], b[3]); }
  if (n == "batch_norm_apply") { NT_RETURN_IF_ERROR(need(a, 6, 2, 0, n)); return be.batch_norm_apply(b[0], a.i[0], a.i[1], b[1], b[2], b[3], b[4], b[5]); }
  if (n == "batch_norm_backward") { NT_RETURN_IF_ERROR(need(a, 8, 2, 0, n)); return be.batch_norm_backward(b[0], b[1], a.i[0], a.i[1], b[2], b[3], b[4], nullptr, b[5], b[6], b[7]); }
  if (n == "dropout_philox") { NT_RETURN_IF_ERROR(need(a, 3, 2, 1, n)); return dropout_philox_forward(b[0], L(0), float(a.f[0]), uint64_t(a.i[0]), uint64_t(a.i[1]), b[1], b[2]); }
  if (n == "philox_uniform") { NT_RETURN_IF_ERROR(need(a, 1, 2, 0, n)); return philox_uniform(uint64_t(a.i[0]), uint64_t(a.i[1]), L(0), b[0]); }
  if (n == "sgd_step") {
    NT_RETURN_IF_ERROR(need(a, 3, 2, 5, n));
    SgdParams p;
    p.step = a.i[0]; p.nesterov = a.i[1]; p.lr = float(a.f[0]); p.momentum = float(a.f[1]); p.dampening = float(a.f[2]);
    p.weight_decay = float(a.f[3]); p.grad_scale = float(a.f[4]);
    return be.sgd_step(p, b[0], b[1], b[2], L(0));
  }
  if (n == "adam_step") {
    NT_RETURN_IF_ERROR(need(a, 4, 3, 6, n));
    AdamParams p;
    p.step = a.i[0]; p.amsgrad = a.i[1]; p.decoupled = a.i[2]; p.lr = float(a.f[0]); p.beta1 = float(a.f[1]);
    p.beta2 = float(a.f[2]); p.eps = float(a.f[3]); p.weight_decay = float(a.f[4]); p.grad_scale = float(a.f[5]);
    return be.adam_step(p, b[0], b[1], b[2], b[3], a.nbuf > 4 ? b[4] : nullptr, L(0));
  }
  if (n == "multi_adam" || n == "global_norm") {
    // The argument check comes first: the norm below reads b[1] for multi_adam.
    if (n == "multi_adam") NT_RETURN_IF_ERROR(need(a, 4, 3, 7, n));
    else NT_RETURN_IF_ERROR(need(a, 1, 0, 0, n));
    Scalars s;
    NT_RETURN_IF_ERROR(s.alloc());
    NT_RETURN_IF_ERROR(zero_scalars(s.d, s.flag()));
    NT_RETURN_IF_ERROR(global_norm_sq(b[n == "global_norm" ? 0 : 1], L(n == "global_norm" ? 0 : 1), s.d, s.flag()));
    if (n == "multi_adam") {
      if (a.i[1] < 0 || a.i[1] > L(0) || L(1) < L(0) || L(2) < L(0) || L(3) < L(0))
        return InvalidArgument("Expected a split in [0, n] and p, g, m, v of n elements for multi_adam but received split " +
                               std::to_string(a.i[1]));
      float* dscale = nullptr;
      NT_CUDA_RETURN(cudaMalloc(&dscale, sizeof(float)), "cudaMalloc");
      std::unique_ptr<float, decltype(&cudaFree)> keep(dscale, cudaFree);
      NT_RETURN_IF_ERROR(clip_scale(s.d, float(a.f[6]), s.flag(), dscale));
      MultiStep ms;
      ms.kind = a.i[2] ? OptKind::kAdamW : OptKind::kAdam;
      ms.decoupled = a.i[2];
      ms.step = a.i[0];
      ms.beta1 = float(a.f[3]); ms.beta2 = float(a.f[4]); ms.eps = float(a.f[5]);
      ms.ngroups = 2;
      // Optional: lo, the first element updated (the elements before it are a frozen range), and
      // shift (0 or 1), the arrays handed over at that element offset (then only 4-byte aligned:
      // the kernel's one-element path), the group ranges shifted with them.
      const int64_t split = a.i[1], lo = a.ni > 3 ? a.i[3] : 0, shift = a.ni > 4 ? a.i[4] : 0;
      if (shift < 0 || shift > 1 || lo < shift || lo > split)
        return InvalidArgument("Expected shift 0 or 1 and shift <= lo <= split for multi_adam but received lo " +
                               std::to_string(lo) + ", shift " + std::to_string(shift));
      for (int k = 0; k < 2; ++k) {
        GroupStep& gp = ms.groups[k];
        gp.begin = (k == 0 ? lo : split) - shift;
        gp.end = (k == 0 ? split : L(0)) - shift;
        gp.lr = float(a.f[k]);
        gp.weight_decay = float(a.f[2]);
        const double t = double(ms.step);
        gp.c1 = float(gp.lr / (1.0 - std::pow(double(ms.beta1), t)));
        gp.c2 = float(std::sqrt(1.0 - std::pow(double(ms.beta2), t)));
      }
      NT_RETURN_IF_ERROR(multi_step(ms, b[0] + shift, b[1] + shift, b[2] + shift, b[3] + shift, nullptr, dscale, s.flag()));
    }
    return s.read(out);
  }
  if (KernelFn f = be.extension(n.c_str())) {  // the table's extension kernels, on the device copies
    KernelArgs d = a;
    for (int k = 0; k < d.nbuf; ++k) d.buf[k] = b[k];
    return f(d);
  }
  return InvalidArgument("Expected a CUDA test kernel name (" + std::string(kNames[0]) + ", ...) but received " + n);
}

template <class F>
Status time_ms(int warmup, int reps, const F& fn, double* ms) {
  for (int i = 0; i < warmup; ++i) NT_RETURN_IF_ERROR(fn());
  cudaEvent_t e0, e1;
  NT_CUDA_RETURN(cudaEventCreate(&e0), "cudaEventCreate");
  NT_CUDA_RETURN(cudaEventCreate(&e1), "cudaEventCreate");
  std::vector<float> t;
  Status st;
  for (int i = 0; i < reps && st.ok(); ++i) {
    cudaEventRecord(e0, cur_stream());
    st = fn();
    cudaEventRecord(e1, cur_stream());
    cudaEventSynchronize(e1);
    float x = 0;
    cudaEventElapsedTime(&x, e0, e1);
    t.push_back(x);
  }
  cudaEventDestroy(e0);
  cudaEventDestroy(e1);
  NT_RETURN_IF_ERROR(st);
  NT_RETURN_IF_ERROR(last_error("bench"));
  std::sort(t.begin(), t.end());
  *ms = t.empty() ? 0 : t[t.size() / 2];
  return Status::Ok();
}

Status random_dev(DevBufs& bufs, int64_t n, float lo, float hi, float** out, uint64_t seed) {
  std::vector<float> h(static_cast<size_t>(n));
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> d(lo, hi);
  for (auto& v : h) v = d(rng);
  float* p = nullptr;
  NT_CUDA_RETURN(cudaMalloc(&p, n * sizeof(float) + 16), "cudaMalloc (bench)");
  bufs.p.push_back(p);
  NT_RETURN_IF_ERROR(upload(p, h.data(), n * sizeof(float), "upload (bench)"));
  *out = p;
  return Status::Ok();
}

}  // namespace

std::vector<std::string> kernel_names() { return std::vector<std::string>(std::begin(kNames), std::end(kNames)); }

Status run_kernel_on_host_buffers(const std::string& name, KernelArgs& args, std::vector<double>* scalars) {
  if (!backend()) {
    std::string why;
    available(&why);
    return Status(StatusCode::kNoDevice, "CUDA is not available: " + why);
  }
  DevBufs d;
  for (int k = 0; k < args.nbuf; ++k) {
    float* p = nullptr;
    const size_t bytes = static_cast<size_t>(std::max<int64_t>(args.len[k], 1)) * sizeof(float);
    NT_CUDA_RETURN(cudaMalloc(&p, bytes), "cudaMalloc (test)");
    d.p.push_back(p);
    if (args.len[k] > 0) NT_RETURN_IF_ERROR(upload(p, args.buf[k], args.len[k] * sizeof(float), "upload (test)"));
  }
  NT_RETURN_IF_ERROR(dispatch(name, args, d.p.data(), scalars));
  NT_CUDA_RETURN(cudaStreamSynchronize(cur_stream()), name.c_str());
  for (int k = 0; k < args.nbuf; ++k)
    if (args.len[k] > 0) NT_RETURN_IF_ERROR(download(args.buf[k], d.p[k], args.len[k] * sizeof(float), "download (test)"));
  return Status::Ok();
}

Status bench(const std::string& what, const std::vector<int64_t>& iv, double* ms) {
  if (!backend()) return Status(StatusCode::kNoDevice, "CUDA is not available");
  auto I = [&](size_t k, int64_t def) { return k < iv.size() ? iv[k] : def; };
  DevBufs bufs;
  if (what == "gemm") {
    const int64_t m = I(0, 1024), n = I(1, 1024), k = I(2, 1024);
    float *a, *b, *c;
    NT_RETURN_IF_ERROR(random_dev(bufs, m * k, -1, 1, &a, 1));
    NT_RETURN_IF_ERROR(random_dev(bufs, k * n, -1, 1, &b, 2));
    NT_RETURN_IF_ERROR(random_dev(bufs, m * n, -1, 1, &c, 3));
    GemmArgs g;
    g.m = m; g.n = n; g.k = k; g.a = a; g.lda = k; g.b = b; g.ldb = n; g.c = c; g.ldc = n;
    const auto prec = static_cast<GemmPrecision>(I(3, 0));
    const auto impl = static_cast<GemmImpl>(I(4, 1));
    return time_ms(3, 10, [&] { return gemm(g, prec, impl); }, ms);
  }
  if (what == "copy") {
    // The bytes of one Adam step over n parameters (read p, g, m, v; write p, m, v: 7 n floats of
    // traffic) as one device-to-device copy of 3.5 n floats, read and written: the bandwidth bound
    // scripts/device/bench.js divides 28 n bytes by. Source and destination each hold the whole
    // 3.5 n floats (their contents do not matter to the copy's speed).
    const int64_t n = I(0, 100000000);
    if (n < 1) return InvalidArgument("Expected n >= 1 for the copy benchmark but received " + std::to_string(n));
    const size_t bytes = copy_bench_bytes(n);
    float *src = nullptr, *dst = nullptr;
    NT_CUDA_RETURN(cudaMalloc(&src, bytes), "cudaMalloc (bench)");
    bufs.p.push_back(src);
    NT_CUDA_RETURN(cudaMalloc(&dst, bytes), "cudaMalloc (bench)");
    bufs.p.push_back(dst);
    NT_CUDA_RETURN(cudaMemsetAsync(src, 0x3c, bytes, cur_stream()), "cudaMemset (bench)");
    return time_ms(3, 20, [&] { return from_cuda(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, cur_stream()), "copy"); }, ms);
  }
  if (what == "adam") {
    const int64_t n = I(0, 100000000);
    float *p, *g, *m, *v;
    NT_RETURN_IF_ERROR(random_dev(bufs, n, -1, 1, &p, 1));
    NT_RETURN_IF_ERROR(random_dev(bufs, n, -1, 1, &g, 2));
    NT_RETURN_IF_ERROR(random_dev(bufs, n, 0, 0.1f, &m, 3));
    NT_RETURN_IF_ERROR(random_dev(bufs, n, 0, 0.1f, &v, 4));
    MultiStep ms_;
    ms_.kind = OptKind::kAdam;
    ms_.ngroups = 1;
    ms_.groups[0] = GroupStep{0, n, 1e-3f, 0.f, 1e-2f, 0.03f};
    return time_ms(3, 20, [&] { return multi_step(ms_, p, g, m, v, nullptr, nullptr, nullptr); }, ms);
  }
  if (what == "mlp") {
    // 784-2048-2048-10 style MLP training step (ReLU, softmax cross-entropy on labels, Adam), all on
    // the device, no host synchronisation inside a step: the fused plan a compiled model runs.
    const int64_t B = I(0, 1024), D = I(1, 784), H = I(2, 2048), O = I(3, 10), steps = I(5, 20);
    const auto prec = static_cast<GemmPrecision>(I(4, 1));
    const auto impl = static_cast<GemmImpl>(I(6, 1));
    const int64_t sizes[6] = {D * H, H, H * H, H, H * O, O};
    int64_t off[7] = {0};
    for (int q = 0; q < 6; ++q) off[q + 1] = off[q] + sizes[q];
    const int64_t P = off[6];
    float *x, *yl, *W, *G, *M, *V, *h1, *h2, *z, *d2, *d1;
    NT_RETURN_IF_ERROR(random_dev(bufs, B * D, 0, 1, &x, 1));
    NT_RETURN_IF_ERROR(random_dev(bufs, B, 0, 1, &yl, 2));
    NT_RETURN_IF_ERROR(random_dev(bufs, P, -0.03f, 0.03f, &W, 3));
    NT_RETURN_IF_ERROR(random_dev(bufs, P, 0, 0, &G, 4));
    NT_RETURN_IF_ERROR(random_dev(bufs, P, 0, 0, &M, 5));
    NT_RETURN_IF_ERROR(random_dev(bufs, P, 0, 0, &V, 6));
    NT_RETURN_IF_ERROR(random_dev(bufs, B * H, 0, 0, &h1, 7));
    NT_RETURN_IF_ERROR(random_dev(bufs, B * H, 0, 0, &h2, 8));
    NT_RETURN_IF_ERROR(random_dev(bufs, B * O, 0, 0, &z, 9));
    NT_RETURN_IF_ERROR(random_dev(bufs, B * H, 0, 0, &d2, 10));
    NT_RETURN_IF_ERROR(random_dev(bufs, B * H, 0, 0, &d1, 11));
    std::vector<int32_t> lab(static_cast<size_t>(B));
    for (int64_t r = 0; r < B; ++r) lab[r] = static_cast<int32_t>(r % O);
    int32_t* labels = reinterpret_cast<int32_t*>(yl);
    NT_RETURN_IF_ERROR(upload(labels, lab.data(), B * sizeof(int32_t), "labels"));
    Scalars s;
    NT_RETURN_IF_ERROR(s.alloc());
    float* dscale;
    NT_RETURN_IF_ERROR(random_dev(bufs, 1, 1, 1, &dscale, 12));
    int64_t t = 0;
    auto dense = [&](const float* in, int64_t k, int64_t n, int w, float* out, Act act) {
      GemmArgs g;
      g.m = B; g.n = n; g.k = k; g.a = in; g.lda = k; g.b = W + off[w]; g.ldb = n; g.c = out; g.ldc = n;
      g.bias = W + off[w + 1]; g.act = act;
      return gemm(g, prec, impl);
    };
    auto wgrad = [&](const float* in, int64_t k, int64_t n, const float* dout, int w) {
      GemmArgs g;  // dW = in^T dout: [k, n] over the batch
      g.trans_a = true; g.m = k; g.n = n; g.k = B; g.a = in; g.lda = k; g.b = dout; g.ldb = n; g.c = G + off[w]; g.ldc = n;
      NT_RETURN_IF_ERROR(gemm(g, prec, impl));
      return col_sum_f32_cuda(dout, B, n, n, G + off[w + 1], false);
    };
    auto dgrad = [&](const float* dout, int64_t n, int64_t k, int w, float* din) {
      GemmArgs g;  // din = dout W^T: [B, k]
      g.trans_b = true; g.m = B; g.n = k; g.k = n; g.a = dout; g.lda = n; g.b = W + off[w]; g.ldb = n; g.c = din; g.ldc = k;
      return gemm(g, prec, impl);
    };
    auto step = [&]() -> Status {
      NT_RETURN_IF_ERROR(dense(x, D, H, 0, h1, Act::kRelu));
      NT_RETURN_IF_ERROR(dense(h1, H, H, 2, h2, Act::kRelu));
      NT_RETURN_IF_ERROR(dense(h2, H, O, 4, z, Act::kNone));
      NT_RETURN_IF_ERROR(zero_scalars(s.d, s.flag()));
      NT_RETURN_IF_ERROR(softmax_xent_f32_cuda_dev(z, nullptr, labels, B, O, s.d, z, 1.f));  // z <- dL/dz
      NT_RETURN_IF_ERROR(wgrad(h2, H, O, z, 4));
      NT_RETURN_IF_ERROR(dgrad(z, O, H, 4, d2));
      NT_RETURN_IF_ERROR(act_backward_from_output_f32_cuda(Act::kRelu, h2, d2, B * H, d2));
      NT_RETURN_IF_ERROR(wgrad(h1, H, H, d2, 2));
      NT_RETURN_IF_ERROR(dgrad(d2, H, H, 2, d1));
      NT_RETURN_IF_ERROR(act_backward_from_output_f32_cuda(Act::kRelu, h1, d1, B * H, d1));
      NT_RETURN_IF_ERROR(wgrad(x, D, H, d1, 0));
      NT_RETURN_IF_ERROR(zero_scalars(s.d, s.flag()));
      NT_RETURN_IF_ERROR(global_norm_sq(G, P, s.d, s.flag()));
      NT_RETURN_IF_ERROR(clip_scale(s.d, 0.f, s.flag(), dscale));
      ++t;
      MultiStep ms_;
      ms_.kind = OptKind::kAdam;
      ms_.ngroups = 1;
      ms_.step = t;
      const double bc1 = 1 - std::pow(0.9, double(t)), bc2 = 1 - std::pow(0.999, double(t));
      ms_.groups[0] = GroupStep{0, P, 1e-3f, 0.f, float(1e-3 / bc1), float(std::sqrt(bc2))};
      return multi_step(ms_, W, G, M, V, nullptr, dscale, s.flag());
    };
    double total = 0;
    NT_RETURN_IF_ERROR(time_ms(2, 1, [&]() -> Status {
      for (int64_t q = 0; q < steps; ++q) NT_RETURN_IF_ERROR(step());
      return Status::Ok();
    }, &total));
    *ms = total / double(steps);
    return Status::Ok();
  }
  return InvalidArgument("Expected gemm, adam, copy or mlp for the CUDA benchmark but received " + what);
}

}  // namespace cuda
}  // namespace nt
