#include "tapegrad/autodiff/threading.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <map>
#include <set>
#include <thread>
#include <cmath>
#include <functional>

#include "tapegrad/autodiff/ops.h"
#include "test_util.h"

using ad::Tensor;
using ad::Var;

TEST_CASE("set_num_threads decides num_threads and rejects a negative or huge count") {
  int all = ad::num_threads();
  CHECK(all >= 1);
  ad::set_num_threads(1);
  CHECK(ad::num_threads() == 1);
  // More than the cores is allowed (TBB may report a lower ceiling of its own).
  CHECK_NOTHROW(ad::set_num_threads(ad::kMaxThreads));
  CHECK(ad::num_threads() > 1);
  ad::set_num_threads(0);
  CHECK(ad::num_threads() == all);
  for (int bad : {-2, ad::kMaxThreads + 1, 10'000'000, 1 << 30}) {
    CAPTURE(bad);
    std::string message = test::error_of([bad] { ad::set_num_threads(bad); });
    CHECK(test::contains(message, "set_num_threads: thread count must be in [0, 4096]"));
    CHECK(test::contains(message, std::to_string(bad)));
    CHECK(ad::num_threads() == all);
  }
}

TEST_CASE("set_num_threads called from several threads at once leaves a valid setting") {
  // The setting is one global object: unguarded, concurrent calls replaced it at the same time
  // and corrupted the heap (an abort within 200,000 calls per thread).
  int all = ad::num_threads();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([t] {
      for (int i = 0; i < 20000; ++i) ad::set_num_threads(1 + (i + t) % 4);
    });
  for (std::thread& t : threads) t.join();
  CHECK(ad::num_threads() >= 1);
  CHECK(ad::num_threads() <= 4);
  ad::set_num_threads(0);
  CHECK(ad::num_threads() == all);
}

TEST_CASE("parallel_range and parallel_rows visit every index exactly once") {
  for (int64_t n : {int64_t{0}, int64_t{5}, ad::kParallelThreshold - 1, ad::kParallelThreshold * 3 + 7}) {
    std::vector<int> visits(static_cast<size_t>(n), 0);
    ad::parallel_range(n, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) ++visits[size_t(i)];
    });
    CHECK(std::count(visits.begin(), visits.end(), 1) == n);
    std::vector<int> rows(static_cast<size_t>(n / 3 + 1), 0);
    ad::parallel_rows(static_cast<int64_t>(rows.size()), 3, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) ++rows[size_t(i)];
    });
    CHECK(std::count(rows.begin(), rows.end(), 1) == static_cast<int64_t>(rows.size()));
  }
}

TEST_CASE("parallel_blocks visits every index once, in the same blocks of whole cache lines every call") {
  ad::set_num_threads(2);
  for (int64_t n : {int64_t{0}, int64_t{5}, int64_t{31}, int64_t{32}, int64_t{4095}, int64_t{100003}}) {
    CAPTURE(n);
    std::vector<int> visits(static_cast<size_t>(n), 0);
    std::mutex lock;
    std::map<int64_t, int64_t> blocks;  // begin -> end of the first call's blocks
    for (int call = 0; call < 20; ++call) {
      std::map<int64_t, int64_t> seen;
      ad::parallel_blocks(n, 32, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) ++visits[size_t(i)];
        std::lock_guard<std::mutex> guard(lock);
        seen[b] = e;
        if (b % 16 != 0 || (e % 16 != 0 && e != n)) FAIL_CHECK("block [" << b << ", " << e << ") splits a cache line");
      });
      if (call == 0) blocks = seen;
      CHECK(seen == blocks);
    }
    CHECK(std::count(visits.begin(), visits.end(), 20) == n);
    if (n >= 100000) CHECK(blocks.size() == 2);  // one block per thread
    if (n < 32) CHECK(blocks.size() <= 1);       // below the threshold: one call
  }
  ad::set_num_threads(0);
}

