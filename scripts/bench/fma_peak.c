// FMA peak probe for scripts/bench/gemm.js: register-resident FMA chains (no loads), AVX-512 (zmm)
// and AVX2 (ymm), and AVX512-BF16 vdpbf16ps chains (the bf16 GEMM's peak), on 1..T threads. Prints one JSON line per (isa, threads):
//   {"isa":"avx512","threads":2,"gflops":...}
// Usage: fma_peak <max threads> <seconds per measurement>. An ISA the CPU lacks prints
// {"isa":..., "missing":true}. 12 chains per thread: more than FMA ports x latency (2 x 4) so
// the chains never wait on each other. Medians of 5 timed runs.
#define _GNU_SOURCE
#include <immintrin.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

__attribute__((target("avx512f,avx512bf16"))) static float runbf16(long iters) {
  // vdpbf16ps: per fp32 lane, two bf16 products added (4 flops per lane, 64 per zmm instruction).
  const __m512bh x = (__m512bh)_mm512_set1_epi32(0x3f803f80), y = (__m512bh)_mm512_set1_epi32(0x33d633d6);
  __m512 a0 = _mm512_set1_ps(1.00f), a1 = _mm512_set1_ps(1.01f), a2 = _mm512_set1_ps(1.02f), a3 = _mm512_set1_ps(1.03f);
  __m512 a4 = _mm512_set1_ps(1.04f), a5 = _mm512_set1_ps(1.05f), a6 = _mm512_set1_ps(1.06f), a7 = _mm512_set1_ps(1.07f);
  __m512 a8 = _mm512_set1_ps(1.08f), a9 = _mm512_set1_ps(1.09f), a10 = _mm512_set1_ps(1.10f), a11 = _mm512_set1_ps(1.11f);
  for (long i = 0; i < iters; ++i) {
#define F(a) a = _mm512_dpbf16_ps(a, x, y)
    F(a0); F(a1); F(a2); F(a3); F(a4); F(a5); F(a6); F(a7); F(a8); F(a9); F(a10); F(a11);
#undef F
    __asm__ volatile("" : "+v"(a0), "+v"(a1), "+v"(a2), "+v"(a3), "+v"(a4), "+v"(a5));
    __asm__ volatile("" : "+v"(a6), "+v"(a7), "+v"(a8), "+v"(a9), "+v"(a10), "+v"(a11));
  }
  __m512 s = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)),
                           _mm512_add_ps(_mm512_add_ps(a4, a5), _mm512_add_ps(a6, a7)));
  s = _mm512_add_ps(s, _mm512_add_ps(_mm512_add_ps(a8, a9), _mm512_add_ps(a10, a11)));
  return _mm512_reduce_add_ps(s);
}

typedef struct {
  int avx512;
  long iters;
  float sink;
} Job;

__attribute__((target("avx512f,fma"))) static float run512(long iters) {
  __m512 x = _mm512_set1_ps(0.999999f), y = _mm512_set1_ps(1e-7f);
  // Distinct starting values, so that the compiler cannot merge the chains.
  __m512 a0 = _mm512_set1_ps(1.00f), a1 = _mm512_set1_ps(1.01f), a2 = _mm512_set1_ps(1.02f), a3 = _mm512_set1_ps(1.03f);
  __m512 a4 = _mm512_set1_ps(1.04f), a5 = _mm512_set1_ps(1.05f), a6 = _mm512_set1_ps(1.06f), a7 = _mm512_set1_ps(1.07f);
  __m512 a8 = _mm512_set1_ps(1.08f), a9 = _mm512_set1_ps(1.09f), a10 = _mm512_set1_ps(1.10f), a11 = _mm512_set1_ps(1.11f);
  for (long i = 0; i < iters; ++i) {
#define F(a) a = _mm512_fmadd_ps(a, x, y)
    F(a0); F(a1); F(a2); F(a3); F(a4); F(a5); F(a6); F(a7); F(a8); F(a9); F(a10); F(a11);
#undef F
    __asm__ volatile("" : "+v"(a0), "+v"(a1), "+v"(a2), "+v"(a3), "+v"(a4), "+v"(a5));
    __asm__ volatile("" : "+v"(a6), "+v"(a7), "+v"(a8), "+v"(a9), "+v"(a10), "+v"(a11));
  }
  __m512 s = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)),
                           _mm512_add_ps(_mm512_add_ps(a4, a5), _mm512_add_ps(a6, a7)));
  s = _mm512_add_ps(s, _mm512_add_ps(_mm512_add_ps(a8, a9), _mm512_add_ps(a10, a11)));
  return _mm512_reduce_add_ps(s);
}

