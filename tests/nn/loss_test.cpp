#include <doctest/doctest.h>

#include <cmath>

#include "tapegrad/nn/layers/dense.h"
#include "tapegrad/nn/loss.h"
#include "tapegrad/nn/optimizers/sgd.h"
#include "tapegrad/nn/sequential.h"

namespace {
using ad::Tensor;

float value_of(const nn::Loss& loss, const Tensor& prediction, const Tensor& target) {
  return loss.compute(ad::constant(prediction), target).item();
}
}  // namespace

TEST_CASE("every loss matches a value worked out by hand") {
  Tensor reg_p = Tensor::from({3, 1}, {1, 2, 3}), reg_t = Tensor::from({3}, {1, 1, 1});
  Tensor bin_p = Tensor::from({2, 1}, {0.8f, 0.3f}), bin_t = Tensor::from({2, 1}, {1, 0});
  Tensor cat_p = Tensor::from({2, 3}, {0.7f, 0.2f, 0.1f, 0.1f, 0.6f, 0.3f});
  Tensor onehot = Tensor::from({2, 3}, {1, 0, 0, 0, 0, 1}), labels = Tensor::from({2}, {0, 2});
  Tensor logits = Tensor::from({1, 3}, {2, 1, 0});
  struct Case {
    std::string what;
    nn::LossPtr loss;
    Tensor prediction, target;
    double expected;
  };
  const Case cases[] = {
      {"mse: (0 + 1 + 4) / 3", nn::loss_by_name("mse"), reg_p, reg_t, 5.0 / 3},
      {"mae: (0 + 1 + 2) / 3", nn::loss_by_name("mean_absolute_error"), reg_p, reg_t, 1.0},
      {"huber delta 1: (0 + 0.5 + 1.5) / 3", nn::loss_by_name("huber"), reg_p, reg_t, 2.0 / 3},
      {"huber delta 2: (0 + 0.5 + 2) / 3", std::make_shared<nn::Huber>(nn::HuberOptions{.delta = 2}), reg_p, reg_t,
       2.5 / 3},
      {"binary: -(ln 0.8 + ln 0.7) / 2", nn::loss_by_name("binary_crossentropy"), bin_p, bin_t,
       -(std::log(0.8) + std::log(0.7)) / 2},
      {"categorical: -(ln 0.7 + ln 0.3) / 2", nn::loss_by_name("categorical_crossentropy"), cat_p, onehot,
       -(std::log(0.7) + std::log(0.3)) / 2},
      {"sparse: -(ln 0.7 + ln 0.3) / 2", nn::loss_by_name("sparse_categorical_crossentropy"), cat_p, labels,
       -(std::log(0.7) + std::log(0.3)) / 2},
      {"sparse from logits: ln(e^2 + e + 1) - 2",
       std::make_shared<nn::SparseCategoricalCrossentropy>(nn::CrossentropyLossOptions{.from_logits = true}), logits,
       Tensor::from({1}, {0}), std::log(std::exp(2.0) + std::exp(1.0) + 1) - 2},
      {"binary from logits 0: ln 2",
       std::make_shared<nn::BinaryCrossentropy>(nn::CrossentropyLossOptions{.from_logits = true}),
       Tensor::from({1, 1}, {0}), Tensor::from({1, 1}, {1}), std::log(2.0)},
  };
  for (const Case& c : cases) {
    CAPTURE(c.what);
    CHECK(value_of(*c.loss, c.prediction, c.target) == doctest::Approx(c.expected).epsilon(1e-5));
  }
}

TEST_CASE("loss names and aliases resolve to the Keras classes and unknown names list the known ones") {
  CHECK(nn::LossRef("mse").get()->name() == "mean_squared_error");
  CHECK(nn::LossRef("mae").get()->name() == "mean_absolute_error");
  CHECK(nn::LossRef(nn::Huber({.delta = 3})).get()->get_config()["delta"] == 3.0);
  CHECK_THROWS_WITH_AS(nn::LossRef("hinge"), doctest::Contains("unknown loss 'hinge'; known: mean_squared_error, mse"),
                       ad::Error);
}

