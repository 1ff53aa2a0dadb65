#include <doctest/doctest.h>

#include "tapegrad/nn/layers/dense.h"

namespace {
using ad::Tensor;
}

TEST_CASE("Dense builds kernel and bias on its first input and computes activation(x W + b)") {
  nn::Dense dense(2, "relu");
  CHECK_FALSE(dense.built());
  CHECK(dense.weights().empty());
  ad::Var y = dense(ad::constant(Tensor::from({1, 3}, {1, 2, 3})));
  REQUIRE(dense.built());
  CHECK(dense.input_shape() == ad::Shape{3});
  CHECK(dense.kernel().shape() == ad::Shape{3, 2});
  CHECK(dense.bias().shape() == ad::Shape{2});
  CHECK(dense.weight_names() == std::vector<std::string>{"kernel", "bias"});
  dense.kernel().value().assign(Tensor::from({3, 2}, {1, -1, 1, -1, 1, -1}));
  dense.bias().value().assign(Tensor::from({2}, {0.5f, 0.5f}));
  y = dense(ad::constant(Tensor::from({1, 3}, {1, 2, 3})));
  CHECK(y.value()[0] == doctest::Approx(6.5));
  CHECK(y.value()[1] == 0.f);  // relu(-5.5)
  CHECK(dense.call_pre_activation(ad::constant(Tensor::from({1, 3}, {1, 2, 3}))).value()[1] == doctest::Approx(-5.5));
  CHECK(dense.parameter_count() == 8);
}

TEST_CASE("Dense without bias has only a kernel") {
  nn::Dense dense(4, {.use_bias = false});
  ad::Rng rng(1);
  dense.build({5}, rng);
  CHECK(dense.weights().size() == 1);
  CHECK(dense.parameter_count() == 20);
  CHECK(dense.parameter_count_for({5}) == 20);
}

TEST_CASE("Dense names its shape errors") {
  nn::Dense dense(2);
  dense.set_name("dense_7");
  ad::Rng rng(1);
  CHECK_THROWS_WITH_AS(dense.build({28, 28}, rng), doctest::Contains("Dense 'dense_7': needs inputs of shape [features] per sample (add a Flatten first), got [28,28]"),
                       ad::Error);
  dense.build({4}, rng);
  CHECK_THROWS_WITH_AS(dense(ad::constant(Tensor::zeros({2, 5}))),
                       doctest::Contains("Dense 'dense_7': built for inputs of shape [4] per sample, got a batch of shape [2,5]"),
                       ad::Error);
  CHECK_THROWS_WITH_AS(nn::Dense(0), doctest::Contains("units must be positive, got 0"), ad::Error);
  CHECK_THROWS_WITH_AS(nn::Dense(3, "swish"), doctest::Contains("unknown activation 'swish'"), ad::Error);
  CHECK_THROWS_WITH_AS(nn::Dense(3, "relu", "xavier"), doctest::Contains("unknown initializer 'xavier'"), ad::Error);
}

TEST_CASE("Dense's config round-trips through layer_from_config") {
  nn::Dense dense(7, {.activation = "logistic", .use_bias = false, .kernel_initializer = "he_normal",
                      .input_shape = {3}});
  dense.set_name("out");
  nn::Json config = dense.get_config();
  CHECK(config["type"] == "Dense");
  CHECK(config["activation"] == "sigmoid");
  CHECK(config["units"] == 7);
  CHECK(config["input_shape"] == nn::Json::array({3}));
  nn::LayerPtr again = nn::layer_from_config(config);
  CHECK(again->get_config() == config);
  CHECK(again->name() == "out");
}

TEST_CASE("Dense weight shapes and parameter counts are known before building, and huge ones are checked") {
  nn::Dense dense(300, "relu");
  CHECK(dense.weight_shapes_for({784}) == std::vector<ad::Shape>{{784, 300}, {300}});
  CHECK(dense.parameter_count_for({784}) == 784 * 300 + 300);
  CHECK(nn::Dense(3, {.use_bias = false}).weight_shapes_for({2}) == std::vector<ad::Shape>{{2, 3}});
  CHECK_FALSE(dense.built());

  const int64_t big = int64_t{1} << 40;
  CHECK(nn::Dense(big).parameter_count_for({1 << 20}) == (int64_t{1} << 60) + big);
  // [2^40, 2^40] overflows int64: the library's error, naming the layer and the input shape.
  CHECK_THROWS_WITH_AS(nn::Dense(big).parameter_count_for({big}),
                       doctest::Contains("Dense '' parameter count for inputs [1099511627776]: element count of "
                                         "shape [1099511627776,1099511627776] overflows"),
                       ad::Error);
  // The kernel fits int64 but kernel + bias does not.
  const int64_t units = INT64_MAX / 2;
  CHECK_THROWS_WITH_AS(nn::Dense(units).parameter_count_for({2}), doctest::Contains("overflows int64"), ad::Error);
}
