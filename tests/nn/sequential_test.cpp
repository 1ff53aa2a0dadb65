#include <doctest/doctest.h>

#include <type_traits>
#include <utility>

#include "tapegrad/nn/layers/all.h"
#include "tapegrad/nn/optimizers/sgd.h"
#include "tapegrad/nn/sequential.h"
#include "tapegrad/nn/serialization.h"
#include "tests/nn/scratch_folder.h"

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

// A reference into a temporary model would dangle once the statement ends: on a temporary,
// layer() hands out the layer's shared pointer instead, which keeps it alive.
TEST_CASE("layer() on a temporary model returns a pointer that outlives the model") {
  static_assert(std::is_same_v<decltype(std::declval<nn::Sequential&>().layer(0)), nn::Layer&>);
  static_assert(std::is_same_v<decltype(std::declval<nn::Sequential>().layer(0)), nn::LayerPtr>);
  static_assert(std::is_same_v<decltype(std::declval<nn::Sequential>().layer("dense")), nn::LayerPtr>);
  static_assert(std::is_same_v<decltype(std::declval<nn::Sequential>().input_layer()), nn::LayerPtr>);
  auto make = [] { return nn::Sequential({nn::InputLayer({4}), nn::Dense(3, "relu")}); };
  nn::LayerPtr dense = make().layer(0);
  nn::LayerPtr input = make().layer("input_layer");
  CHECK(dense->name() == "dense");
  CHECK(dense->output_activation() == "relu");
  CHECK(input->name() == "input_layer");
  CHECK(make().input_layer()->name() == "input_layer");
  CHECK_THROWS_WITH_AS(make().layer(1), doctest::Contains("index 1 out of range"), ad::Error);
}

TEST_CASE("a model without an input shape has no summary until built") {
  nn::Sequential model({nn::Dense(3)});
  CHECK_THROWS_WITH_AS(model.summary(), doctest::Contains("Sequential.summary: model 'sequential' is not built: its "
                                                          "input shape is unknown"), ad::Error);
  model.build({4});
  CHECK(model.summary().find("Total params: 15\n") != std::string::npos);
}

