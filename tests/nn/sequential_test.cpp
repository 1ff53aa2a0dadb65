#include <doctest/doctest.h>

#include "nn/layers/all.h"
#include "nn/optimizers/sgd.h"
#include "nn/sequential.h"

namespace {
nn::Sequential fashion_model() {
  return nn::Sequential({nn::Flatten({28, 28}), nn::Dense(300, "relu"), nn::Dense(100, "relu"),
                         nn::Dense(10, "softmax")});
}
}  // namespace

TEST_CASE("summary of the Fashion MNIST model is Keras' table with 266,610 parameters") {
  // Keras 2's layout: 65 columns, fields ending at 29, 55 and 65, a blank line after each row.
  const std::string expected =
      "Model: \"sequential\"\n"
      "_________________________________________________________________\n"
      " Layer (type)                Output Shape              Param #   \n"
      "=================================================================\n"
      " flatten (Flatten)           (None, 784)               0         \n"
      "                                                                 \n"
      " dense (Dense)               (None, 300)               235500    \n"
      "                                                                 \n"
      " dense_1 (Dense)             (None, 100)               30100     \n"
      "                                                                 \n"
      " dense_2 (Dense)             (None, 10)                1010      \n"
      "                                                                 \n"
      "=================================================================\n"
      "Total params: 266,610\n"
      "Trainable params: 266,610\n"
      "Non-trainable params: 0\n"
      "_________________________________________________________________\n";
  nn::Sequential model = fashion_model();
  SUBCASE("before the weights exist") { CHECK(model.summary() == expected); }
  SUBCASE("after building") {
    model.build({28, 28});
    CHECK(model.summary() == expected);
    CHECK(model.parameter_count() == 266610);
  }
}

TEST_CASE("summary cuts a long layer name to its column, as Keras does") {
  nn::Dense dense(2, {.input_shape = {3}});
  dense.set_name("a_very_long_layer_name_indeed");
  nn::Sequential model({dense});
  CHECK(model.summary().find("\n a_very_long_layer_name_ind  (None, 2)                 8         \n") !=
        std::string::npos);
}

TEST_CASE("a model without an input shape has no summary until built") {
  nn::Sequential model({nn::Dense(3)});
  CHECK_THROWS_WITH_AS(model.summary(), doctest::Contains("not built; call build(input_shape)"), ad::Error);
  model.build({4});
  CHECK(model.summary().find("Total params: 15\n") != std::string::npos);
}

TEST_CASE("layers get Keras' default names, unique within the model") {
  nn::Sequential model({nn::InputLayer({4}), nn::Dense(3), nn::Activation("relu"), nn::Dense(2)});
  model.add(nn::Dense(1));
  CHECK(model.layer(0).name() == "input_layer");
  CHECK(model.layer(1).name() == "dense");
  CHECK(model.layer(2).name() == "activation");
  CHECK(model.layer(3).name() == "dense_1");
  CHECK(model.layer(4).name() == "dense_2");
  CHECK(&model.layer("dense_1") == &model.layer(3));
  CHECK_THROWS_WITH_AS(model.layer("dense_9"), doctest::Contains("no layer named 'dense_9'; layers: input_layer, dense"),
                       ad::Error);
  CHECK_THROWS_WITH_AS(model.layer(7), doctest::Contains("index 7 out of range, the model has 5 layers"), ad::Error);
  nn::Dense named(2);
  named.set_name("dense");
  CHECK_THROWS_WITH_AS(model.add(named), doctest::Contains("layer name 'dense' is already used"), ad::Error);
}

TEST_CASE("the same seed gives the same initial weights, another seed other ones") {
  nn::Sequential a = fashion_model(), b = fashion_model(), c = fashion_model();
  a.build({28, 28}, 7);
  b.build({28, 28}, 7);
  c.build({28, 28}, 8);
  auto wa = a.get_weights(), wb = b.get_weights(), wc = c.get_weights();
  REQUIRE(wa.size() == 6);
  for (size_t i = 0; i < wa.size(); ++i) CHECK(wa[i].to_vector() == wb[i].to_vector());
  CHECK(wa[0].to_vector() != wc[0].to_vector());
}

TEST_CASE("get_weights copies and set_weights checks shapes naming the layer") {
  nn::Sequential model({nn::Dense(3, {.input_shape = {2}}), nn::Dense(1)});
  model.build({2});
  auto w = model.get_weights();
  REQUIRE(w.size() == 4);
  CHECK(w[0].shape() == ad::Shape{2, 3});
  CHECK(w[1].shape() == ad::Shape{3});
  w[0].fill(0.5f);
  CHECK(model.get_weights()[0][0] != 0.5f);  // a copy, not a view
  model.set_weights(w);
  CHECK(model.get_weights()[0][0] == 0.5f);
  auto bad = w;
  bad[2] = ad::Tensor::zeros({1, 3});
  CHECK_THROWS_WITH_AS(model.set_weights(bad), doctest::Contains("weight 2 (dense_1/kernel) has shape [3,1], given [1,3]"),
                       ad::Error);
  CHECK(model.get_weights()[0][0] == 0.5f);
  CHECK_THROWS_WITH_AS(model.set_weights({w[0]}), doctest::Contains("has 4 weights, given 1"), ad::Error);
  CHECK(model.trainable_weights().size() == 4);
}

