#include <doctest/doctest.h>

#include <cmath>
#include <algorithm>
#include <functional>
#include <limits>
#include <sstream>
#include <tuple>

#include "tapegrad/nn/callbacks.h"
#include "tapegrad/nn/eager_step.h"
#include "tapegrad/nn/layers/all.h"
#include "tapegrad/nn/optimizers/adam.h"
#include "tapegrad/nn/optimizers/sgd.h"
#include "tapegrad/nn/sequential.h"

namespace {

using ad::Tensor;

// Two Gaussian-free clusters per class on a 784-pixel "image": class c lights up band c, so a
// Fashion-MNIST-shaped model can learn it in a few steps.
struct Synthetic {
  Tensor x, y;
};

Synthetic banded_images(int64_t n, uint64_t seed) {
  ad::Rng rng(seed);
  Synthetic d{Tensor::uniform({n, 28, 28}, 0, 0.3f, rng), Tensor::zeros({n})};
  for (int64_t i = 0; i < n; ++i) {
    auto label = static_cast<int64_t>(rng.next() % 10);
    d.y[i] = static_cast<float>(label);
    for (int64_t col = 0; col < 28; ++col) d.x.at({i, label * 2, col}) += 0.7f;
  }
  return d;
}

nn::Sequential fashion_model() {
  return nn::Sequential({nn::Flatten({28, 28}), nn::Dense(300, "relu"), nn::Dense(100, "relu"),
                         nn::Dense(10, "softmax")});
}

}  // namespace

TEST_CASE("the Fashion MNIST architecture learns a synthetic image set and its loss falls") {
  Synthetic d = banded_images(512, 1);
  nn::Sequential model = fashion_model();
  model.compile({.loss = "sparse_categorical_crossentropy", .optimizer = nn::SGD(0.05), .metrics = {"accuracy"}});
  nn::History h = model.fit(d.x, d.y, {.epochs = 3, .verbose = 0});
  REQUIRE(h["loss"].size() == 3);
  CHECK(h["loss"][2] < 0.5 * h["loss"][0]);
  CHECK(h["accuracy"][2] > 0.9);
  Tensor proba = model.predict(d.x.rows(0, 3));
  CHECK(proba.shape() == ad::Shape{3, 10});
  for (int64_t i = 0; i < 3; ++i) {
    float total = 0;
    for (int64_t j = 0; j < 10; ++j) total += proba.at({i, j});
    CHECK(total == doctest::Approx(1).epsilon(1e-5));
  }
  nn::Logs test = model.evaluate(d.x, d.y);
  CHECK(test.at("accuracy") > 0.9);
}

TEST_CASE("an MLP of one hidden layer solves XOR") {
  Tensor x = Tensor::from({4, 2}, {0, 0, 0, 1, 1, 0, 1, 1});
  Tensor y = Tensor::from({4, 1}, {0, 1, 1, 0});
  nn::Sequential model({nn::Dense(8, "tanh"), nn::Dense(1, "sigmoid")});
  model.compile({.loss = "binary_crossentropy", .optimizer = nn::Adam(0.05), .metrics = {"accuracy"}});
  nn::History h = model.fit(x, y, {.epochs = 300, .batch_size = 4, .seed = 3, .verbose = 0});
  CHECK(h["accuracy"].back() == 1.0);
  Tensor p = model.predict(x);
  for (int64_t i = 0; i < 4; ++i) CHECK(std::round(p[i]) == y[i]);
}

