// The fuzzers' memory rule in the ordinary test suite: a replayed input may not make the
// loader ask for one block above 512 MB (libFuzzer's -malloc_limit_mb=512). Without it a
// regression input whose fault was a memory blow-up would pass by allocating gigabytes.
//   Without ASan, malloc and calloc are wrapped (allocation_limit.cpp): an oversized request
//   gets nullptr (so nothing is allocated) and is counted, and the replay checks the count.
//   Under ASan, whose allocator cannot be wrapped, max_allocation_size_mb=512 makes such a
//   request a fatal ASan report instead.
#pragma once
#include <cstddef>
#include <cstdint>

namespace fuzz {

inline constexpr size_t kAllocationLimitBytes = size_t{512} << 20;

// How many requests above the limit were refused so far (always 0 under ASan, which stops).
int64_t oversized_allocations();

}  // namespace fuzz