TEST_CASE("under a SerialScope the parallel loops run on the calling thread alone") {
  ad::set_num_threads(2);
  const int64_t n = ad::kParallelThreshold * 16;
  std::set<std::thread::id> threads;
  std::vector<std::pair<int64_t, int64_t>> calls;
  std::mutex lock;
  auto record = [&](int64_t b, int64_t e) {
    std::lock_guard<std::mutex> guard(lock);
    threads.insert(std::this_thread::get_id());
    calls.emplace_back(b, e);
  };
  {
    ad::SerialScope serial;
    ad::parallel_range(n, record);
    ad::parallel_rows(n / 16, 16, record);
    ad::parallel_blocks(n, 32, record);
  }
  // One call each, over the whole range, on this thread.
  using Calls = std::vector<std::pair<int64_t, int64_t>>;
  CHECK(calls == Calls{{0, n}, {0, n / 16}, {0, n}});
  CHECK(threads == std::set<std::thread::id>{std::this_thread::get_id()});
  // After the scope the loop splits again: one block per thread (whichever threads run them).
  calls.clear();
  ad::parallel_blocks(n, 32, record);
  CHECK(calls.size() == 2);
  ad::set_num_threads(0);
}

TEST_CASE("element-wise ops above the parallel threshold give the results of small ones") {
  // A tensor of [rows, 40] large enough to be split across threads, compared row by row with
  // the same op on one-row slices (which run on the calling thread): values and gradients.
  const int64_t rows = 2 * ad::kParallelThreshold / 40 + 13;
  struct Case {
    const char* name;
    std::function<Var(const Var&, const Var&)> op;  // (x [rows,40] or [1,40], bias [40])
  };
  const Case cases[] = {
      {"tanh", [](const Var& x, const Var&) { return ad::tanh(x); }},
      {"relu of a product", [](const Var& x, const Var&) { return ad::relu(x * x - 0.25f); }},
      {"bias add", [](const Var& x, const Var& b) { return x + b; }},
      {"division by a bias", [](const Var& x, const Var& b) { return x / (b + 2.f); }},
      {"softmax", [](const Var& x, const Var&) { return ad::softmax(x); }},
      {"log_softmax", [](const Var& x, const Var&) { return ad::log_softmax(x); }},
      {"sum along rows, keepdims", [](const Var& x, const Var&) { return ad::sum(x, 1, true); }},
      {"maximum with a bias", [](const Var& x, const Var& b) { return ad::maximum(x, b); }},
  };
  ad::set_num_threads(0);
  Tensor x = test::random({rows, 40}, -1, 1, 9), bias = test::random({40}, -1, 1, 10);
  for (const Case& c : cases) {
    INFO(c.name);
    ad::Tape tape;
    Var big = ad::param(x.clone()), b = ad::constant(bias);
    Var out = c.op(big, b);
    Tensor weights = test::random(out.shape(), -1, 1, 11);
    ad::sum(out * ad::constant(weights)).backward();
    for (int64_t r = 0; r < rows; r += 97) {
      Var small = ad::param(x.rows(r, r + 1).clone());
      Var small_out = c.op(small, b);
      ad::sum(small_out * ad::constant(weights.rows(r, r + 1))).backward();
      REQUIRE(ad::max_abs_difference(small_out.value(), out.value().rows(r, r + 1)) == 0.f);
      REQUIRE(ad::max_abs_difference(small.grad(), big.grad().rows(r, r + 1)) == 0.f);
    }
  }
}

namespace {

// 2^-130: a subnormal float; with denormals-are-zero an operation reads it as 0.
const float kSubnormal = std::ldexp(1.f, -130);

// Restores the default (flush on) when a case ends, even on a failed check.
struct FlushSetting {
  explicit FlushSetting(bool on) { ad::set_flush_denormals(on); }
  ~FlushSetting() { ad::set_flush_denormals(true); }
};

}  // namespace