namespace {

struct Line {
  Tensor x, y;
};

// y = 2x - 1 on 40 points.
Line line_data() {
  Line d{Tensor::empty({40, 1}), Tensor::empty({40, 1})};
  for (int64_t i = 0; i < 40; ++i) {
    d.x[i] = static_cast<float>(i) / 40.f;
    d.y[i] = 2 * d.x[i] - 1;
  }
  return d;
}

nn::Sequential line_model() {
  nn::Sequential model({nn::Dense(1, {.input_shape = {1}})});
  model.compile({.loss = "mse", .optimizer = nn::SGD(0.1), .metrics = {"mae"}});
  return model;
}

// Records the order of callback calls.
struct Recorder : nn::Callback {
  std::vector<std::string> calls;
  std::vector<nn::Logs> epoch_logs;
  void on_train_begin(nn::Model&) override { calls.push_back("train_begin"); }
  void on_epoch_begin(nn::Model&, int epoch) override { calls.push_back(fmt::format("epoch_begin {}", epoch)); }
  void on_batch_end(nn::Model&, int batch, const nn::Logs&) override {
    calls.push_back(fmt::format("batch_end {}", batch));
  }
  void on_epoch_end(nn::Model&, int epoch, const nn::Logs& logs) override {
    calls.push_back(fmt::format("epoch_end {}", epoch));
    epoch_logs.push_back(logs);
  }
  void on_train_end(nn::Model&, const nn::Logs&) override { calls.push_back("train_end"); }
};

// Stops training when the batch loss is not finite, as a TerminateOnNaN callback does.
struct StopOnNaN : nn::Callback {
  void on_batch_end(nn::Model& model, int, const nn::Logs& logs) override {
    if (!std::isfinite(logs.at("loss"))) model.stop_training = true;
  }
};

}  // namespace

TEST_CASE("fit calls the callbacks at the edges of training, epochs and batches, with validation logs") {
  Line d = line_data();
  nn::Sequential model = line_model();
  auto recorder = std::make_shared<Recorder>();
  nn::History h = model.fit(d.x, d.y, {.epochs = 2, .batch_size = 16, .validation_split = 0.25, .callbacks = {recorder},
                                       .verbose = 0});
  // 30 training samples: batches of 16 and 14.
  const std::vector<std::string> expected = {"train_begin", "epoch_begin 0", "batch_end 0", "batch_end 1", "epoch_end 0",
                                             "epoch_begin 1", "batch_end 0", "batch_end 1", "epoch_end 1", "train_end"};
  CHECK(recorder->calls == expected);
  REQUIRE(recorder->epoch_logs.size() == 2);
  for (const char* key : {"loss", "mae", "val_loss", "val_mae"}) {
    CAPTURE(key);
    CHECK(recorder->epoch_logs[1].count(key) == 1);
    CHECK(h[key].size() == 2);
    CHECK(h[key][1] == recorder->epoch_logs[1].at(key));
  }
}

TEST_CASE("validation_split takes the last fraction of the data before shuffling, as Keras does") {
  Line d = line_data();
  nn::Sequential model = line_model();
  nn::History h = model.fit(d.x, d.y, {.epochs = 1, .validation_split = 0.25, .verbose = 0});
  nn::Logs held_out = model.evaluate(d.x.rows(30, 40), d.y.rows(30, 40));
  CHECK(h["val_loss"][0] == doctest::Approx(held_out.at("loss")).epsilon(1e-6));
  CHECK(h["val_mae"][0] == doctest::Approx(held_out.at("mae")).epsilon(1e-6));
}

TEST_CASE("the same seed gives the same weights, shuffling and History") {
  Synthetic d = banded_images(96, 4);
  auto run = [&](uint64_t seed) {
    nn::Sequential model({nn::Flatten({28, 28}), nn::Dense(16, "relu"), nn::Dense(10, "softmax")});
    model.compile({.loss = "sparse_categorical_crossentropy", .optimizer = "adam", .metrics = {"accuracy"}});
    nn::History h = model.fit(d.x, d.y, {.epochs = 3, .batch_size = 8, .seed = seed, .verbose = 0});
    return std::make_pair(h.history, model.get_weights());
  };
  auto [h1, w1] = run(11);
  auto [h2, w2] = run(11);
  auto [h3, w3] = run(12);
  CHECK(h1 == h2);
  REQUIRE(w1.size() == w2.size());
  for (size_t i = 0; i < w1.size(); ++i) CHECK(w1[i].to_vector() == w2[i].to_vector());
  CHECK(h1 != h3);
}

TEST_CASE("shuffling changes the batches but not the data seen in an epoch") {
  Line d = line_data();
  nn::Sequential a = line_model(), b = line_model();
  a.build({1}, 5);
  b.build({1}, 5);
  nn::History shuffled = a.fit(d.x, d.y, {.epochs = 1, .batch_size = 8, .shuffle = true, .seed = 1, .verbose = 0});
  nn::History ordered = b.fit(d.x, d.y, {.epochs = 1, .batch_size = 8, .shuffle = false, .verbose = 0});
  CHECK(shuffled["loss"][0] != ordered["loss"][0]);
}