__attribute__((target("avx2,fma"))) static float run256(long iters) {
  __m256 x = _mm256_set1_ps(0.999999f), y = _mm256_set1_ps(1e-7f);
  // Distinct starting values, so that the compiler cannot merge the chains.
  __m256 a0 = _mm256_set1_ps(1.00f), a1 = _mm256_set1_ps(1.01f), a2 = _mm256_set1_ps(1.02f), a3 = _mm256_set1_ps(1.03f);
  __m256 a4 = _mm256_set1_ps(1.04f), a5 = _mm256_set1_ps(1.05f), a6 = _mm256_set1_ps(1.06f), a7 = _mm256_set1_ps(1.07f);
  __m256 a8 = _mm256_set1_ps(1.08f), a9 = _mm256_set1_ps(1.09f), a10 = _mm256_set1_ps(1.10f), a11 = _mm256_set1_ps(1.11f);
  for (long i = 0; i < iters; ++i) {
#define F(a) a = _mm256_fmadd_ps(a, x, y)
    F(a0); F(a1); F(a2); F(a3); F(a4); F(a5); F(a6); F(a7); F(a8); F(a9); F(a10); F(a11);
#undef F
    __asm__ volatile("" : "+x"(a0), "+x"(a1), "+x"(a2), "+x"(a3), "+x"(a4), "+x"(a5));
    __asm__ volatile("" : "+x"(a6), "+x"(a7), "+x"(a8), "+x"(a9), "+x"(a10), "+x"(a11));
  }
  __m256 s = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)),
                           _mm256_add_ps(_mm256_add_ps(a4, a5), _mm256_add_ps(a6, a7)));
  s = _mm256_add_ps(s, _mm256_add_ps(_mm256_add_ps(a8, a9), _mm256_add_ps(a10, a11)));
  float o[8];
  _mm256_storeu_ps(o, s);
  return o[0] + o[7];
}

static void* worker(void* p) {
  Job* j = (Job*)p;
  j->sink = j->avx512 == 2 ? runbf16(j->iters) : j->avx512 ? run512(j->iters) : run256(j->iters);
  return NULL;
}

// isa 2: vdpbf16ps (64 flops per instruction), 1: AVX-512 FMA (32), 0: AVX2 FMA (16).
static double flops_per_insn(int isa) { return isa == 2 ? 64 : isa ? 32 : 16; }

static double measure(int avx512, int threads, long iters) {
  pthread_t th[64];
  Job jobs[64];
  double t0 = now();
  for (int i = 0; i < threads; ++i) {
    jobs[i].avx512 = avx512;
    jobs[i].iters = iters;
    pthread_create(&th[i], NULL, worker, &jobs[i]);
  }
  for (int i = 0; i < threads; ++i) pthread_join(th[i], NULL);
  double dt = now() - t0;
  return (double)threads * iters * 12 * flops_per_insn(avx512) / dt / 1e9;
}

static int cmp(const void* a, const void* b) {
  double x = *(const double*)a, y = *(const double*)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char** argv) {
  int maxth = argc > 1 ? atoi(argv[1]) : 2;
  double secs = argc > 2 ? atof(argv[2]) : 0.2;
  __builtin_cpu_init();
  for (int isa = 2; isa >= 0; --isa) {
    const char* name = isa == 2 ? "avx512bf16" : isa ? "avx512" : "avx2";
    const int has = isa == 2   ? __builtin_cpu_supports("avx512bf16")
                    : isa == 1 ? __builtin_cpu_supports("avx512f")
                               : __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    if (!has) {
      printf("{\"isa\":\"%s\",\"missing\":true}\n", name);
      continue;
    }
    for (int t = 1; t <= maxth; ++t) {
      // Calibrate the iteration count to about `secs` seconds.
      long iters = 1 << 20;
      double g = measure(isa, t, iters);
      iters = (long)(g * 1e9 * secs / (t * 12.0 * flops_per_insn(isa)));
      if (iters < 1000) iters = 1000;
      double r[5];
      for (int k = 0; k < 5; ++k) r[k] = measure(isa, t, iters);
      qsort(r, 5, sizeof(double), cmp);
      printf("{\"isa\":\"%s\",\"threads\":%d,\"gflops\":%.1f}\n", name, t, r[2]);
    }
  }
  return 0;
}
