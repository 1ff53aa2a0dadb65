#include <doctest/doctest.h>

#include "tapegrad/nn/layers/all.h"

namespace {
using ad::Tensor;
}

TEST_CASE("Flatten turns [n, 28, 28] into [n, 784] and keeps the values in row-major order") {
  nn::Flatten flatten({2, 3});
  Tensor x = Tensor::from({1, 2, 3}, {1, 2, 3, 4, 5, 6});
  ad::Var y = flatten(ad::constant(x));
  CHECK(y.shape() == ad::Shape{1, 6});
  CHECK(y.value().to_vector() == x.to_vector());
  CHECK(flatten.output_shape({28, 28}) == ad::Shape{784});
  CHECK_THROWS_WITH_AS(flatten(ad::constant(Tensor::zeros({1, 3, 2}))), doctest::Contains("shape [2,3] per sample"),
                       ad::Error);
}

TEST_CASE("InputLayer passes inputs through and checks their shape") {
  nn::InputLayer input({4});
  Tensor x = Tensor::ones({2, 4});
  CHECK(input(ad::constant(x)).value().to_vector() == x.to_vector());
  nn::InputLayer other({4});
  CHECK_THROWS_WITH_AS(other(ad::constant(Tensor::ones({2, 3}))),
                       doctest::Contains("declared input_shape [4] but the input has shape [3] per sample"), ad::Error);
  CHECK_THROWS_WITH_AS(nn::InputLayer({}), doctest::Contains("at least one dimension"), ad::Error);
}

TEST_CASE("Activation applies its function and reports it as the output activation") {
  nn::Activation softmax("softmax");
  ad::Var y = softmax(ad::constant(Tensor::from({1, 2}, {0, 0})));
  CHECK(y.value()[0] == doctest::Approx(0.5));
  CHECK(softmax.output_activation() == "softmax");
  CHECK(softmax.call_pre_activation(ad::constant(Tensor::from({1, 2}, {3, 0}))).value()[0] == 3.f);
}

TEST_CASE("every layer type round-trips through layer_from_config, and unknown types are named") {
  std::vector<nn::LayerPtr> layers = {std::make_shared<nn::Flatten>(ad::Shape{28, 28}), std::make_shared<nn::Flatten>(),
                                      std::make_shared<nn::InputLayer>(ad::Shape{8}),
                                      std::make_shared<nn::Activation>("tanh")};
  for (const nn::LayerPtr& l : layers) {
    l->set_name("x");
    CAPTURE(l->get_config().dump());
    CHECK(nn::layer_from_config(l->get_config())->get_config() == l->get_config());
  }
  CHECK_THROWS_WITH_AS(nn::layer_from_config({{"type", "Conv2D"}}),
                       doctest::Contains("unknown layer type 'Conv2D'; known: Activation, Dense, Flatten, InputLayer"),
                       ad::Error);
  CHECK_THROWS_WITH_AS(nn::layer_from_config({{"type", "Dense"}, {"units", "many"}}),
                       doctest::Contains("Dense config: field 'units' must be an integer"), ad::Error);
  CHECK_THROWS_WITH_AS(nn::layer_from_config(nn::Json::array()), doctest::Contains("must be a JSON object"), ad::Error);
}