TEST_CASE("labels may be class indices [n], [n,1] or one-hot rows") {
  Synthetic d = banded_images(64, 5);
  Tensor onehot = Tensor::zeros({64, 10});
  for (int64_t i = 0; i < 64; ++i) onehot.at({i, static_cast<int64_t>(d.y[i])}) = 1;
  struct Case {
    std::string loss;
    Tensor y;
  };
  const Case cases[] = {{"sparse_categorical_crossentropy", d.y},
                        {"sparse_categorical_crossentropy", d.y.reshape({64, 1})},
                        {"categorical_crossentropy", onehot}};
  std::vector<double> losses;
  for (const Case& c : cases) {
    CAPTURE(c.loss);
    nn::Sequential model({nn::Flatten({28, 28}), nn::Dense(10, "softmax")});
    model.compile({.loss = c.loss, .optimizer = nn::SGD(0.1), .metrics = {"accuracy"}});
    nn::History h = model.fit(d.x, d.y.shape() == c.y.shape() ? d.y : c.y,
                              {.epochs = 2, .batch_size = 16, .seed = 2, .verbose = 0});
    losses.push_back(h["loss"][1]);
    CHECK(h["accuracy"][1] > 0.5);
  }
  // The same numbers whichever way the labels are written.
  CHECK(losses[0] == doctest::Approx(losses[1]).epsilon(1e-6));
  CHECK(losses[0] == doctest::Approx(losses[2]).epsilon(1e-5));
}

TEST_CASE("fit prints one line per epoch outside a terminal and nothing with verbose 0") {
  Line d = line_data();
  nn::Sequential model = line_model();
  std::ostringstream out;
  model.fit(d.x, d.y, {.epochs = 2, .batch_size = 20, .verbose = 1, .output = &out, .terminal = false});
  std::string s = out.str();
  CHECK(s.rfind("Epoch 1/2\n2/2 [==============================] - ", 0) == 0);
  CHECK(s.find("\nEpoch 2/2\n2/2 [==============================] - ") != std::string::npos);
  CHECK(s.find(" - loss: ") != std::string::npos);
  CHECK(s.find(" - mae: ") != std::string::npos);
  CHECK(std::count(s.begin(), s.end(), '\n') == 4);
  std::ostringstream quiet;
  model.fit(d.x, d.y, {.epochs = 2, .verbose = 0, .output = &quiet});
  CHECK(quiet.str().empty());
}

TEST_CASE("fit rejects bad input with messages naming the argument and the values") {
  Line d = line_data();
  nn::Sequential model = line_model();
  struct Case {
    std::string what;
    std::function<void()> call;
    const char* message;
  };
  const Case cases[] = {
      {"batch size 0", [&] { model.fit(d.x, d.y, {.batch_size = 0, .verbose = 0}); }, "batch_size must be positive, got 0"},
      {"negative epochs", [&] { model.fit(d.x, d.y, {.epochs = -1, .verbose = 0}); }, "epochs must be >= 0, got -1"},
      {"sample counts differ", [&] { model.fit(d.x, d.y.rows(0, 39), {.verbose = 0}); },
       "x has 40 samples but y has 39"},
      {"empty dataset", [&] { model.fit(d.x.rows(0, 0), d.y.rows(0, 0), {.verbose = 0}); }, "empty dataset"},
      {"feature shape", [&] { model.fit(Tensor::zeros({40, 3}), d.y, {.verbose = 0}); },
       "x has samples of shape [3] (batch [40,3]) but the model takes [1]"},
      {"validation_split 1", [&] { model.fit(d.x, d.y, {.validation_split = 1, .verbose = 0}); },
       "validation_split must be in [0, 1), got 1"},
      {"validation_split leaving nothing to train on", [&] { model.fit(d.x, d.y, {.validation_split = 0.99, .verbose = 0}); },
       "validation_split 0.99 of 40 samples leaves no training data"},
      {"validation data of another width", [&] {
         model.fit(d.x, d.y, {.validation_data = nn::ValidationData{Tensor::zeros({5, 2}), Tensor::zeros({5, 1})},
                              .verbose = 0});
       },
       "validation x has samples of shape [2]"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.what);
    CHECK_THROWS_WITH_AS(c.call(), doctest::Contains(c.message), ad::Error);
  }
}

