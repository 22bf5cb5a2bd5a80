// The process-wide thread pool. One pool per process, shared by every model, every worker_thread
// and every kernel call, so concurrent training never oversubscribes the CPU.
// Work is split over outer loops by (ith, nth); callers never split a GEMM k loop.
//
// Small work never reaches the pool: parallel_for is a template that runs fn(0, 1) inline on the
// calling thread when max_tasks <= 1 or the pool has one thread, with no type erasure, allocation
// or thread-local access. Kernels size max_tasks from their work (tasks_for below), so a tiny
// model's step never hands anything to another thread.
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <type_traits>

namespace nt {

namespace parallel_detail {
// The configured thread count, readable without touching the pool.
extern std::atomic<int> g_threads;
using TaskFn = void (*)(void* ctx, int ith, int nth);
// Runs fn(ctx, ith, nth) over the pool for nth = min(max_tasks, threads) >= 2 (serially when
// called from inside a pool task).
void run(int64_t max_tasks, TaskFn fn, void* ctx);
}  // namespace parallel_detail

// Runs fn(ith, nth) for ith in [0, nth) with nth = min(max_tasks, pool threads), the calling
// thread taking part. Called from inside a pool task it runs serially (nth = 1).
// fn must not throw.
template <class F>
inline void parallel_for(int64_t max_tasks, F&& fn) {
  if (max_tasks <= 0) return;
  if (max_tasks == 1 || parallel_detail::g_threads.load(std::memory_order_relaxed) <= 1) {
    fn(0, 1);
    return;
  }
  using Fn = std::remove_reference_t<F>;
  parallel_detail::run(
      max_tasks, [](void* c, int ith, int nth) { (*static_cast<Fn*>(c))(ith, nth); },
      const_cast<void*>(static_cast<const void*>(&fn)));
}

// Number of threads used by parallel_for (>= 1). Default: hardware concurrency.
int num_threads();
// Sets the thread count (clamped to [1, 256]); takes effect for the next parallel_for.
void set_num_threads(int n);

// Tasks for `work` units when each task should get at least `grain` of them: 1 (the calling
// thread alone) below 2 * grain, never more than `cap`.
inline int64_t tasks_for_work(int64_t work, int64_t grain, int64_t cap = 1024) {
  const int64_t t = work / grain;
  return t < 1 ? 1 : (t > cap ? cap : t);
}

// ceil-div helper for (ith, nth) partitioning: the [begin, end) of part ith of n items,
// with part boundaries rounded to multiples of `align`.
inline void partition(int64_t n, int ith, int nth, int64_t align, int64_t* begin, int64_t* end) {
  int64_t blocks = (n + align - 1) / align;
  int64_t per = (blocks + nth - 1) / nth;
  int64_t b = per * ith * align, e = per * (ith + 1) * align;
  *begin = b < n ? b : n;
  *end = e < n ? e : n;
}

}  // namespace nt