TEST_CASE("the library's loops run with flush-to-zero and denormals-are-zero on the caller and on TBB workers") {
#if defined(__x86_64__) || defined(__i386__)
  REQUIRE(ad::flush_denormals());  // the default
  bool caller_before = ad::denormals_flushed_here();
  std::thread::id caller = std::this_thread::get_id();
  // Chunks long enough (a spin of 1 us per 1,000 elements) that the workers take some of them;
  // each records its thread and that thread's flags. On a loaded host a worker may get no turn
  // in one loop, so the loops are repeated (at most 200 times) until one has had some.
  std::mutex mutex;
  std::set<std::thread::id> threads;
  std::atomic<int> flushed{0}, kept{0}, on_caller{0};
  auto chunk = [&](int64_t begin, int64_t end) {
    auto until = std::chrono::steady_clock::now() + std::chrono::nanoseconds(end - begin);
    while (std::chrono::steady_clock::now() < until) {
    }
    (ad::denormals_flushed_here() ? flushed : kept)++;
    if (std::this_thread::get_id() == caller) ++on_caller;
    std::lock_guard lock(mutex);
    threads.insert(std::this_thread::get_id());
  };
  for (int attempt = 0; attempt < 200 && threads.size() < 2; ++attempt) ad::parallel_range(ad::kParallelThreshold * 16, chunk);
  CHECK(flushed > 0);
  CHECK(kept == 0);
  CHECK(on_caller > 0);
  if (ad::num_threads() >= 2) CHECK(threads.size() >= 2);  // the workers ran chunks too
  // The same for plain TBB loops inside a library task (oneDNN's loops inside a matmul).
  flushed = kept = 0;
  threads.clear();
  int loops = 0;
  for (; loops < 200 && threads.size() < 2; ++loops)
    ad::run_computation([&] { tbb::parallel_for(int64_t{0}, int64_t{64}, [&](int64_t) { chunk(0, 8192); }); });
  CHECK(flushed == 64 * loops);
  CHECK(kept == 0);
  if (ad::num_threads() >= 2) CHECK(threads.size() >= 2);
  // The caller's own flags are its own again after the call.
  CHECK(ad::denormals_flushed_here() == caller_before);
  {
    FlushSetting off(false);
    flushed = kept = 0;
    ad::parallel_range(ad::kParallelThreshold * 16, chunk);
    if (!caller_before) CHECK(kept > 0);  // left as they were
  }
#else
  CHECK_FALSE(ad::denormals_flushed_here());
#endif
}

// A value check, not a timing one: with the setting on, a subnormal input is read as 0 and a
// subnormal result becomes 0; off, both survive, as IEEE arithmetic gives them.
TEST_CASE("a subnormal input to an op is flushed to zero, unless the setting is off") {
#if defined(__x86_64__) || defined(__i386__)
  Tensor small = Tensor::full({4}, kSubnormal);
  Tensor large = Tensor::full({ad::kParallelThreshold * 4}, kSubnormal);
  auto times_one = [](const Tensor& t) { return (ad::constant(t) * 1.f).value(); };
  auto halved = [](const Tensor& t) { return (ad::constant(t) * 0.5f).value(); };
  for (const Tensor& t : {small, large}) {
    CAPTURE(t.size());
    {
      FlushSetting on(true);
      CHECK(times_one(t)[0] == 0.f);                                // DAZ: read as 0
      CHECK(times_one(t)[t.size() - 1] == 0.f);
      CHECK(halved(Tensor::full(t.shape(), 2 * std::ldexp(1.f, -126)))[t.size() - 1] == std::ldexp(1.f, -126));
      CHECK(halved(Tensor::full(t.shape(), std::ldexp(1.f, -126)))[t.size() - 1] == 0.f);  // FTZ
    }
    {
      FlushSetting off(false);
      CHECK(times_one(t)[t.size() - 1] == kSubnormal);
      CHECK(halved(Tensor::full(t.shape(), std::ldexp(1.f, -126)))[t.size() - 1] == std::ldexp(1.f, -127));
    }
  }
  // Through oneDNN: a matmul of subnormals by ones sums 128 zeros (about 3e-37 without DAZ).
  Tensor a = Tensor::full({64, 128}, kSubnormal), b = Tensor::ones({128, 64});
  CHECK(ad::matmul(ad::constant(a), ad::constant(b)).value()[0] == 0.f);
  {
    FlushSetting off(false);
    CHECK(ad::matmul(ad::constant(a), ad::constant(b)).value()[0] == doctest::Approx(128 * double(kSubnormal)));
  }
#endif
}