TEST_CASE("fit before compile and labels out of range are named errors") {
  Synthetic d = banded_images(8, 6);
  nn::Sequential model({nn::Flatten({28, 28}), nn::Dense(10, "softmax")});
  CHECK_THROWS_WITH_AS(model.fit(d.x, d.y, {.verbose = 0}), doctest::Contains("fit: model 'sequential' is not compiled"),
                       ad::Error);
  model.compile({.loss = "sparse_categorical_crossentropy"});
  d.y[5] = 10;
  CHECK_THROWS_WITH_AS(model.fit(d.x, d.y, {.verbose = 0}),
                       doctest::Contains("fit: label 10 in row 5 of y is not a class index in [0, 10)"), ad::Error);
  CHECK_THROWS_WITH_AS(model.evaluate(d.x, d.y), doctest::Contains("evaluate: label 10 in row 5"), ad::Error);
}

TEST_CASE("a loss that becomes NaN stops fit with a clear error, or quietly when a callback stops training") {
  Line d = line_data();
  d.y[3] = 1e30f;  // squared, overflows float32 to inf
  SUBCASE("no callback: an error naming the epoch and batch") {
    nn::Sequential model = line_model();
    CHECK_THROWS_WITH_AS(model.fit(d.x, d.y, {.epochs = 2, .batch_size = 40, .verbose = 0}),
                         doctest::Contains("fit: the loss became inf at epoch 1, batch 1"), ad::Error);
  }
  SUBCASE("a callback that sets stop_training") {
    nn::Sequential model = line_model();
    auto before = model.get_weights();
    auto recorder = std::make_shared<Recorder>();
    nn::History h = model.fit(d.x, d.y, {.epochs = 3, .batch_size = 40, .callbacks = {std::make_shared<StopOnNaN>(), recorder},
                                         .verbose = 0});
    CHECK(h["loss"].size() == 1);
    CHECK(recorder->calls.back() == "train_end");
    // The weights were not touched by the non-finite step.
    auto after = model.get_weights();
    CHECK(std::isfinite(after[0][0]));
  }
}

TEST_CASE("epochs = 0 trains nothing and returns an empty History") {
  Line d = line_data();
  nn::Sequential model = line_model();
  model.build({1}, 1);
  auto before = model.get_weights();
  nn::History h = model.fit(d.x, d.y, {.epochs = 0, .verbose = 0});
  CHECK(h.history.empty());
  CHECK(model.get_weights()[0].to_vector() == before[0].to_vector());
}

TEST_CASE("predict works in batches of any size and on an unbuilt model") {
  nn::Sequential model({nn::Dense(3, "softmax")});
  ad::Rng rng(2);
  Tensor x = Tensor::uniform({10, 4}, -1, 1, rng);
  Tensor all = model.predict(x, 100), batched = model.predict(x, 3);
  CHECK(all.shape() == ad::Shape{10, 3});
  CHECK(ad::max_abs_difference(all, batched) < 1e-6f);
  CHECK_THROWS_WITH_AS(model.predict(x, 0), doctest::Contains("batch_size must be positive, got 0"), ad::Error);
  CHECK_THROWS_WITH_AS(model.predict(Tensor::zeros({2, 5})), doctest::Contains("x has samples of shape [5]"), ad::Error);
}

