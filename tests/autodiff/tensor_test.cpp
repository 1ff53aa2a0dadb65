#include "tapegrad/autodiff/tensor.h"

#include <doctest/doctest.h>

#include <cstdint>
#include <limits>
#include <type_traits>
#include <utility>

#include "tapegrad/autodiff/var.h"
#include "test_util.h"

using ad::Shape;
using ad::Tensor;
using test::contains;
using test::error_of;

TEST_CASE("tensors are created with the shape and values asked for") {
  SUBCASE("zeros, ones and full") {
    Tensor z = Tensor::zeros({2, 3}), o = Tensor::ones({4}), f = Tensor::full({2, 2}, -1.5f);
    CHECK(z.shape() == Shape{2, 3});
    CHECK(z.size() == 6);
    CHECK(o.size() == 4);
    for (float v : z.values()) CHECK(v == 0.f);
    for (float v : o.values()) CHECK(v == 1.f);
    for (float v : f.values()) CHECK(v == -1.5f);
  }
  SUBCASE("from values, row-major") {
    Tensor t = Tensor::from({2, 3}, {1, 2, 3, 4, 5, 6});
    CHECK(t.at({0, 2}) == 3.f);
    CHECK(t.at({1, 0}) == 4.f);
    CHECK(t.rows() == 2);
    CHECK(t.cols() == 3);
    CHECK(t.dim(-1) == 3);
  }
  SUBCASE("a scalar has rank 0 and one element") {
    Tensor s = Tensor::scalar(2.5f);
    CHECK(s.rank() == 0);
    CHECK(s.size() == 1);
    CHECK(s.item() == 2.5f);
    CHECK(s.at({}) == 2.5f);
  }
  SUBCASE("storage is 64-byte aligned") {
    for (int64_t n : {1, 3, 17, 1000}) {
      Tensor t = Tensor::empty({n});
      CHECK(reinterpret_cast<uintptr_t>(t.data()) % 64 == 0);
    }
  }
}

TEST_CASE("from() rejects a value count that does not match the shape") {
  std::string message = error_of([] { Tensor::from({2, 3}, {1, 2, 3}); });
  CHECK(contains(message, "Tensor::from"));
  CHECK(contains(message, "[2,3]"));
  CHECK(contains(message, "needs 6 values, got 3"));
}

TEST_CASE("copies of a tensor handle share storage and clone() does not") {
  Tensor a = Tensor::zeros({2, 2});
  Tensor b = a;
  b.at({1, 1}) = 7.f;
  CHECK(a.at({1, 1}) == 7.f);
  CHECK(a.shares_storage_with(b));
  Tensor c = a.clone();
  CHECK_FALSE(c.shares_storage_with(a));
  CHECK(c.sole_owner());
  CHECK_FALSE(a.sole_owner());
  CHECK_FALSE(Tensor::zeros({4, 1}).rows(1, 2).sole_owner());  // a view does not see all of it
  c.at({0, 0}) = 3.f;
  CHECK(a.at({0, 0}) == 0.f);
  CHECK(c.at({1, 1}) == 7.f);
}

TEST_CASE("rows() is a view of the same storage without copying") {
  Tensor x = Tensor::from({4, 2}, {0, 1, 2, 3, 4, 5, 6, 7});
  Tensor middle = x.rows(1, 3);
  CHECK(middle.shape() == Shape{2, 2});
  CHECK(middle.data() == x.data() + 2);
  CHECK(middle.shares_storage_with(x));
  CHECK(middle.at({0, 0}) == 2.f);
  middle.at({1, 1}) = -5.f;
  CHECK(x.at({2, 1}) == -5.f);
  CHECK(x.rows(4, 4).size() == 0);
  SUBCASE("a range outside the tensor is an error naming the range and the shape") {
    std::string message = error_of([&] { x.rows(2, 5); });
    CHECK(contains(message, "Tensor::rows"));
    CHECK(contains(message, "[2,5)"));
    CHECK(contains(message, "[4,2]"));
    CHECK(contains(error_of([&] { x.rows(3, 1); }), "[3,1)"));
  }
  SUBCASE("a scalar has no rows") { CHECK(contains(error_of([] { Tensor::scalar(1).rows(0, 1); }), "scalar")); }
}

