// Keeps the Linux x64 addon loadable on glibc 2.28 (Debian 10, RHEL 8, Ubuntu 20.04) when it is
// built on a newer glibc and GCC.
//
// The addon links the C++ runtime statically (-static-libstdc++ -static-libgcc), so it needs no
// GLIBCXX_*/CXXABI_*/GCC_* versions. What remains are glibc symbol versions newer than 2.28 that
// the link would bind to by default:
//
//   exp, exp2, log, log2, pow   GLIBC_2.29  new default versions (same results, no SVID error hook)
//   hypot, hypotf               GLIBC_2.35  new default versions
//   pthread_create and kin      GLIBC_2.34  libpthread merged into libc; std::thread, thread_local
//   __libc_single_threaded      GLIBC_2.32  read by libstdc++'s headers (shared_ptr counts, locale)
//   _dl_find_object             GLIBC_2.35  the static libgcc unwinder finds a frame's FDEs with it
//   arc4random                  GLIBC_2.36  the static libstdc++'s std::random_device
//
// The link redirects every reference to these symbols, in our objects and inside libstdc++.a and
// libgcc_eh.a alike, to the __wrap_<symbol> definitions below (`ld --wrap`, flags listed in
// native/cpu/glibc_compat.ldflags, which binding.gyp and CMakeLists.txt pass on Linux x64). Each
// wrapper either calls the symbol's oldest version, pinned with .symver (every x86-64 glibc has
// GLIBC_2.2.5; glibc 2.28 finds the pthread ones in libpthread.so.0, which Node itself loads), or
// replaces it: __libc_single_threaded is a constant 0 (never single-threaded: the atomic path, which
// is correct in every process); _dl_find_object walks the loaded objects with dl_iterate_phdr, as
// libgcc did before glibc 2.35; arc4random reads the getrandom system call (or /dev/urandom).
//
// On musl there are no symbol versions to pin: the same wrappers call the plain symbols
// (__real_<symbol>), and the replacements need only dl_iterate_phdr and getrandom.
// scripts/check-binary.js checks the result: a binary built here needs nothing above GLIBC_2.28.
#if defined(__linux__) && defined(__x86_64__)

#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <math.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define NT_COMPAT_EXPORT extern "C" __attribute__((visibility("hidden")))