TEST_CASE("evaluate prints one bar with verbose 1, and fit with verbose 2 prints one line even on a terminal") {
  Line d = line_data();
  nn::Sequential model = line_model();
  std::ostringstream out;
  nn::Logs logs = model.evaluate(d.x, d.y, {.batch_size = 20, .verbose = 1, .output = &out, .terminal = false});
  CHECK(out.str().rfind("2/2 [==============================] - ", 0) == 0);
  CHECK(out.str().find(fmt::format(" - loss: {:.4f} - mae: {:.4f}\n", logs.at("loss"), logs.at("mae"))) !=
        std::string::npos);
  std::ostringstream fit_out;
  nn::History h = model.fit(d.x, d.y, {.epochs = 2, .batch_size = 4, .verbose = 2, .output = &fit_out, .terminal = true});
  std::string printed = fit_out.str();
  CHECK(printed.find('\r') == std::string::npos);
  CHECK(printed.find('[') == std::string::npos);  // no bar
  // One short line per epoch: "Epoch 2/2 - 0s - 1ms/step - loss: ... - mae: ...".
  CHECK(std::count(printed.begin(), printed.end(), '\n') == 2);
  for (int epoch = 0; epoch < 2; ++epoch) {
    CAPTURE(epoch);
    const std::string figures = fmt::format(" - loss: {:.4f} - mae: {:.4f}\n", h["loss"][static_cast<size_t>(epoch)],
                                            h["mae"][static_cast<size_t>(epoch)]);
    const size_t start = printed.find(fmt::format("Epoch {}/2 - ", epoch + 1));
    REQUIRE(start != std::string::npos);
    CHECK(printed.find(figures, start) == printed.find('\n', start) + 1 - figures.size());
  }

  std::ostringstream evaluated;
  model.evaluate(d.x, d.y, {.batch_size = 20, .verbose = 2, .output = &evaluated});
  const std::string evaluation = evaluated.str();
  CHECK(evaluation.rfind("2/2 - ", 0) == 0);
  CHECK(std::count(evaluation.begin(), evaluation.end(), '\n') == 1);
}

TEST_CASE("a loss that becomes NaN ends the progress line before fit reports it") {
  Line d = line_data();
  nn::Sequential model = line_model();
  model.compile({.loss = "mse", .optimizer = nn::SGD(1e6)});
  std::ostringstream out;
  CHECK_THROWS_WITH_AS(model.fit(d.x, d.y, {.epochs = 50, .batch_size = 4, .output = &out, .terminal = true}),
                       doctest::Contains("fit: the loss became"), ad::Error);
  CHECK(out.str().back() == '\n');
  CHECK(out.str().find("-nan") == std::string::npos);
  std::string message;
  try {
    model.fit(d.x, d.y, {.epochs = 50, .batch_size = 4, .verbose = 0});
  } catch (const ad::Error& e) {
    message = e.what();
  }
  CAPTURE(message);
  CHECK((message.find("the loss became nan ") != std::string::npos ||
         message.find("the loss became inf ") != std::string::npos));
}

// Loaded or set weights that hold NaN or Inf: the learning rate is not the thing to change.
TEST_CASE("a loss made non-finite by non-finite weights names the weight, not the learning rate") {
  Line d = line_data();
  for (float bad : {std::nanf(""), std::numeric_limits<float>::infinity()}) {
    CAPTURE(bad);
    nn::Sequential model = line_model();
    std::vector<Tensor> weights = model.get_weights();
    weights.back()[0] = bad;  // the last layer's bias
    model.set_weights(weights);
    std::string message;
    try {
      model.fit(d.x, d.y, {.epochs = 1, .batch_size = 4, .verbose = 0});
    } catch (const ad::Error& e) {
      message = e.what();
    }
    CAPTURE(message);
    CHECK(message.find("the weights were not finite before that batch") != std::string::npos);
    CHECK(message.find(fmt::format("/bias holds {} at flat index 0", bad)) != std::string::npos);
    CHECK(message.find("learning rate") == std::string::npos);
  }
}

TEST_CASE("a model without layers says so instead of training") {
  nn::Sequential empty;
  empty.compile({.loss = "mse"});
  CHECK_THROWS_WITH_AS(empty.fit(Tensor::zeros({2, 1}), Tensor::zeros({2, 1}), {.verbose = 0}),
                       doctest::Contains("model 'sequential' has no layers"), ad::Error);
  CHECK_THROWS_WITH_AS(empty.predict(Tensor::zeros({2, 1})), doctest::Contains("has no layers"), ad::Error);
}

