// Per-thread free lists of 64-byte size classes (see block_pool.h for why).
#include "tapegrad/autodiff/block_pool.h"

#include <array>
#include <cstdint>
#include <cstdlib>

namespace ad {

namespace {

constexpr size_t kLine = 64;

size_t rounded(size_t bytes) {
  if (bytes == 0) return kLine;
  if (bytes > static_cast<size_t>(-1) - 2 * kLine) throw std::bad_alloc();  // room for system_block's header
  return (bytes + kLine - 1) & ~(kLine - 1);
}

// malloc and align by hand, keeping malloc's pointer just before the block: aligned_alloc is
// several times slower than malloc for blocks of a few KiB (it splits a larger chunk).
void* system_block(size_t bytes) {
  void* raw = std::malloc(bytes + kLine);  // malloc's 16-byte alignment leaves 16 to 64 bytes in front
  if (!raw) throw std::bad_alloc();
  auto block = reinterpret_cast<void**>((reinterpret_cast<uintptr_t>(raw) + sizeof(void*) + kLine - 1) & ~(kLine - 1));
  block[-1] = raw;
  return block;
}

void free_system_block(void* block) { std::free(static_cast<void**>(block)[-1]); }

#if TAPEGRAD_POOL_BLOCKS

constexpr size_t kClasses = kPooledBytes / kLine;

struct FreeBlock {
  FreeBlock* next;
};

// Trivially destructible, so that it outlives every other thread_local and static object: one
// destroyed after the lists are emptied frees its blocks to the system (gone is then true).
struct FreeLists {
  std::array<FreeBlock*, kClasses> head;
  std::array<uint32_t, kClasses> count;
  size_t bytes;  // held over all classes
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
        free_system_block(b);
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
      lists.bytes -= size;
      return b;
    }
  }
#endif
  return system_block(size);
}

void free_block(void* block, size_t bytes) noexcept {
  if (!block) return;
#if TAPEGRAD_POOL_BLOCKS
  size_t size = rounded(bytes);  // cannot throw: the block was allocated
  if (size <= kPooledBytes && !lists.gone) {
    size_t c = size / kLine - 1;
    if (lists.count[c] < kBlocksPerClass && lists.bytes + size <= kPooledBytesPerThread) {
      if (!releaser.armed) releaser.armed = true;  // first use constructs it: freed at thread exit
      auto* b = static_cast<FreeBlock*>(block);
      b->next = lists.head[c];
      lists.head[c] = b;
      ++lists.count[c];
      lists.bytes += size;
      return;
    }
  }
#else
  (void)bytes;
#endif
  free_system_block(block);
}

size_t pooled_bytes_held() noexcept {
#if TAPEGRAD_POOL_BLOCKS
  return lists.bytes;
#else
  return 0;
#endif
}

size_t pooled_blocks_held() noexcept {
  size_t held = 0;
#if TAPEGRAD_POOL_BLOCKS
  for (uint32_t n : lists.count) held += n;
#endif
  return held;
}

}  // namespace ad
