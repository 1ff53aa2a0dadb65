// xor: why one layer of threshold units is not enough and two are. A single perceptron fails
// on XOR (no straight line puts (0,1) and (1,0) on one side and (0,0) and (1,1) on the
// other), a two-layer network of threshold units wired by hand computes it, and a small MLP
// trained by backpropagation finds such weights by itself.
//
//   ./xor                          the three, with their truth tables
//   ./xor --hidden 8 --seed 3      another MLP
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "apps/app_support.h"
#include "apps/option_checks.h"
#include "tapegrad/autodiff/ops.h"
#include "tapegrad/datasets/xor.h"
#include "tapegrad/nn/layers/dense.h"
#include "tapegrad/nn/optimizers/adam.h"
#include "tapegrad/nn/perceptron.h"
#include "tapegrad/nn/sequential.h"

namespace {

const std::vector<std::string> kInputs = {"A", "B"};

void single_perceptron(const ad::Tensor& X, const ad::Tensor& y) {
  nn::Perceptron perceptron;
  perceptron.fit(X, y);
  fmt::print("1. One perceptron (Rosenblatt's learning rule)\n");
  fmt::print("{}\n", perceptron.report());
  fmt::print(
      "training accuracy {:.2f}: no line puts XOR's 1s on one side and its 0s on the other, so one\n"
      "threshold unit gets at most 3 of the 4 right\n",
      perceptron.score(X, y));
  fmt::print("{}\n", nn::to_string(apps::truth_table_of(X, perceptron.predict(X), kInputs, {"perceptron"})));
}

// h1 = A OR B and h2 = NOT (A AND B) in the hidden layer, their AND at the output: each unit
// is step(w.x + b) with weights chosen by hand.
void hand_wired(const ad::Tensor& X) {
  const ad::Var W1 = ad::constant(ad::Tensor::from({2, 2}, {1, -1, 1, -1}));
  const ad::Var b1 = ad::constant(ad::Tensor::from({2}, {-0.5f, 1.5f}));
  const ad::Var W2 = ad::constant(ad::Tensor::from({2, 1}, {1, 1}));
  const ad::Var b2 = ad::constant(ad::Tensor::from({1}, {-1.5f}));
  const ad::Var hidden = ad::heaviside(ad::matmul(ad::constant(X), W1) + b1);
  const ad::Var output = ad::heaviside(ad::matmul(hidden, W2) + b2);

  ad::Tensor columns({4, 3});
  for (int64_t i = 0; i < 4; ++i) {
    columns.at({i, 0}) = hidden.value().at({i, 0});
    columns.at({i, 1}) = hidden.value().at({i, 1});
    columns.at({i, 2}) = output.value()[i];
  }
  fmt::print("2. Two layers of threshold units, wired by hand (step(z) = 1 when z >= 0)\n");
  fmt::print("   h1  = step( A + B - 0.5)    A OR B\n");
  fmt::print("   h2  = step(-A - B + 1.5)    NOT (A AND B)\n");
  fmt::print("   out = step(h1 + h2 - 1.5)   h1 AND h2\n");
  fmt::print("{}\n", nn::to_string(apps::truth_table_of(X, columns, kInputs, {"h1", "h2", "A XOR B"})));
}

struct MlpOptions {
  int hidden = 4;
  int epochs = 500;
  double learning_rate = 0.05;
  uint64_t seed = 1;
};

void trained_mlp(const ad::Tensor& X, const ad::Tensor& y, const MlpOptions& options) {
  nn::Sequential model({nn::Dense(options.hidden, "tanh"), nn::Dense(1, "sigmoid")});
  model.compile({.loss = "binary_crossentropy", .optimizer = nn::Adam(options.learning_rate), .metrics = {"accuracy"}});
  nn::History history =
      model.fit(X, y, {.epochs = options.epochs, .batch_size = 4, .seed = options.seed, .verbose = 0});
  const ad::Tensor probability = model.predict(X);

  fmt::print("3. A multilayer perceptron trained by backpropagation\n");
  fmt::print("   Dense({}, tanh) -> Dense(1, sigmoid), binary cross-entropy, Adam({}), {} epochs, seed {}\n",
             options.hidden, options.learning_rate, options.epochs, options.seed);
  fmt::print("   final loss {:.4f}, accuracy {:.2f}\n", history["loss"].back(), history["accuracy"].back());
  // The table's lines with each row's probability after it.
  std::string table = nn::to_string(apps::truth_table_of(X, probability, kInputs, {"A XOR B"}));
  int64_t row = -1;
  for (size_t begin = 0, end; (end = table.find('\n', begin)) != std::string::npos; begin = end + 1, ++row)
    fmt::print("{}{}\n", table.substr(begin, end - begin),
               row < 0 ? "   p(1)" : fmt::format("   {:.3f}", probability[row]));
  bool learned = true;
  for (int64_t i = 0; i < 4; ++i) learned = learned && (probability[i] >= 0.5f) == (y[i] == 1);
  fmt::print("{}\n", learned ? "The MLP learned XOR." : "The MLP has not learned XOR yet: try more --epochs.");
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"XOR: one perceptron fails, two layers of threshold units succeed, an MLP learns it"};
  MlpOptions mlp;
  app.add_option("--hidden", mlp.hidden, "Hidden units of the MLP")->capture_default_str()->check(apps::integer_from(1, 10000));
  app.add_option("--epochs", mlp.epochs, "Training epochs of the MLP")
      ->capture_default_str()
      ->check(apps::integer_from(1, 1000000));
  app.add_option("--lr", mlp.learning_rate, "Adam's learning rate")
      ->capture_default_str()
      ->check(apps::number_in({.low = 0, .high = 10, .low_excluded = true}));
  app.add_option("--seed", mlp.seed, "Seed of the MLP's initial weights and shuffling")
      ->capture_default_str()
      ->check(apps::integer_from<uint64_t>(0));
  CLI11_PARSE(app, argc, argv);

  return apps::run_reporting_errors("xor", [&] {
    const datasets::Xor data = datasets::load_xor();
    const ad::Tensor y = data.targets.reshape({-1});
    fmt::print("XOR is 1 when exactly one of A and B is 1.\n\n");
    single_perceptron(data.inputs, y);
    hand_wired(data.inputs);
    trained_mlp(data.inputs, data.targets, mlp);
  });
}
