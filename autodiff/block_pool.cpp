// Per-thread free lists of 64-byte size classes (see block_pool.h for why).
#include "tapegrad/autodiff/block_pool.h"

#include <array>
#include <cstdint>
#include <cstdlib>

namespace ad {

namespace {

constexpr size_t kLine = 64;
constexpr size_t kClasses = kPooledBytes / kLine;

size_t rounded(size_t bytes) {
  if (bytes == 0) return kLine;
  if (bytes > static_cast<size_t>(-1) - kLine) throw std::bad_alloc();
  return (bytes + kLine - 1) & ~(kLine - 1);
}

void* system_block(size_t bytes) {
  void* block = std::aligned_alloc(kLine, bytes);  // bytes is a multiple of kLine, as it must be
  if (!block) throw std::bad_alloc();
  return block;
}

#if TAPEGRAD_POOL_BLOCKS

struct FreeBlock {
  FreeBlock* next;
};

// Trivially destructible, so that it outlives every other thread_local and static object: one
// destroyed after the lists are emptied frees its blocks to the system (gone is then true).
struct FreeLists {
  std::array<FreeBlock*, kClasses> head;
  std::array<uint32_t, kClasses> count;
  bool gone;
};
thread_local FreeLists lists{};

// Empties the lists when the thread ends; registered on the thread's first pooled free.
struct ListsReleaser {
  bool armed = false;
  ~ListsReleaser() {
    for (size_t c = 0; c < kClasses; ++c)
      while (FreeBlock* b = lists.head[c]) {
        lists.head[c] = b->next;
        std::free(b);
      }
    lists.gone = true;
  }
};
thread_local ListsReleaser releaser;

#endif

}  // namespace

void* allocate_block(size_t bytes) {
  size_t size = rounded(bytes);
#if TAPEGRAD_POOL_BLOCKS
  if (size <= kPooledBytes) {
    size_t c = size / kLine - 1;
    if (FreeBlock* b = lists.head[c]) {
      lists.head[c] = b->next;
      --lists.count[c];
      return b;
    }
  }
#endif
  return system_block(size);
}

void free_block(void* block, size_t bytes) noexcept {
  if (!block) return;
#if TAPEGRAD_POOL_BLOCKS
  size_t size = bytes == 0 ? kLine : (bytes + kLine - 1) & ~(kLine - 1);
  if (size <= kPooledBytes && !lists.gone) {
    size_t c = size / kLine - 1;
    if (lists.count[c] < kBlocksPerClass) {
      if (!releaser.armed) releaser.armed = true;  // first use constructs it: freed at thread exit
      auto* b = static_cast<FreeBlock*>(block);
      b->next = lists.head[c];
      lists.head[c] = b;
      ++lists.count[c];
      return;
    }
  }
#else
  (void)bytes;
#endif
  std::free(block);
}

size_t pooled_blocks_held() noexcept {
  size_t held = 0;
#if TAPEGRAD_POOL_BLOCKS
  for (uint32_t n : lists.count) held += n;
#endif
  return held;
}

}  // namespace ad