TEST_CASE("reshape keeps the data and infers one -1 dimension") {
  Tensor x = Tensor::from({2, 3}, {1, 2, 3, 4, 5, 6});
  Tensor y = x.reshape({3, 2});
  CHECK(y.shares_storage_with(x));
  CHECK(y.at({2, 1}) == 6.f);
  CHECK(x.reshape({-1}).shape() == Shape{6});
  CHECK(x.reshape({3, -1}).shape() == Shape{3, 2});
  SUBCASE("a size mismatch names both shapes") {
    std::string message = error_of([&] { x.reshape({4, 2}); });
    CHECK(contains(message, "reshape"));
    CHECK(contains(message, "[4,2]"));
    CHECK(contains(message, "[2,3]"));
  }
  SUBCASE("two -1 or an impossible -1 are errors") {
    CHECK(contains(error_of([&] { x.reshape({-1, -1}); }), "more than one -1"));
    CHECK(contains(error_of([&] { x.reshape({4, -1}); }), "cannot infer -1"));
    CHECK(contains(error_of([&] { x.reshape({-2, 3}); }), "negative dimension"));
  }
}

TEST_CASE("at() checks the rank and every index against the shape") {
  Tensor x = Tensor::zeros({2, 3});
  std::string message = error_of([&] { x.at({1, 3}); });
  CHECK(contains(message, "Tensor::at"));
  CHECK(contains(message, "index 3"));
  CHECK(contains(message, "axis 1"));
  CHECK(contains(message, "[2,3]"));
  CHECK(contains(error_of([&] { x.at({-1, 0}); }), "index -1"));
  CHECK(contains(error_of([&] { x.at({0}); }), "index of rank 1 for shape [2,3]"));
  const Tensor& cx = x;
  CHECK(contains(error_of([&] { (void)cx.at({2, 0}); }), "index 2"));
  CHECK(contains(error_of([&] { (void)x.item(); }), "exactly one element"));
  CHECK(contains(error_of([&] { (void)x.dim(2); }), "axis 2 out of range"));
}

TEST_CASE("element counts are checked for negative dimensions and overflow") {
  CHECK(ad::element_count({3, 4, 5}) == 60);
  CHECK(ad::element_count({}) == 1);
  constexpr int64_t big = int64_t{1} << 40;
  std::string message = error_of([] { ad::element_count({big, big}); });
  CHECK(contains(message, "overflows"));
  CHECK(contains(message, fmt::format("[{},{}]", big, big)));
  CHECK(contains(error_of([] { Tensor::zeros({big, big}); }), "overflows"));
  CHECK(contains(error_of([] { Tensor::zeros({2, -3}); }), "negative dimension in shape [2,-3]"));
  CHECK(ad::element_count({big, big, 0}) == 0);  // a zero dimension wins over an overflow
  // Fits int64 but not memory: an error, not a crash.
  CHECK(contains(error_of([] { Tensor::empty({std::numeric_limits<int64_t>::max() / 2}); }), "Tensor"));
}

TEST_CASE("count arithmetic throws on overflow and on negative counts") {
  constexpr int64_t max = std::numeric_limits<int64_t>::max();
  CHECK(ad::add_counts(max - 1, 1, "sum") == max);
  CHECK(ad::multiply_counts(int64_t{1} << 31, int64_t{1} << 31, "product") == int64_t{1} << 62);
  CHECK(ad::multiply_counts(0, max, "product") == 0);
  CHECK(error_of([] { ad::add_counts(max, 1, "summary"); }) ==
        fmt::format("summary: the count {} + 1 overflows int64", max));
  CHECK(error_of([] { ad::multiply_counts(int64_t{1} << 32, int64_t{1} << 31, "rows"); }) ==
        "rows: the count 4294967296 * 2147483648 overflows int64");
  CHECK(error_of([] { ad::add_counts(-1, 1, "sum"); }) == "sum: negative count in -1 + 1");
  CHECK(error_of([] { ad::multiply_counts(3, -2, "product"); }) == "product: negative count in 3 * -2");
}

TEST_CASE("a zero first dimension does not hide an overflowing row size") {
  constexpr int64_t big = int64_t{1} << 40;
  Tensor empty = Tensor::zeros({0, big, big});
  CHECK(empty.size() == 0);
  CHECK(contains(error_of([&] { (void)empty.rows(0, 0); }), "overflows"));
}

namespace {
// Whether values()/data() can be called on a T (an lvalue for T&, a temporary for T).
template <typename T>
concept has_values = requires(T&& t) { std::forward<T>(t).values(); };
template <typename T>
concept has_data = requires(T&& t) { std::forward<T>(t).data(); };
}  // namespace

TEST_CASE("views of a temporary tensor's storage do not compile; its shape is a copy") {
  static_assert(has_values<Tensor&> && has_values<const Tensor&>);
  static_assert(!has_values<Tensor> && !has_values<const Tensor>);
  static_assert(has_data<Tensor&> && has_data<const Tensor&>);
  static_assert(!has_data<Tensor> && !has_data<const Tensor>);
  static_assert(std::is_same_v<decltype(Tensor::zeros({2}).shape()), Shape>);
  static_assert(std::is_same_v<decltype(std::declval<Tensor&>().shape()), const Shape&>);
  static_assert(std::is_same_v<decltype(ad::Var(Tensor::zeros({2})).value()), Tensor>);
  // The shape of a temporary outlives it.
  Shape shape;
  for (int64_t d : Tensor::zeros({2, 5}).shape()) shape.push_back(d);
  CHECK(shape == Shape{2, 5});
}

