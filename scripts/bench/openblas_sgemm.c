/* OpenBLAS sgemm timing harness for scripts/bench/gemm.js.
 * Usage: openblas_sgemm THREADS MIN_REPS MIN_SECONDS  M,N,K,TA,TB  [M,N,K,TA,TB ...]
 * Row-major C = op(A) op(B) with uniform[-1,1] inputs; prints one JSON line per case with the
 * median seconds per call, and first a line with OpenBLAS's core name and config. */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

extern void openblas_set_num_threads(int);
extern char* openblas_get_corename(void);
extern char* openblas_get_config(void);

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}
static int cmp(const void* a, const void* b) {
  double x = *(const double*)a, y = *(const double*)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char** argv) {
  if (argc < 5) {
    fprintf(stderr, "usage: %s THREADS MIN_REPS MIN_SECONDS M,N,K,TA,TB...\n", argv[0]);
    return 2;
  }
  int threads = atoi(argv[1]), min_reps = atoi(argv[2]);
  double min_sec = atof(argv[3]);
  openblas_set_num_threads(threads);
  printf("{\"core\":\"%s\",\"config\":\"%s\",\"threads\":%d}\n", openblas_get_corename(), openblas_get_config(), threads);
  for (int c = 4; c < argc; ++c) {
    int m, n, k, ta, tb;
    if (sscanf(argv[c], "%d,%d,%d,%d,%d", &m, &n, &k, &ta, &tb) != 5) return 2;
    float* a = aligned_alloc(64, ((size_t)m * k * 4 + 63) / 64 * 64 + 64);
    float* b = aligned_alloc(64, ((size_t)k * n * 4 + 63) / 64 * 64 + 64);
    float* cc = aligned_alloc(64, ((size_t)m * n * 4 + 63) / 64 * 64 + 64);
    for (size_t i = 0; i < (size_t)m * k; ++i) a[i] = (float)rand() / RAND_MAX * 2 - 1;
    for (size_t i = 0; i < (size_t)k * n; ++i) b[i] = (float)rand() / RAND_MAX * 2 - 1;
    memset(cc, 0, (size_t)m * n * 4);
    int lda = ta ? m : k, ldb = tb ? k : n;
    double times[1000];
    int reps = 0;
    double start = now();
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n, k, 1.0f, a, lda,
                b, ldb, 0.0f, cc, n); /* warm-up */
    start = now();
    while (reps < 1000 && (reps < min_reps || now() - start < min_sec)) {
      double t0 = now();
      cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n, k, 1.0f, a,
                  lda, b, ldb, 0.0f, cc, n);
      times[reps++] = now() - t0;
    }
    qsort(times, reps, sizeof(double), cmp);
    printf("{\"case\":\"%s\",\"median\":%.9g,\"reps\":%d}\n", argv[c], times[reps / 2], reps);
    fflush(stdout);
    free(a);
    free(b);
    free(cc);
  }
  return 0;
}