TEST_CASE("validation data given as a braced pair is evaluated after each epoch") {
  Line d = line_data();
  Tensor x_valid = d.x.rows(30, 40), y_valid = d.y.rows(30, 40);
  SUBCASE("{x, y}") {
    nn::Sequential model = line_model();
    nn::History h = model.fit(d.x.rows(0, 30), d.y.rows(0, 30), {.epochs = 2, .validation_data = {x_valid, y_valid}, .verbose = 0});
    CHECK(h["val_loss"].size() == 2);
    CHECK(h["val_loss"][1] == doctest::Approx(model.evaluate(x_valid, y_valid).at("loss")).epsilon(1e-6));
  }
  SUBCASE("{{x, y}}") {
    nn::Sequential model = line_model();
    nn::History h = model.fit(d.x.rows(0, 30), d.y.rows(0, 30), {.epochs = 1, .validation_data = {{x_valid, y_valid}}, .verbose = 0});
    CHECK(h["val_loss"][0] == doctest::Approx(model.evaluate(x_valid, y_valid).at("loss")).epsilon(1e-6));
  }
}

namespace {

// One dense layer on a single input feature x = 1, so that the logits are kernel + bias exactly.
nn::Sequential one_layer(int64_t units, const std::string& activation, const std::string& loss, double lr,
                         std::vector<float> bias) {
  nn::Sequential model({nn::Dense(units, {.activation = activation, .input_shape = {1}})});
  model.compile({.loss = loss, .optimizer = nn::SGD(lr)});
  model.build({1});
  model.set_weights({Tensor::zeros({1, units}), Tensor::from({units}, bias)});
  return model;
}

}  // namespace

// The exact losses of a confident mistake: -log softmax([20, 0])[1] = 20 + log(1 + e^-20), and
// -log(1 - sigmoid(100)) = 100 + log(1 + e^-100). Probabilities clipped at 1e-7 would cap
// both at -log(1e-7) = 16.118 in evaluate and val_loss while fit reported the true figure.
TEST_CASE("evaluate and val_loss give the training loss of a confident mistake, eager and compiled") {
  struct Case {
    const char* what;
    int64_t units;
    const char* activation;
    const char* loss;
    std::vector<float> bias;
    Tensor y;
    double expected;
  };
  const Case cases[] = {
      {"softmax, sparse labels", 2, "softmax", "sparse_categorical_crossentropy", {20, 0}, Tensor::from({1}, {1}),
       20 + std::log1p(std::exp(-20.0))},
      {"softmax, one-hot", 2, "softmax", "categorical_crossentropy", {20, 0}, Tensor::from({1, 2}, {0, 1}),
       20 + std::log1p(std::exp(-20.0))},
      {"softmax, far above the clip", 3, "softmax", "sparse_categorical_crossentropy", {0, 50, 0},
       Tensor::from({1}, {0}), 50 + std::log1p(2 * std::exp(-50.0))},
      {"sigmoid", 1, "sigmoid", "binary_crossentropy", {100}, Tensor::from({1, 1}, {0}), 100},
      {"sigmoid, the other side", 1, "sigmoid", "binary_crossentropy", {-30}, Tensor::from({1, 1}, {1}),
       30 + std::log1p(std::exp(-30.0))},
  };
  Tensor x = Tensor::from({1, 1}, {1});
  for (const Case& c : cases)
    for (bool eager : {false, true}) {
      std::string label = fmt::format("{}, {}", c.what, eager ? "eager" : "compiled");
      INFO(label);
      nn::Sequential model = one_layer(c.units, c.activation, c.loss, 0, c.bias);
      nn::History h = model.fit(x, c.y, {.epochs = 1, .batch_size = 1, .validation_data = {x, c.y}, .verbose = 0,
                                         .eager = eager});
      CHECK(h["loss"][0] == doctest::Approx(c.expected).epsilon(1e-6));
      CHECK(h["val_loss"][0] == doctest::Approx(c.expected).epsilon(1e-6));
      CHECK(model.evaluate(x, c.y)["loss"] == doctest::Approx(c.expected).epsilon(1e-6));
    }
}

TEST_CASE("a model whose outputs are probabilities without softmax gets the clipped loss in fit and evaluate alike") {
  // A linear layer that outputs [1, 0]: the loss sees probabilities, clipped at 1e-7 as Keras does.
  Tensor x = Tensor::from({1, 1}, {1}), y = Tensor::from({1}, {1});
  for (bool eager : {false, true}) {
    const char* mode = eager ? "eager" : "compiled";
    INFO(mode);
    nn::Sequential model = one_layer(2, "linear", "sparse_categorical_crossentropy", 0, {1, 0});
    nn::History h = model.fit(x, y, {.epochs = 1, .batch_size = 1, .validation_data = {x, y}, .verbose = 0, .eager = eager});
    double clipped = -std::log(double(1e-7f));
    CHECK(h["loss"][0] == doctest::Approx(clipped).epsilon(1e-5));
    CHECK(h["val_loss"][0] == doctest::Approx(clipped).epsilon(1e-5));
    CHECK(model.evaluate(x, y)["loss"] == doctest::Approx(clipped).epsilon(1e-5));
  }
}