TEST_CASE("a loss rebuilt from its config keeps its options") {
  std::vector<nn::LossPtr> losses = {
      std::make_shared<nn::Huber>(nn::HuberOptions{.delta = 0.5}),
      std::make_shared<nn::CategoricalCrossentropy>(nn::CrossentropyLossOptions{.from_logits = true}),
      std::make_shared<nn::SparseCategoricalCrossentropy>(),
      std::make_shared<nn::BinaryCrossentropy>(nn::CrossentropyLossOptions{.from_logits = true}),
      std::make_shared<nn::MeanAbsoluteError>()};
  for (const nn::LossPtr& l : losses) {
    CAPTURE(l->name());
    CHECK(nn::loss_from_config(l->get_config())->get_config() == l->get_config());
  }
}

TEST_CASE("cross-entropies on probabilities hand their softmax or sigmoid logits to a from_logits form") {
  CHECK(nn::SparseCategoricalCrossentropy().on_logits_of("softmax") != nullptr);
  CHECK(nn::CategoricalCrossentropy().on_logits_of("softmax") != nullptr);
  CHECK(nn::BinaryCrossentropy().on_logits_of("sigmoid") != nullptr);
  CHECK(nn::BinaryCrossentropy().on_logits_of("softmax") == nullptr);
  // from_logits on a softmax output: its outputs are no logits; the layer's logits are taken,
  // as tf.keras takes them (with a warning).
  CHECK(nn::SparseCategoricalCrossentropy({.from_logits = true}).on_logits_of("softmax") != nullptr);
  CHECK(nn::BinaryCrossentropy({.from_logits = true}).on_logits_of("relu") == nullptr);
  CHECK(nn::MeanSquaredError().on_logits_of("sigmoid") == nullptr);
  auto fused = nn::SparseCategoricalCrossentropy().on_logits_of("softmax");
  CHECK(fused->get_config()["from_logits"] == true);
}

TEST_CASE("target checks name the row and value that break the loss's rule") {
  SUBCASE("a label out of range") {
    CHECK_THROWS_WITH_AS(
        nn::SparseCategoricalCrossentropy().check_targets(Tensor::from({3}, {0, 9, 10}), {10}, "fit"),
        doctest::Contains("fit: label 10 in row 2 of y is not a class index in [0, 10)"), ad::Error);
  }
  SUBCASE("a fractional label") {
    CHECK_THROWS_WITH_AS(nn::SparseCategoricalCrossentropy().check_targets(Tensor::from({2}, {0, 1.5f}), {3}, "fit"),
                         doctest::Contains("label 1.5 in row 1"), ad::Error);
  }
  SUBCASE("one-hot targets given to the sparse loss") {
    CHECK_THROWS_WITH_AS(nn::SparseCategoricalCrossentropy().check_targets(Tensor::zeros({4, 3}), {3}, "fit"),
                         doctest::Contains("got y of shape [4,3]"), ad::Error);
  }
  SUBCASE("class indices given to the categorical loss") {
    CHECK_THROWS_WITH_AS(nn::CategoricalCrossentropy().check_targets(Tensor::zeros({4}), {3}, "fit"),
                         doctest::Contains("one-hot targets [samples, 3], got y of shape [4]"), ad::Error);
  }
  SUBCASE("a binary target outside [0, 1]") {
    CHECK_THROWS_WITH_AS(nn::BinaryCrossentropy().check_targets(Tensor::from({2, 1}, {1, 2}), {1}, "fit"),
                         doctest::Contains("targets in [0, 1], got 2 in row 1"), ad::Error);
  }
  SUBCASE("a regression target of the wrong width") {
    CHECK_THROWS_WITH_AS(nn::MeanSquaredError().check_targets(Tensor::zeros({4, 2}), {3}, "fit"),
                         doctest::Contains("needs targets with 3 values per sample"), ad::Error);
  }
  SUBCASE("a NaN regression target") {
    CHECK_THROWS_WITH_AS(nn::MeanSquaredError().check_targets(Tensor::from({2, 1}, {0, NAN}), {1}, "fit"),
                         doctest::Contains("row 1 of y is not finite"), ad::Error);
  }
}

