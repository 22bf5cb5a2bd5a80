// The process-wide thread pool. One pool per process, shared by every model, every worker_thread
// and every kernel call, so concurrent training never oversubscribes the CPU.
// Work is split over outer loops by (ith, nth); callers never split a GEMM k loop.
#pragma once
#include <cstdint>
#include <functional>

namespace nt {

// Runs fn(ith, nth) for ith in [0, nth) with nth = min(max_tasks, pool threads), the calling
// thread taking part. Called from inside a pool task it runs serially (nth = 1).
// fn must not throw.
void parallel_for(int64_t max_tasks, const std::function<void(int ith, int nth)>& fn);

// Number of threads used by parallel_for (>= 1). Default: hardware concurrency.
int num_threads();
// Sets the thread count (clamped to [1, 256]); takes effect for the next parallel_for.
void set_num_threads(int n);

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