// Each SGD step (lr 1, x = 1) moves the logits of [40, 0] by the gradient [-1, 1] through the
// kernel and again through the bias: 40 -> 36 -> 32 -> 28, all far above the clip's 16.1.
TEST_CASE("EarlyStopping on val_loss sees the loss of confident mistakes fall above the clip's cap") {
  Tensor x = Tensor::from({1, 1}, {1}), y = Tensor::from({1}, {1});
  for (bool eager : {false, true}) {
    const char* mode = eager ? "eager" : "compiled";
    INFO(mode);
    nn::Sequential model = one_layer(2, "softmax", "sparse_categorical_crossentropy", 1, {40, 0});
    auto stop = nn::EarlyStopping({.monitor = "val_loss", .patience = 0});
    nn::History h = model.fit(x, y, {.epochs = 3, .batch_size = 1, .validation_data = {x, y}, .callbacks = {stop},
                                     .verbose = 0, .eager = eager});
    REQUIRE(h["val_loss"].size() == 3);
    CHECK(h["val_loss"][0] == doctest::Approx(36).epsilon(1e-6));
    CHECK(h["val_loss"][1] == doctest::Approx(32).epsilon(1e-6));
    CHECK(h["val_loss"][2] == doctest::Approx(28).epsilon(1e-6));
  }
}

TEST_CASE("fit and evaluate refuse x holding NaN or an infinity, naming the first such sample") {
  ad::Rng rng(4);
  Tensor x = Tensor::uniform({12, 2}, -1, 1, rng), y = Tensor::uniform({12, 1}, -1, 1, rng);
  auto model = [] {
    nn::Sequential m({nn::Dense(3, {.activation = "relu", .input_shape = {2}}), nn::Dense(1)});
    m.compile({.loss = "mse", .optimizer = nn::SGD(0.1)});
    return m;
  };
  SUBCASE("NaN") {
    Tensor bad = x.clone();
    bad.at({5, 1}) = NAN;
    bad.at({9, 0}) = NAN;
    nn::Sequential m = model();
    CHECK_THROWS_WITH_AS(m.fit(bad, y, {.verbose = 0}), doctest::Contains("fit: x holds nan in sample 5 (value 1 of"),
                         ad::Error);
    CHECK_THROWS_WITH_AS(m.evaluate(bad, y), doctest::Contains("evaluate: x holds nan in sample 5"), ad::Error);
    CHECK_THROWS_WITH_AS(m.fit(x, y, {.validation_data = {bad, y}, .verbose = 0}),
                         doctest::Contains("fit: validation x holds nan in sample 5"), ad::Error);
    // With validation_split the samples are counted in the caller's x.
    CHECK_THROWS_WITH_AS(m.fit(bad, y, {.validation_split = 0.25, .verbose = 0}),
                         doctest::Contains("x holds nan in sample 5"), ad::Error);
  }
  SUBCASE("infinity") {
    Tensor bad = x.clone();
    bad.at({11, 0}) = -INFINITY;
    nn::Sequential m = model();
    CHECK_THROWS_WITH_AS(m.fit(bad, y, {.verbose = 0}), doctest::Contains("fit: x holds -inf in sample 11 (value 0"),
                         ad::Error);
  }
}