TEST_CASE("layers get Keras' default names, unique within the model") {
  nn::Sequential model({nn::InputLayer({4}), nn::Dense(3), nn::Activation("relu"), nn::Dense(2)});
  model.add(nn::Dense(1));
  // As Keras' model.layers, the indices leave the InputLayer out; its name still finds it.
  CHECK(model.input_layer()->name() == "input_layer");
  CHECK(&model.layer("input_layer") == model.input_layer().get());
  CHECK(model.layer(0).name() == "dense");
  CHECK(model.layer(1).name() == "activation");
  CHECK(model.layer(2).name() == "dense_1");
  CHECK(model.layer(3).name() == "dense_2");
  CHECK(&model.layer("dense_1") == &model.layer(2));
  CHECK_THROWS_WITH_AS(model.layer("dense_9"), doctest::Contains("no layer named 'dense_9'; layers: input_layer, dense"),
                       ad::Error);
  CHECK_THROWS_WITH_AS(model.layer(4), doctest::Contains("index 4 out of range, the model has 4 layers after its InputLayer"),
                       ad::Error);
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
  CHECK(again.optimizer()->built_parameters() == 6);
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

TEST_CASE("a model whose input shape is known builds itself when layers are added, as Keras does") {
  // The book's model: 784*300+300, 300*100+100 and 100*10+10 weights.
  const int64_t book = 784 * 300 + 300 + 300 * 100 + 100 + 100 * 10 + 10;
  SUBCASE("Flatten given the image shape") {
    nn::Sequential model = fashion_model();
    CHECK(model.built());
    CHECK(model.parameter_count() == book);
    CHECK(model.summary().find("Total params: 266,610\n") != std::string::npos);
    const std::vector<ad::Tensor> weights = model.get_weights();
    REQUIRE(weights.size() == 6);
    CHECK(weights[0].shape() == ad::Shape{784, 300});
    CHECK(weights[5].shape() == ad::Shape{10});
    CHECK(model.input_shape() == ad::Shape{28, 28});
    CHECK(model.output_shape() == ad::Shape{10});
  }
  SUBCASE("an InputLayer, one layer at a time") {
    nn::Sequential model;
    model.add(nn::InputLayer({8}));
    CHECK_FALSE(model.built());  // no layer to build yet
    model.add(nn::Dense(30, "relu"));
    CHECK(model.built());
    CHECK(model.parameter_count() == 8 * 30 + 30);
    model.add(nn::Dense(1));
    CHECK(model.parameter_count() == 8 * 30 + 30 + 30 + 1);
    CHECK(model.get_weights().size() == 4);
    CHECK(model.trainable_weights()[2].shape() == ad::Shape{30, 1});
  }
  SUBCASE("a first layer given an input_shape") {
    nn::Sequential model({nn::Dense(3, {.input_shape = {2}}), nn::Dense(1)});
    CHECK(model.parameter_count() == 2 * 3 + 3 + 3 + 1);
  }
  SUBCASE("the weights are those build() draws from seed 0") {
    nn::Sequential model = fashion_model(), explicit_build({nn::Flatten(), nn::Dense(300, "relu"),
                                                            nn::Dense(100, "relu"), nn::Dense(10, "softmax")});
    explicit_build.build({28, 28}, 0);
    const auto a = model.get_weights(), b = explicit_build.get_weights();
    for (size_t i = 0; i < a.size(); ++i) CHECK(a[i].to_vector() == b[i].to_vector());
  }
}

TEST_CASE("compile builds a model whose input shape is known, so a compiled model has its weights") {
  nn::Sequential model;
  model.add(nn::InputLayer({4}));
  model.compile({.loss = "mse"});
  CHECK_FALSE(model.built());
  model.add(nn::Dense(2));
  model.compile({.loss = "mse", .optimizer = "adam"});
  REQUIRE(model.built());
  CHECK(model.get_weights().size() == 2);
  CHECK(model.optimizer()->built_parameters() == 2);
}

TEST_CASE("every accessor of a model of unknown input shape throws naming the call") {
  nn::Sequential model({nn::Dense(3), nn::Dense(1)});
  model.compile({.loss = "mse"});  // compiled, still not built: the input shape is unknown
  CHECK_FALSE(model.built());
  const std::string rest = ": model 'sequential' is not built: its input shape is unknown";
  CHECK_THROWS_WITH_AS(model.parameter_count(), doctest::Contains(("Sequential.parameter_count" + rest).c_str()), ad::Error);
  CHECK_THROWS_WITH_AS(model.get_weights(), doctest::Contains(("Sequential.get_weights" + rest).c_str()), ad::Error);
  CHECK_THROWS_WITH_AS(model.set_weights({}), doctest::Contains(("Sequential.set_weights" + rest).c_str()), ad::Error);
  CHECK_THROWS_WITH_AS(model.trainable_weights(), doctest::Contains(("Sequential.trainable_weights" + rest).c_str()),
                       ad::Error);
  CHECK_THROWS_WITH_AS(model.summary(), doctest::Contains(("Sequential.summary" + rest).c_str()), ad::Error);
  CHECK_THROWS_WITH_AS(model.input_shape(), doctest::Contains(("Sequential.input_shape" + rest).c_str()), ad::Error);
  CHECK_THROWS_WITH_AS(model.output_shape(), doctest::Contains(("Sequential.output_shape" + rest).c_str()), ad::Error);
  CHECK_THROWS_WITH_AS(model.save("unused.model"), doctest::Contains("Sequential::save: 'unused.model': the model is not built"),
                       ad::Error);
  model.build({5});
  CHECK(model.parameter_count() == 5 * 3 + 3 + 3 + 1);
}

TEST_CASE("the seed of build or fit still decides the weights of a model that built itself") {
  auto weights_of = [](nn::Sequential& m) {
    std::vector<float> out;
    for (const ad::Tensor& w : m.get_weights())
      for (float v : w.to_vector()) out.push_back(v);
    return out;
  };
  nn::Sequential reference({nn::Dense(3), nn::Dense(1)});
  reference.build({2}, 7);
  const std::vector<float> seed7 = weights_of(reference);
  const ad::Tensor x = ad::Tensor::zeros({4, 2}), y = ad::Tensor::zeros({4, 1});

  SUBCASE("build with another seed redraws") {
    nn::Sequential model({nn::InputLayer({2}), nn::Dense(3), nn::Dense(1)});
    CHECK(weights_of(model) != seed7);
    model.build({2}, 7);
    CHECK(weights_of(model) == seed7);
  }
  SUBCASE("fit's seed redraws, before it trains") {
    nn::Sequential model({nn::InputLayer({2}), nn::Dense(3), nn::Dense(1)});
    model.compile({.loss = "mse"});
    model.fit(x, y, {.epochs = 0, .seed = 7, .verbose = 0});
    CHECK(weights_of(model) == seed7);
  }
  SUBCASE("weights that were set, or reached through the model, are kept") {
    nn::Sequential model({nn::InputLayer({2}), nn::Dense(3), nn::Dense(1)});
    model.compile({.loss = "mse"});
    std::vector<ad::Tensor> ones = model.get_weights();
    for (ad::Tensor& w : ones) w.fill(1);
    model.set_weights(ones);
    model.fit(x, y, {.epochs = 0, .seed = 7, .verbose = 0});
    CHECK(model.get_weights()[0].to_vector() == std::vector<float>(6, 1.f));

    nn::Sequential reached({nn::InputLayer({2}), nn::Dense(3), nn::Dense(1)});
    dynamic_cast<nn::Dense&>(reached.layer(0)).kernel().value().fill(2);
    reached.build({2}, 7);
    CHECK(reached.get_weights()[0].to_vector() == std::vector<float>(6, 2.f));
  }
  SUBCASE("a layer built before it was added keeps its weights") {
    nn::Dense dense(3, "linear", "ones");
    dense(ad::constant(ad::Tensor::zeros({1, 2})));
    nn::Sequential model({nn::InputLayer({2}), dense, nn::Dense(1)});
    model.build({2}, 7);
    CHECK(model.get_weights()[0].to_vector() == std::vector<float>(6, 1.f));
  }
}

TEST_CASE("layers() leaves the InputLayer out as Keras' model.layers does; the config and saved files keep it") {
  nn::Sequential model({nn::InputLayer({28, 28}), nn::Flatten(), nn::Dense(300, "relu"), nn::Dense(10, "softmax")});
  REQUIRE(model.layers().size() == 3);
  CHECK(model.layers()[0]->type() == "Flatten");
  CHECK(model.layers()[1]->name() == "dense");  // the book's model.layers[1]: the first Dense
  CHECK(model.layer(1).name() == "dense");
  CHECK(model.summary().find("input_layer") == std::string::npos);
  const nn::Json config = model.get_config();
  REQUIRE(config["layers"].size() == 4);
  CHECK(config["layers"][0]["type"] == "InputLayer");
  CHECK(config["layers"][0]["input_shape"] == nn::Json::array({28, 28}));
  nn::Sequential again = nn::Sequential::from_config(config);
  REQUIRE(again.input_layer() != nullptr);
  CHECK(again.input_layer()->declared_input_shape() == ad::Shape{28, 28});
  CHECK(again.layers().size() == 3);
  CHECK(again.get_config() == config);
  CHECK(again.parameter_count() == model.parameter_count());

  tests::ScratchFolder folder;
  model.save(folder.file("book.model"));
  nn::Sequential loaded = nn::load_model(folder.file("book.model"));
  REQUIRE(loaded.input_layer() != nullptr);
  CHECK(loaded.layers().size() == 3);
  CHECK(loaded.get_config() == config);
  CHECK(loaded.get_weights()[0].to_vector() == model.get_weights()[0].to_vector());
}

TEST_CASE("an InputLayer may only come first, and only once") {
  nn::Sequential model({nn::Dense(2)});
  CHECK_THROWS_WITH_AS(model.add(nn::InputLayer({3})),
                       doctest::Contains("an InputLayer must be the model's first layer; model 'sequential' already has 1 "
                                         "layers"),
                       ad::Error);
  nn::Sequential started({nn::InputLayer({3})});
  CHECK_THROWS_WITH_AS(started.add(nn::InputLayer({4})),
                       doctest::Contains("model 'sequential' already starts with InputLayer 'input_layer' (inputs [3])"),
                       ad::Error);
}

TEST_CASE("an input of the wrong shape is refused by the InputLayer, naming it") {
  nn::Sequential model({nn::InputLayer({3}), nn::Dense(1)});
  ad::Tape tape;
  CHECK_THROWS_WITH_AS(model(ad::constant(ad::Tensor::zeros({2, 4}))),
                       doctest::Contains("InputLayer 'input_layer': built for inputs of shape [3] per sample"), ad::Error);
}

TEST_CASE("a layer that does not fit the known input shape is refused when added, and the model stays as it was") {
  nn::Sequential model({nn::InputLayer({3}), nn::Dense(2)});
  CHECK_THROWS_WITH_AS(model.add(nn::Dense(1, {.input_shape = {5}})),
                       doctest::Contains("declared input_shape [5] but the input has shape [2] per sample"), ad::Error);
  CHECK(model.layers().size() == 1);
  CHECK(model.built());
  model.add(nn::Dense(1));
  CHECK(model.parameter_count() == 3 * 2 + 2 + 2 + 1);
}

TEST_CASE("parameter counts that overflow int64 are refused instead of giving a wrong count") {
  const int64_t big = int64_t{1} << 40;
  // A model of known input shape builds itself (as Keras does), so a layer of about 2^62
  // parameters is refused when it is drawn, by the library's error rather than a bad count.
  CHECK_THROWS_AS(nn::Sequential({nn::Dense(big, {.input_shape = {int64_t{1} << 22}}), nn::Dense(int64_t{1} << 22)}),
                  ad::Error);
  // summary() and load_model count before anything exists: the layer's count and the totals are
  // checked sums and products.
  CHECK_THROWS_WITH_AS(nn::Dense(big).parameter_count_for({big}),
                       doctest::Contains("element count of shape [1099511627776,1099511627776] overflows"), ad::Error);
  CHECK(nn::Dense(3).parameter_count_for({4}) == 4 * 3 + 3);
  CHECK_THROWS_WITH_AS(ad::add_counts(int64_t{1} << 62, int64_t{3} << 61, "summary: total parameter count"),
                       doctest::Contains("summary: total parameter count"), ad::Error);
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
