#include "tests/fuzz/allocation_limit.h"

#include <atomic>
#include <cerrno>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TAPEGRAD_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define TAPEGRAD_ASAN 1
#endif

namespace {
std::atomic<int64_t> oversized{0};
}

int64_t fuzz::oversized_allocations() { return oversized.load(); }

#ifdef TAPEGRAD_ASAN
// Defaults that ASAN_OPTIONS from the environment extend.
extern "C" const char* __asan_default_options() { return "max_allocation_size_mb=512"; }
#else
// glibc's own entry points, which a program replacing malloc may call.
extern "C" void* __libc_malloc(size_t size);
extern "C" void* __libc_calloc(size_t count, size_t size);

extern "C" void* malloc(size_t size) {
  if (size > fuzz::kAllocationLimitBytes) {
    oversized.fetch_add(1);
    errno = ENOMEM;
    return nullptr;
  }
  return __libc_malloc(size);
}

extern "C" void* calloc(size_t count, size_t size) {
  if (size != 0 && count > fuzz::kAllocationLimitBytes / size) {
    oversized.fetch_add(1);
    errno = ENOMEM;
    return nullptr;
  }
  return __libc_calloc(count, size);
}
#endif