// The model: with a NaN among the first layer's weights, relu(NaN) = 0 would hide it
// (a finite loss, NaN left in the weights); NaN must reach the loss, so that fit stops at the
// first batch naming it and TerminateOnNaN fires, in both step runners.
TEST_CASE("a NaN reaching a relu layer makes the loss NaN, so fit stops and TerminateOnNaN fires") {
  ad::Rng rng(4);
  Tensor x = Tensor::uniform({12, 2}, -1, 1, rng), y = Tensor::uniform({12, 1}, -1, 1, rng);
  for (bool eager : {false, true}) {
    const char* mode = eager ? "eager" : "compiled";
    INFO(mode);
    nn::Sequential m({nn::Dense(3, {.activation = "relu", .input_shape = {2}}), nn::Dense(1)});
    m.compile({.loss = "mse", .optimizer = nn::SGD(0.1)});
    m.build({2}, 1);
    std::vector<Tensor> w = m.get_weights();
    w[0].at({1, 2}) = NAN;
    m.set_weights(w);
    CHECK_THROWS_WITH_AS(m.fit(x, y, {.epochs = 1, .batch_size = 4, .verbose = 0, .eager = eager}),
                         doctest::Contains("fit: the loss became nan at epoch 1, batch 1"), ad::Error);
    auto terminate = nn::TerminateOnNaN();
    nn::History h = m.fit(x, y, {.epochs = 2, .batch_size = 4, .callbacks = {terminate}, .verbose = 0, .eager = eager});
    REQUIRE(terminate->terminated_batch().has_value());
    CHECK(*terminate->terminated_batch() == 0);
    // Nothing was trained on the NaN: every other weight is as it was.
    std::vector<Tensor> after = m.get_weights();
    for (size_t i = 0; i < w.size(); ++i)
      for (int64_t k = 0; k < w[i].size(); ++k)
        if (!std::isnan(w[i][k])) CHECK(after[i][k] == w[i][k]);
    // The NaN weight feeds hidden unit 2 for every sample: every prediction is NaN.
    Tensor p = m.predict(x);
    for (float v : p.values()) CHECK(std::isnan(v));
  }
}

// (evaluate refuses such x, as fit does: see above.)
TEST_CASE("predict gives NaN, not numbers, for a sample whose input is NaN, compiled and eager") {
  // Small layers run as plain loops; larger ones as oneDNN matmuls with a relu post-op.
  for (auto [samples, features, units] : {std::tuple{6, 2, 4}, std::tuple{40, 32, 64}})
  for (const char* last : {"linear", "softmax", "sigmoid"}) {
    std::string label = fmt::format("{}, {} units", last, units);
    INFO(label);
    ad::Rng rng(6);
    Tensor x = Tensor::uniform({samples, features}, -1, 1, rng);
    x.at({3, 0}) = NAN;
    nn::Sequential m({nn::Dense(units, {.activation = "relu", .input_shape = {features}}), nn::Dense(3, last)});
    m.build({features}, 2);
    Tensor compiled = m.predict(x), eager = nn::EagerStep(m).predict(x);
    for (int64_t i = 0; i < samples; ++i)
      for (int64_t j = 0; j < 3; ++j) {
        CHECK(std::isnan(compiled.at({i, j})) == (i == 3));
        CHECK(std::isnan(eager.at({i, j})) == (i == 3));
      }
  }
}

// The row: logits [2^24, 2^24] (and the same far below 0) are a fair coin, whatever the
// offset, in predict, evaluate and val_loss, compiled and eager.
TEST_CASE("predict, evaluate and val_loss of a softmax model keep their precision for logits offset by 2^24") {
  Tensor x = Tensor::from({1, 1}, {1}), y = Tensor::from({1}, {1});
  for (float m : {16777216.f, -16777216.f, 1e3f})
    for (bool eager : {false, true}) {
      std::string label = fmt::format("m = {}, {}", m, eager ? "eager" : "compiled");
      INFO(label);
      nn::Sequential model = one_layer(2, "softmax", "sparse_categorical_crossentropy", 0, {m, m});
      Tensor p = eager ? nn::EagerStep(model).predict(x) : model.predict(x);
      CHECK(p[0] == doctest::Approx(0.5).epsilon(1e-7));
      CHECK(p[1] == doctest::Approx(0.5).epsilon(1e-7));
      nn::History h = model.fit(x, y, {.epochs = 1, .batch_size = 1, .validation_data = {x, y}, .verbose = 0, .eager = eager});
      CHECK(h["loss"][0] == doctest::Approx(std::log(2.0)).epsilon(1e-6));
      CHECK(h["val_loss"][0] == doctest::Approx(std::log(2.0)).epsilon(1e-6));
      CHECK(model.evaluate(x, y)["loss"] == doctest::Approx(std::log(2.0)).epsilon(1e-6));
    }
}