TEST_CASE("a relu output under sparse_categorical_crossentropy evaluates and trains as in Keras, not to NaN") {
  // The second sample's relu outputs are all 0: Keras clips them to 1e-7 before it reads the row
  // as a distribution (tf_keras 2.21 evaluates 0.98472); dividing by the row's sum first gave NaN.
  nn::Sequential model({nn::Dense(3, "relu")});
  model.build({2}, 1);
  model.set_weights({Tensor::from({2, 3}, {0.5f, 1, 0.2f, 0.3f, 0.1f, 0.4f}), Tensor::from({3}, {-0.1f, -0.2f, -0.05f})});
  model.compile({.loss = "sparse_categorical_crossentropy", .optimizer = nn::SGD(0.1)});
  Tensor x = Tensor::from({2, 2}, {0, 0, 1, 1}), y = Tensor::from({2}, {0, 1});
  CHECK(model.evaluate(x, y).at("loss") == doctest::Approx(0.98472).epsilon(1e-4));
  nn::History history = model.fit(x, y, {.epochs = 2, .batch_size = 2, .verbose = 0});
  for (double loss : history["loss"]) CHECK(std::isfinite(loss));
}

TEST_CASE("from_logits set on a sigmoid or softmax output takes the layer's logits, as tf.keras does") {
  // The outputs are probabilities, not logits: tf.keras warns and takes the logits it keeps on
  // the output, so from_logits true and false give the same loss and training, eager or compiled.
  ad::Rng rng(5);
  Tensor x = Tensor::uniform({12, 4}, -2, 2, rng);
  Tensor labels({12}), binary({12, 1});
  for (int64_t i = 0; i < 12; ++i) labels[i] = static_cast<float>(i % 3), binary[i] = static_cast<float>(i % 2);
  struct Case {
    const char* activation;
    int units;
    nn::LossPtr with, without;
    Tensor y;
  };
  const Case cases[] = {
      {"sigmoid", 1, std::make_shared<nn::BinaryCrossentropy>(nn::CrossentropyLossOptions{.from_logits = true}),
       std::make_shared<nn::BinaryCrossentropy>(), binary},
      {"softmax", 3, std::make_shared<nn::SparseCategoricalCrossentropy>(nn::CrossentropyLossOptions{.from_logits = true}),
       std::make_shared<nn::SparseCategoricalCrossentropy>(), labels},
      {"softmax", 3, std::make_shared<nn::CategoricalCrossentropy>(nn::CrossentropyLossOptions{.from_logits = true}),
       std::make_shared<nn::CategoricalCrossentropy>(), Tensor()},
  };
  for (const Case& c : cases) {
    Tensor y = c.y.size() ? c.y : Tensor::zeros({12, 3});
    if (!c.y.size())
      for (int64_t i = 0; i < 12; ++i) y[i * 3 + i % 3] = 1;
    for (bool eager : {false, true}) {
      std::string what = c.with->name() + " after " + c.activation + (eager ? ", eager" : ", compiled");
      CAPTURE(what);
      auto trained = [&](const nn::LossPtr& loss) {
        nn::Sequential m({nn::Dense(5, "tanh"), nn::Dense(c.units, c.activation)});
        m.build({4}, 2);
        m.compile({.loss = loss, .optimizer = nn::SGD(0.5)});
        double before = m.evaluate(x, y).at("loss");
        nn::History h = m.fit(x, y, {.epochs = 3, .batch_size = 4, .shuffle = false, .verbose = 0, .eager = eager});
        return std::pair{before, h["loss"].back()};
      };
      auto [with_before, with_after] = trained(c.with);
      auto [without_before, without_after] = trained(c.without);
      CHECK(with_before == doctest::Approx(without_before).epsilon(1e-6));
      CHECK(with_after == doctest::Approx(without_after).epsilon(1e-5));
      CHECK(with_after < with_before);  // it trains
    }
  }
}

TEST_CASE("categorical_crossentropy's compute names both shapes when the target's size differs") {
  // Targets of the prediction's size but another shape ([n] for one column) are reshaped; any
  // other size goes to the op, whose shape rule names both (a reshape error named neither loss).
  nn::CategoricalCrossentropy loss;
  CHECK_THROWS_WITH_AS(loss.compute(ad::constant(Tensor::full({2, 3}, 0.3f)), Tensor::from({2}, {0, 1})),
                       doctest::Contains("categorical_crossentropy: prediction [2,3] and one-hot target [2] have different shapes"),
                       ad::Error);
  CHECK(std::isfinite(loss.compute(ad::constant(Tensor::full({3, 1}, 0.3f)), Tensor::ones({3})).item()));
}
