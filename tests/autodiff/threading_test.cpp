#include "tapegrad/autodiff/threading.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <functional>

#include "tapegrad/autodiff/ops.h"
#include "test_util.h"

using ad::Tensor;
using ad::Var;

TEST_CASE("set_num_threads decides num_threads and rejects a negative count") {
  int all = ad::num_threads();
  CHECK(all >= 1);
  ad::set_num_threads(1);
  CHECK(ad::num_threads() == 1);
  ad::set_num_threads(0);
  CHECK(ad::num_threads() == all);
  std::string message = test::error_of([] { ad::set_num_threads(-2); });
  CHECK(test::contains(message, "set_num_threads"));
  CHECK(test::contains(message, "-2"));
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