TEST_CASE("the call operator runs the layers and records on the tape for custom loops") {
  nn::Sequential model({nn::Dense(2, "relu", "ones"), nn::Dense(1, "linear", "ones")});
  ad::Tape tape;
  ad::Var y = model(ad::constant(ad::Tensor::from({1, 3}, {1, 2, 3})));
  CHECK(y.item() == doctest::Approx(12));  // relu(6) + relu(6)
  y.backward();
  CHECK(model.trainable_weights()[0].grad()[0] == doctest::Approx(1));
}

TEST_CASE("get_config describes architecture and compile settings, and from_config rebuilds them") {
  nn::Sequential model = fashion_model();
  model.compile({.loss = "sparse_categorical_crossentropy", .optimizer = nn::SGD(0.02, {.momentum = 0.9}),
                 .metrics = {"accuracy"}});
  model.build({28, 28}, 3);
  nn::Json config = model.get_config();
  CHECK(config["layers"].size() == 4);
  CHECK(config["layers"][1]["units"] == 300);
  CHECK(config["layers"][1]["activation"] == "relu");
  CHECK(config["compile"]["optimizer"]["momentum"] == 0.9);
  CHECK(config["compile"]["loss"]["name"] == "sparse_categorical_crossentropy");
  CHECK(config["compile"]["metrics"][0] == "accuracy");
  nn::Sequential again = nn::Sequential::from_config(config);
  CHECK(again.get_config() == config);
  CHECK(again.built());
  CHECK(again.optimizer()->slots().size() == 6);
  again.set_weights(model.get_weights());
  ad::Rng rng(1);
  ad::Tensor x = ad::Tensor::uniform({2, 28, 28}, 0, 1, rng);
  CHECK(ad::max_abs_difference(again.predict(x), model.predict(x)) == 0.f);
}

TEST_CASE("compile rejects unknown names before any training") {
  nn::Sequential model({nn::Dense(1)});
  CHECK_THROWS_WITH_AS(model.compile({.loss = "mse", .metrics = {"precision"}}), doctest::Contains("unknown metric"),
                       ad::Error);
  CHECK_THROWS_WITH_AS(model.compile({.loss = "msq"}), doctest::Contains("unknown loss 'msq'"), ad::Error);
  CHECK_FALSE(model.compiled());
  CHECK_THROWS_WITH_AS(model.optimizer(), doctest::Contains("not compiled"), ad::Error);
}

TEST_CASE("summary and parameter_count refuse totals that overflow int64 instead of printing a wrong count") {
  const int64_t big = int64_t{1} << 40;
  // Each layer has about 2^62 parameters: their sum passes 2^63.
  nn::Sequential model({nn::Dense(big, {.input_shape = {int64_t{1} << 22}}), nn::Dense(int64_t{1} << 22)});
  CHECK_THROWS_WITH_AS(model.summary(), doctest::Contains("summary: total parameter count: the count"), ad::Error);
  CHECK_THROWS_WITH_AS(model.summary(), doctest::Contains("overflows int64"), ad::Error);
  nn::Sequential single({nn::Dense(big, {.input_shape = {big}})});
  CHECK_THROWS_WITH_AS(single.summary(), doctest::Contains("element count of shape [1099511627776,1099511627776] overflows"),
                       ad::Error);
}

TEST_CASE("null layers, losses and optimizers are errors naming the function") {
  CHECK_THROWS_WITH_AS(nn::Sequential({nn::Dense(2), nn::LayerPtr{}}), doctest::Contains("Sequential.add: the layer is null"),
                       ad::Error);
  nn::Sequential model({nn::Dense(2)});
  CHECK_THROWS_WITH_AS(model.add(nn::LayerPtr{}), doctest::Contains("Sequential.add: the layer is null"), ad::Error);
  CHECK_THROWS_WITH_AS(model.compile({.loss = nn::LossPtr{}}), doctest::Contains("compile: loss is null"), ad::Error);
  CHECK_THROWS_WITH_AS(model.compile({.optimizer = nn::OptimizerPtr{}}), doctest::Contains("compile: optimizer is null"),
                       ad::Error);
  const char* no_name = nullptr;
  CHECK_THROWS_WITH_AS(model.compile({.loss = no_name}), doctest::Contains("LossRef: the loss name is null"), ad::Error);
  CHECK_THROWS_WITH_AS(model.compile({.optimizer = no_name}), doctest::Contains("OptimizerRef: the optimizer name is null"),
                       ad::Error);
  CHECK_FALSE(model.compiled());
}

TEST_CASE("model and layer names must be valid UTF-8, since they go into the saved JSON") {
  CHECK_THROWS_WITH_AS(nn::Sequential({nn::Dense(2)}, "model\xc3"),
                       doctest::Contains("Sequential: the model name is not valid UTF-8 (byte 5 of \"model\\xc3\")"),
                       ad::Error);
  nn::Dense dense(2);
  CHECK_THROWS_WITH_AS(dense.set_name("\xed\xa0\x80"),  // a UTF-16 surrogate, which UTF-8 may not hold
                       doctest::Contains("Dense.set_name: the layer name is not valid UTF-8 (byte 0 of "
                                         "\"\\xed\\xa0\\x80\")"),
                       ad::Error);
  CHECK(dense.name().empty());
  dense.set_name("dichte_schicht_\xc3\xa4");  // "ä": valid
  CHECK(dense.name() == "dichte_schicht_\xc3\xa4");
}