TEST_CASE("zero-size dimensions give empty tensors that every operation accepts") {
  Tensor e = Tensor::zeros({0, 5});
  CHECK(e.size() == 0);
  CHECK(e.empty_size());
  CHECK(e.clone().shape() == Shape{0, 5});
  CHECK(e.reshape({5, 0}).shape() == Shape{5, 0});
  CHECK(e.rows(0, 0).size() == 0);
  e.fill(3.f);
  Tensor f = Tensor::zeros({3, 0});
  CHECK(f.rows(1, 2).shape() == Shape{1, 0});
  CHECK(fmt::format("{}", f) == "Tensor[3,0] [[], [], []]");
  CHECK(fmt::format("{}", Tensor()) == "Tensor[0] []");
  Tensor d;  // a default tensor is rank 1 with no elements, and behaves like zeros({0})
  CHECK(d.shape() == Shape{0});
  CHECK(d.rank() == 1);
  CHECK(d.rows(0, 0).shape() == Shape{0});
  CHECK(d.reshape({0, 3}).shape() == Shape{0, 3});
  CHECK(d.clone().shape() == Shape{0});
  CHECK(ad::same_shape(d, Tensor::zeros({0})));
  CHECK(contains(error_of([&] { f.reshape({-1, 0}); }), "cannot infer"));
}

TEST_CASE("fmt prints the shape and the values, eliding the middle of long axes") {
  CHECK(fmt::format("{}", Tensor::from({2, 2}, {1, 2, 3, 4.5f})) == "Tensor[2,2] [[1, 2], [3, 4.5]]");
  CHECK(fmt::format("{}", Tensor::scalar(0.25f)) == "Tensor[] 0.25");
  Tensor longer = Tensor::from({8}, {0, 1, 2, 3, 4, 5, 6, 7});
  CHECK(fmt::format("{}", longer) == "Tensor[8] [0, 1, 2, ..., 5, 6, 7]");
  CHECK(ad::to_string({32, 784}) == "[32,784]");
  CHECK(ad::to_string({}) == "[]");
}

TEST_CASE("uniform and normal are deterministic per seed and respect their parameters") {
  Tensor a = test::random({1000}, -2, 3, 42), b = test::random({1000}, -2, 3, 42), c = test::random({1000}, -2, 3, 43);
  CHECK(ad::max_abs_difference(a, b) == 0.f);
  CHECK(ad::max_abs_difference(a, c) > 0.f);
  double sum = 0;
  for (float v : a.values()) {
    CHECK(v >= -2.f);
    CHECK(v < 3.f);
    sum += v;
  }
  CHECK(sum / 1000 == doctest::Approx(0.5).epsilon(0.1));
  ad::Rng r1(5), r2(5);
  Tensor n1 = Tensor::normal({4000}, 1.f, 2.f, r1), n2 = Tensor::normal({4000}, 1.f, 2.f, r2);
  CHECK(ad::max_abs_difference(n1, n2) == 0.f);
  double mean = 0, square = 0;
  for (float v : n1.values()) mean += v / 4000.0;
  for (float v : n1.values()) square += (v - mean) * (v - mean) / 4000.0;
  CHECK(mean == doctest::Approx(1.0).epsilon(0.1));
  CHECK(std::sqrt(square) == doctest::Approx(2.0).epsilon(0.1));
  CHECK(contains(error_of([&] { Tensor::uniform({2}, 1, 0, r1); }), "low 1 is above high 0"));
  CHECK(contains(error_of([&] { Tensor::normal({2}, 0, -1, r1); }), "negative standard deviation -1"));
}

TEST_CASE("assign copies values into existing storage and checks shapes") {
  Tensor a = Tensor::zeros({2, 2});
  Tensor view = a;
  a.assign(Tensor::ones({2, 2}));
  CHECK(view.at({1, 0}) == 1.f);
  std::string message = error_of([&] { a.assign(Tensor::ones({4})); });
  CHECK(contains(message, "Tensor::assign"));
  CHECK(contains(message, "[2,2] and [4]"));
  CHECK(ad::max_abs_difference(Tensor::from({2}, {1, 2}), Tensor::from({2}, {1.5f, 0})) == 2.f);
  CHECK(contains(error_of([] { ad::max_abs_difference(Tensor::zeros({2}), Tensor::zeros({3})); }), "[2] and [3]"));
}
