// The process-wide thread pool behind nt::parallel_for.
// Small work never gets here: parallel_for (parallel.h) runs it inline on the calling thread.
// Design: a fixed set of persistent workers (grown on demand up to the configured count) and a
// single queue of chunks. A caller enqueues chunks 1..nth-1 of its job, runs chunk 0 itself and
// then helps drain the queue until its own chunks are done. Concurrent callers (several models, or
// worker_threads) share the same workers, so the process never runs more compute threads than
// configured plus the callers themselves. Calls from inside a task run serially (no nesting).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "nodetrain/parallel.h"

namespace nt {
namespace {

struct Job {
  parallel_detail::TaskFn fn;
  void* ctx;
  int nth;
  std::atomic<int> remaining;
  std::mutex mu;
  std::condition_variable done;
};

struct Chunk {
  Job* job;
  int ith;
};

thread_local bool tl_in_task = false;

int default_threads() {
  unsigned hc = std::thread::hardware_concurrency();
  return hc == 0 ? 1 : static_cast<int>(std::min(hc, 256u));
}

}  // namespace

namespace parallel_detail {
std::atomic<int> g_threads{default_threads()};
}  // namespace parallel_detail

namespace {

class Pool {
 public:
  static Pool& get() {
    // Intentionally leaked: workers are detached and must never see a destroyed pool at exit.
    static Pool* pool = new Pool();
    return *pool;
  }

  int threads() const { return parallel_detail::g_threads.load(std::memory_order_relaxed); }
  void set_threads(int n) { parallel_detail::g_threads.store(std::max(1, std::min(n, 256)), std::memory_order_relaxed); }

  void run(int64_t max_tasks, parallel_detail::TaskFn fn, void* ctx) {
    int nth = static_cast<int>(std::min<int64_t>(max_tasks, threads()));
    if (nth <= 1 || tl_in_task) {
      bool prev = tl_in_task;
      tl_in_task = true;
      fn(ctx, 0, 1);
      tl_in_task = prev;
      return;
    }
    ensure_workers(nth - 1);
    Job job;
    job.fn = fn;
    job.ctx = ctx;
    job.nth = nth;
    job.remaining.store(nth, std::memory_order_relaxed);
    bool wake;
    {
      std::lock_guard<std::mutex> lk(mu_);
      for (int i = 1; i < nth; ++i) queue_.push_back(Chunk{&job, i});
      queued_.fetch_add(nth - 1, std::memory_order_release);
      wake = sleepers_ > 0;
    }
    if (wake) cv_.notify_all();
    execute(Chunk{&job, 0});
    // Help with any queued work (ours or another caller's) while our chunks finish. With nothing
    // left to take, spin a while before sleeping: the workers' chunks usually end within
    // microseconds of ours, and a futex wake-up costs more than that.
    using clock = std::chrono::steady_clock;
    const auto until = clock::now() + std::chrono::microseconds(kSpinMicros);
    for (unsigned i = 0; job.remaining.load(std::memory_order_acquire) > 0; ++i) {
      Chunk c;
      if (queued_.load(std::memory_order_acquire) > 0 && try_pop(&c)) {
        execute(c);
      } else if ((i & 63) != 63 || clock::now() <= until) {
        if ((i & 7) == 7) std::this_thread::yield(); else cpu_relax();  // as the workers spin
      } else {
        std::unique_lock<std::mutex> lk(job.mu);
        job.done.wait(lk, [&] { return job.remaining.load(std::memory_order_acquire) == 0; });
      }
    }
    // Wait until the last worker has released the job's mutex before the job goes out of scope.
    std::lock_guard<std::mutex> lk(job.mu);
  }

 private:
  Pool() = default;

  bool try_pop(Chunk* c) {
    std::lock_guard<std::mutex> lk(mu_);
    if (queue_.empty()) return false;
    *c = queue_.front();
    queue_.pop_front();
    queued_.fetch_sub(1, std::memory_order_relaxed);
    return true;
  }

  static void execute(Chunk c) {
    bool prev = tl_in_task;
    tl_in_task = true;
    c.job->fn(c.job->ctx, c.ith, c.job->nth);
    tl_in_task = prev;
    // The decrement happens under the job's mutex, and the owner takes that mutex before it
    // destroys the job (it lives on the owner's stack): a worker never touches a dead job.
    Job* job = c.job;
    std::lock_guard<std::mutex> lk(job->mu);
    if (job->remaining.fetch_sub(1, std::memory_order_acq_rel) == 1) job->done.notify_all();
  }

  void ensure_workers(int n) {
    std::lock_guard<std::mutex> lk(spawn_mu_);
    while (static_cast<int>(spawned_) < n) {
      std::thread([this] { worker_loop(); }).detach();
      ++spawned_;
    }
  }

  // Workers spin briefly before sleeping: a training step issues many short parallel kernels
  // back to back, and a futex wake-up per kernel would cost more than the kernels' own work.
  void worker_loop() {
    using clock = std::chrono::steady_clock;
    for (;;) {
      Chunk c;
      bool got = false;
      const auto until = clock::now() + std::chrono::microseconds(kSpinMicros);
      for (int i = 0; !got; ++i) {
        if (queued_.load(std::memory_order_acquire) > 0) {
          got = try_pop(&c);
        } else {
          // Yield rather than pause: on an oversubscribed machine another process gets the core.
          if ((i & 7) == 7) std::this_thread::yield(); else cpu_relax();
          if ((i & 63) == 63 && clock::now() > until) break;
        }
      }
      if (!got) {
        std::unique_lock<std::mutex> lk(mu_);
        ++sleepers_;
        cv_.wait(lk, [&] { return !queue_.empty(); });
        --sleepers_;
        c = queue_.front();
        queue_.pop_front();
        queued_.fetch_sub(1, std::memory_order_relaxed);
      }
      execute(c);
    }
  }

  static void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#else
    std::this_thread::yield();
#endif
  }

  static constexpr int kSpinMicros = 50;

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Chunk> queue_;
  std::atomic<int> queued_{0};  // queue_.size(), readable without the lock
  int sleepers_ = 0;             // workers blocked on cv_ (guarded by mu_)
  std::mutex spawn_mu_;
  size_t spawned_ = 0;
};

}  // namespace

void parallel_detail::run(int64_t max_tasks, TaskFn fn, void* ctx) { Pool::get().run(max_tasks, fn, ctx); }

int num_threads() { return parallel_detail::g_threads.load(std::memory_order_relaxed); }
void set_num_threads(int n) { Pool::get().set_threads(n); }

}  // namespace nt
