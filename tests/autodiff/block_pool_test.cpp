#include <tapegrad/autodiff/block_pool.h>
#include <tapegrad/autodiff/ops.h>

#include <doctest/doctest.h>

#include <cstdint>
#include <cstring>
#include <thread>
#include <vector>

namespace {

bool aligned(const void* p) { return reinterpret_cast<uintptr_t>(p) % 64 == 0; }

}  // namespace

TEST_CASE("allocate_block: 64-byte aligned, writable blocks of every size, pooled or not") {
  std::vector<std::pair<void*, size_t>> blocks;
  for (size_t bytes : {size_t{0}, size_t{1}, size_t{63}, size_t{64}, size_t{65}, size_t{1000}, ad::kPooledBytes,
                       ad::kPooledBytes + 1, size_t{1} << 20}) {
    void* p = ad::allocate_block(bytes);
    REQUIRE(p != nullptr);
    CHECK(aligned(p));
    std::memset(p, 0xab, bytes);
    blocks.emplace_back(p, bytes);
  }
  for (auto [p, bytes] : blocks) ad::free_block(p, bytes);
  ad::free_block(nullptr, 64);  // like free(nullptr)
}

TEST_CASE("free_block: a freed small block is reused by the next allocation of its size class") {
  if (!ad::kBlocksPooled) return;  // sanitizer builds hand every block to the system
  void* p = ad::allocate_block(100);
  size_t held = ad::pooled_blocks_held();
  ad::free_block(p, 100);
  CHECK(ad::pooled_blocks_held() == held + 1);
  CHECK(ad::allocate_block(128) == p);  // 100 and 128 bytes are the same 64-byte class
  CHECK(ad::pooled_blocks_held() == held);
  ad::free_block(p, 128);
  void* large = ad::allocate_block(ad::kPooledBytes + 1);
  ad::free_block(large, ad::kPooledBytes + 1);
  CHECK(ad::pooled_blocks_held() == held + 1);  // larger blocks are not kept
}

TEST_CASE("free_block: a thread keeps at most kBlocksPerClass freed blocks of a class") {
  if (!ad::kBlocksPooled) return;
  // On a fresh thread, so that the count starts at zero and the lists are released at its end.
  size_t held_after = 0, held_at_start = 1;
  std::thread([&] {
    held_at_start = ad::pooled_blocks_held();
    std::vector<void*> blocks(ad::kBlocksPerClass + 100);
    for (void*& b : blocks) b = ad::allocate_block(256);
    for (void* b : blocks) ad::free_block(b, 256);
    held_after = ad::pooled_blocks_held();
  }).join();
  CHECK(held_at_start == 0);
  CHECK(held_after == ad::kBlocksPerClass);
}

TEST_CASE("free_block: a thread keeps at most kPooledBytesPerThread bytes of freed blocks") {
  if (!ad::kBlocksPooled) return;
  size_t held_bytes = 0, held_blocks = 0;
  std::thread([&] {
    std::vector<void*> blocks(2 * ad::kPooledBytesPerThread / ad::kPooledBytes);  // twice the budget
    for (void*& b : blocks) b = ad::allocate_block(ad::kPooledBytes);
    for (void* b : blocks) ad::free_block(b, ad::kPooledBytes);
    held_bytes = ad::pooled_bytes_held();
    held_blocks = ad::pooled_blocks_held();
  }).join();
  CHECK(held_bytes == ad::kPooledBytesPerThread);
  CHECK(held_blocks == ad::kPooledBytesPerThread / ad::kPooledBytes);
}

TEST_CASE("block pool: tensors and Vars made on one thread may be freed on another") {
  std::vector<ad::Var> made(200);
  std::thread([&] {
    for (size_t i = 0; i < made.size(); ++i)
      made[i] = ad::param(ad::Tensor::full({static_cast<int64_t>(i % 7 + 1), 3}, static_cast<float>(i)));
  }).join();
  for (size_t i = 0; i < made.size(); ++i) {
    CHECK(aligned(made[i].value().data()));
    CHECK(made[i].value()[0] == static_cast<float>(i));
  }
  made.clear();  // frees them here, into this thread's lists
  // Reused blocks come back whole: zeros() clears them, and an op's result is its own.
  ad::Tensor z = ad::Tensor::zeros({7, 3});
  for (float v : z.values()) CHECK(v == 0.f);
  ad::Var x = ad::constant(ad::Tensor::full({7, 3}, 2.f));
  ad::Var y = x * x + x;
  for (float v : y.value().values()) CHECK(v == 6.f);
}