// Declares nt_compat_<name>, a function of type <type...>, bound to <name>@<version>.
#if defined(__GLIBC__)
#define NT_COMPAT_OLD(name, version, ...)            \
  using nt_compat_##name##_type = __VA_ARGS__;       \
  extern "C" nt_compat_##name##_type nt_compat_##name; \
  __asm__(".symver nt_compat_" #name ", " #name "@" version)
#else
#define NT_COMPAT_OLD(name, version, ...)                  \
  using nt_compat_##name##_type = __VA_ARGS__;             \
  extern "C" nt_compat_##name##_type __real_##name;        \
  static nt_compat_##name##_type* const nt_compat_##name = __real_##name
#endif

// ---- libm: GLIBC_2.29 / 2.35 default versions -> GLIBC_2.2.5 ----
NT_COMPAT_OLD(exp, "GLIBC_2.2.5", double(double));
NT_COMPAT_OLD(exp2, "GLIBC_2.2.5", double(double));
NT_COMPAT_OLD(log, "GLIBC_2.2.5", double(double));
NT_COMPAT_OLD(log2, "GLIBC_2.2.5", double(double));
NT_COMPAT_OLD(pow, "GLIBC_2.2.5", double(double, double));
NT_COMPAT_OLD(hypot, "GLIBC_2.2.5", double(double, double));
NT_COMPAT_OLD(hypotf, "GLIBC_2.2.5", float(float, float));

NT_COMPAT_EXPORT double __wrap_exp(double x) { return nt_compat_exp(x); }
NT_COMPAT_EXPORT double __wrap_exp2(double x) { return nt_compat_exp2(x); }
NT_COMPAT_EXPORT double __wrap_log(double x) { return nt_compat_log(x); }
NT_COMPAT_EXPORT double __wrap_log2(double x) { return nt_compat_log2(x); }
NT_COMPAT_EXPORT double __wrap_pow(double x, double y) { return nt_compat_pow(x, y); }
NT_COMPAT_EXPORT double __wrap_hypot(double x, double y) { return nt_compat_hypot(x, y); }
NT_COMPAT_EXPORT float __wrap_hypotf(float x, float y) { return nt_compat_hypotf(x, y); }

// ---- pthreads: GLIBC_2.34 (libc) -> GLIBC_2.2.5 (libpthread before 2.34, a libc alias since) ----
NT_COMPAT_OLD(pthread_create, "GLIBC_2.2.5", decltype(::pthread_create));
NT_COMPAT_OLD(pthread_join, "GLIBC_2.2.5", decltype(::pthread_join));
NT_COMPAT_OLD(pthread_detach, "GLIBC_2.2.5", decltype(::pthread_detach));
NT_COMPAT_OLD(pthread_once, "GLIBC_2.2.5", decltype(::pthread_once));
NT_COMPAT_OLD(pthread_key_create, "GLIBC_2.2.5", decltype(::pthread_key_create));
NT_COMPAT_OLD(pthread_key_delete, "GLIBC_2.2.5", decltype(::pthread_key_delete));
NT_COMPAT_OLD(pthread_getspecific, "GLIBC_2.2.5", decltype(::pthread_getspecific));
NT_COMPAT_OLD(pthread_setspecific, "GLIBC_2.2.5", decltype(::pthread_setspecific));

NT_COMPAT_EXPORT int __wrap_pthread_create(pthread_t* t, const pthread_attr_t* attr, void* (*fn)(void*), void* arg) {
  return nt_compat_pthread_create(t, attr, fn, arg);
}
NT_COMPAT_EXPORT int __wrap_pthread_join(pthread_t t, void** ret) { return nt_compat_pthread_join(t, ret); }
NT_COMPAT_EXPORT int __wrap_pthread_detach(pthread_t t) { return nt_compat_pthread_detach(t); }
NT_COMPAT_EXPORT int __wrap_pthread_once(pthread_once_t* once, void (*fn)(void)) { return nt_compat_pthread_once(once, fn); }
NT_COMPAT_EXPORT int __wrap_pthread_key_create(pthread_key_t* key, void (*dtor)(void*)) {
  return nt_compat_pthread_key_create(key, dtor);
}
// libstdc++'s gthreads refer to the internal alias too (and, on older glibc, only test that it exists).
NT_COMPAT_EXPORT int __wrap___pthread_key_create(pthread_key_t* key, void (*dtor)(void*)) {
  return nt_compat_pthread_key_create(key, dtor);
}
NT_COMPAT_EXPORT int __wrap_pthread_key_delete(pthread_key_t key) { return nt_compat_pthread_key_delete(key); }
NT_COMPAT_EXPORT void* __wrap_pthread_getspecific(pthread_key_t key) { return nt_compat_pthread_getspecific(key); }
NT_COMPAT_EXPORT int __wrap_pthread_setspecific(pthread_key_t key, const void* value) {
  return nt_compat_pthread_setspecific(key, value);
}

// ---- __libc_single_threaded (GLIBC_2.32): the process is never treated as single-threaded ----
extern "C" {
__attribute__((visibility("hidden"))) char __wrap___libc_single_threaded = 0;
}

// ---- _dl_find_object (GLIBC_2.35), as the static libgcc unwinder calls it ----
// glibc's struct dl_find_object on x86-64 (no dlfo_eh_dbase there); declared here so that the
// file also builds against a glibc older than 2.35 or musl. The unwinder reads dlfo_eh_frame.
struct nt_dl_find_object {
  unsigned long long dlfo_flags;
  void* dlfo_map_start;
  void* dlfo_map_end;
  struct link_map* dlfo_link_map;
  void* dlfo_eh_frame;
  unsigned long long reserved[7];
};

namespace {
struct FindObject {
  uintptr_t pc;
  nt_dl_find_object* result;
};

int find_object_in(struct dl_phdr_info* info, size_t, void* data) {
  FindObject* find = static_cast<FindObject*>(data);
  uintptr_t lo = UINTPTR_MAX, hi = 0;
  bool contains = false;
  void* eh_frame = nullptr;
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    const uintptr_t start = info->dlpi_addr + ph.p_vaddr;
    if (ph.p_type == PT_LOAD) {
      const uintptr_t end = start + ph.p_memsz;
      if (start < lo) lo = start;
      if (end > hi) hi = end;
      if (find->pc >= start && find->pc < end) contains = true;
    } else if (ph.p_type == PT_GNU_EH_FRAME) {
      eh_frame = reinterpret_cast<void*>(start);
    }
  }
  if (!contains) return 0;
  nt_dl_find_object* r = find->result;
  r->dlfo_flags = 0;
  r->dlfo_map_start = reinterpret_cast<void*>(lo);
  r->dlfo_map_end = reinterpret_cast<void*>(hi);
  r->dlfo_link_map = nullptr;
  r->dlfo_eh_frame = eh_frame;
  return 1;
}
}  // namespace

// 0 and the object's extent and PT_GNU_EH_FRAME for an address inside a loaded object, else -1.
NT_COMPAT_EXPORT int __wrap__dl_find_object(void* pc, nt_dl_find_object* result) {
  FindObject find{reinterpret_cast<uintptr_t>(pc), result};
  return dl_iterate_phdr(find_object_in, &find) > 0 ? 0 : -1;
}

// ---- arc4random (GLIBC_2.36), used by std::random_device ----
namespace {
bool fill_random(void* buf, size_t n) {
  unsigned char* p = static_cast<unsigned char*>(buf);
  while (n > 0) {
    const long got = syscall(SYS_getrandom, p, n, 0);
    if (got > 0) {
      p += got;
      n -= static_cast<size_t>(got);
    } else if (got < 0 && errno == EINTR) {
      continue;
    } else {
      break;  // ENOSYS (kernel before 3.17) or a seccomp filter: try the device
    }
  }
  if (n == 0) return true;
  const int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  while (n > 0) {
    const ssize_t got = read(fd, p, n);
    if (got > 0) {
      p += got;
      n -= static_cast<size_t>(got);
    } else if (got < 0 && errno == EINTR) {
      continue;
    } else {
      break;
    }
  }
  close(fd);
  return n == 0;
}
}  // namespace

// arc4random cannot fail; with neither getrandom nor /dev/urandom available, the value comes from
// the clock, a counter and the stack address (random_device only promises what the system offers).
NT_COMPAT_EXPORT uint32_t __wrap_arc4random(void) {
  uint32_t v;
  if (fill_random(&v, sizeof v)) return v;
  static unsigned long long counter = 0;
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  unsigned long long z = (static_cast<unsigned long long>(ts.tv_sec) * 1000000000ull + ts.tv_nsec) ^
                         (__atomic_add_fetch(&counter, 0x9e3779b97f4a7c15ull, __ATOMIC_RELAXED)) ^
                         reinterpret_cast<uintptr_t>(&v);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;  // splitmix64 finaliser
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return static_cast<uint32_t>(z ^ (z >> 31));
}

#endif  // defined(__linux__) && defined(__x86_64__)
