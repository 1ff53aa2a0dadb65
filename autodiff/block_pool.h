/// @file
/// Memory blocks for the eager tape's per-op objects: Var states, tensor storage and the
/// reference counts that share them. Every block is 64-byte aligned (a cache line, and the
/// alignment AVX-512 loads want).
///
/// @code
/// #include <tapegrad/autodiff/block_pool.h>
/// void* block = ad::allocate_block(100);  // 128 bytes, from this thread's list when it has one
/// ad::free_block(block, 100);             // back on the list, for the next block of its class
/// auto state = std::allocate_shared<int>(ad::BlockAllocator<int>{}, 7);  // a count and value in one block
/// @endcode
///
/// A chain of small ops allocates several blocks per op and frees them all at Tape::clear().
/// malloc's per-thread cache keeps only 7 freed blocks per size, so such bulk frees spill into
/// its slower bins, and malloc and free became most of a small op's cost. Worse, once the small
/// blocks left malloc's heap, the bulk free of a chain's tensors of a few KiB let the heap
/// shrink back to the system, and the next step paid a page fault for every 4 KiB again. Here
/// each thread keeps its own free list per 64-byte size class up to kPooledBytes, of at most
/// kBlocksPerClass blocks each and kPooledBytesPerThread bytes in all; larger blocks, and blocks
/// beyond those bounds, go to the system allocator.
/// Built with AddressSanitizer or ThreadSanitizer, every block goes to the system allocator so
/// that use after free is still caught.
///
/// A block may be freed on another thread than the one that allocated it (it joins that
/// thread's list).
#pragma once
#include <cstddef>
#include <memory>
#include <new>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define TAPEGRAD_POOL_BLOCKS 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define TAPEGRAD_POOL_BLOCKS 0
#endif
#endif
#ifndef TAPEGRAD_POOL_BLOCKS
/// 1 when freed blocks are kept for reuse; 0 in sanitizer builds (see the file's description).
#define TAPEGRAD_POOL_BLOCKS 1
#endif

namespace ad {

/// Whether this build keeps freed blocks for reuse (false in sanitizer builds).
inline constexpr bool kBlocksPooled = TAPEGRAD_POOL_BLOCKS != 0;

/// Blocks of at most this many bytes (a 64x64 tensor) are kept for reuse.
inline constexpr size_t kPooledBytes = 16384;
/// Freed blocks kept per size class and thread.
inline constexpr size_t kBlocksPerClass = 4096;
/// Bytes of freed blocks a thread keeps over all classes (bounds the memory it holds on to).
inline constexpr size_t kPooledBytesPerThread = size_t{16} << 20;

/// A 64-byte aligned block of at least `bytes` bytes (1 when 0); throws std::bad_alloc when
/// the system has no memory for it.
void* allocate_block(size_t bytes);
/// Returns a block from allocate_block(); `bytes` must be the size it was asked for.
void free_block(void* block, size_t bytes) noexcept;

/// The number of freed blocks the calling thread holds for reuse, over all size classes.
size_t pooled_blocks_held() noexcept;
/// Their size in bytes (at most kPooledBytesPerThread).
size_t pooled_bytes_held() noexcept;

/// A standard allocator over allocate_block(), for std::allocate_shared and the reference
/// counts of shared storage.
template <typename T>
struct BlockAllocator {
  using value_type = T;  ///< what allocate() returns room for
  BlockAllocator() = default;
  /// Rebinding (the control blocks of shared pointers are allocated as another type).
  template <typename U>
  BlockAllocator(const BlockAllocator<U>&) noexcept {}
  /// Room for n objects of T.
  T* allocate(size_t n) {
    if (n > static_cast<size_t>(-1) / sizeof(T)) throw std::bad_alloc();
    return static_cast<T*>(allocate_block(n * sizeof(T)));
  }
  /// Gives back what allocate(n) returned.
  void deallocate(T* p, size_t n) noexcept { free_block(p, n * sizeof(T)); }
  /// Stateless: any two allocators can free each other's blocks.
  template <typename U>
  bool operator==(const BlockAllocator<U>&) const noexcept {
    return true;
  }
};

}  // namespace ad
