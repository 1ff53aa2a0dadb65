// The main job: the book's Fashion MNIST classifier, exactly as Keras users write it.
// Flatten -> Dense 300 relu -> Dense 100 relu -> Dense 10 softmax, SGD 0.01, batch 32,
// 30 epochs, the first 5,000 training images kept for validation.
//
//   fashion_mnist                      # the book's settings, outputs in the current folder
//   fashion_mnist --epochs 5 --out out --threads 2 --seed 2
#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include <chrono>
#include <filesystem>

#include "apps/option_checks.h"
#include "tapegrad/autodiff/kernels/matmul.h"
#include "tapegrad/autodiff/threading.h"
#include "tapegrad/datasets/fashion_mnist.h"
#include "tapegrad/datasets/split.h"
#include "tapegrad/datasets/to_tensor.h"
#include "tapegrad/nn/atomic_file.h"
#include "tapegrad/nn/layers/all.h"
#include "tapegrad/nn/optimizers/sgd.h"
#include "tapegrad/nn/plot_history.h"
#include "tapegrad/nn/sequential.h"

namespace {

struct Options {
  int epochs = 30;
  int batch_size = 32;
  double learning_rate = 0.01;
  std::string optimizer = "sgd";
  int threads = 0;
  uint64_t seed = 42;
  std::string out = ".";
  std::string data;
  int train_limit = 0;  // 0: all 55,000 training images (tests use a slice)
  bool eager = false;
};

// "momentum" and "nesterov" are SGD with Keras' usual momentum of 0.9; every optimizer gets --lr.
nn::OptimizerRef make_optimizer(const Options& o) {
  if (o.optimizer == "sgd") return nn::SGD(o.learning_rate);
  if (o.optimizer == "momentum") return nn::SGD(o.learning_rate, {.momentum = 0.9});
  if (o.optimizer == "nesterov") return nn::SGD(o.learning_rate, {.momentum = 0.9, .nesterov = true});
  nn::OptimizerRef optimizer(o.optimizer);
  optimizer.get()->learning_rate = o.learning_rate;
  return optimizer;
}

int run(const Options& o) {
  // Before the data is read: an unwritable folder found when the results are saved costs the run.
  if (std::string why = apps::unwritable_folder_reason(o.out); !why.empty()) throw std::runtime_error("--out: " + why);
  ad::set_num_threads(o.threads);
  auto data = datasets::fashion_mnist::load(o.data.empty() ? std::optional<std::string>{} : o.data);
  auto class_names = datasets::fashion_mnist::class_names();
  ad::Tensor X_train_full = datasets::images_to_tensor(data.train.images);
  ad::Tensor y_train_full = datasets::labels_to_tensor(data.train.labels);
  ad::Tensor X_test = datasets::images_to_tensor(data.test.images);
  ad::Tensor y_test = datasets::labels_to_tensor(data.test.labels);
  // The book keeps the first 5,000 training images for validation: checked before training, so
  // that a small dataset given with --data fails now, not after the epochs.
  int64_t n = X_train_full.shape()[0];
  if (n <= 5000)
    throw std::runtime_error(fmt::format("--data: the training set has {} images; the app keeps the first 5,000 for "
                                         "validation and needs more to train on", n));
  if (X_test.shape()[0] < 3)
    throw std::runtime_error(fmt::format("--data: the test set has {} images; the app evaluates on it and shows "
                                         "its first 3, so it needs at least 3", X_test.shape()[0]));
  ad::Tensor X_valid = X_train_full.rows(0, 5000), y_valid = y_train_full.rows(0, 5000);
  int64_t end = o.train_limit > 0 ? std::min<int64_t>(n, 5000 + o.train_limit) : n;
  ad::Tensor X_train = X_train_full.rows(5000, end), y_train = y_train_full.rows(5000, end);

  nn::Sequential model({
      nn::Flatten({28, 28}),
      nn::Dense(300, "relu"),
      nn::Dense(100, "relu"),
      nn::Dense(10, "softmax"),
  });
  model.build({28, 28}, o.seed);
  fmt::print("{}\n", model.summary());
  model.compile({.loss = "sparse_categorical_crossentropy", .optimizer = make_optimizer(o), .metrics = {"accuracy"}});

  std::filesystem::path out(o.out);  // checked writable when the options were read
  auto start = std::chrono::steady_clock::now();
  nn::History history = model.fit(X_train, y_train, {.epochs = o.epochs, .batch_size = o.batch_size,
                                                     .validation_data = nn::ValidationData{X_valid, y_valid},
                                                     .seed = o.seed, .eager = o.eager});
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  int epochs_run = std::max<int>(1, static_cast<int>(history.epochs.size()));

  nn::Logs test = model.evaluate(X_test, y_test);
  fmt::print("\nTest: loss {:.4f}, accuracy {:.4f}\n\n", test.at("loss"), test.at("accuracy"));
  ad::Tensor proba = model.predict(X_test.rows(0, 3));
  for (int64_t i = 0; i < 3; ++i) {
    int64_t best = 0;
    for (int64_t j = 0; j < 10; ++j)
      if (proba.at({i, j}) > proba.at({i, best})) best = j;
    std::string row;
    for (int64_t j = 0; j < 10; ++j) row += fmt::format("{}{:.2f}", j ? " " : "", proba.at({i, j}));
    fmt::print("test image {}: predicted {} ({:.2f}), true {}  [{}]\n", i, class_names[best], proba.at({i, best}),
               class_names[static_cast<size_t>(y_test[i])], row);
  }

  model.save((out / "fashion_mnist.model").string());
  std::string csv = "epoch";
  for (const auto& [name, values] : history.history) csv += "," + name;
  csv += "\n";
  for (size_t e = 0; e < history.epochs.size(); ++e) {
    csv += std::to_string(history.epochs[e]);  // from 0, as Keras' CSVLogger and pandas' index write it
    for (const auto& [name, values] : history.history) csv += fmt::format(",{:.6f}", e < values.size() ? values[e] : 0.0);
    csv += "\n";
  }
  nn::write_file_atomically((out / "history.csv").string(), csv, "fashion_mnist");
  if (history.epochs.empty()) {  // --epochs 0: the untrained model is evaluated and saved; no curves to draw
    fmt::print("\nsaved {} and {} (no learning curves: no epoch was run)\n", (out / "fashion_mnist.model").string(),
               (out / "history.csv").string());
    fmt::print("test accuracy {:.4f}, test loss {:.4f} ({} threads, {})\n", test.at("accuracy"), test.at("loss"),
               ad::num_threads(), ad::kernels::cpu_isa());
    return 0;
  }
  nn::plot_history(history, (out / "learning_curves.svg").string(), {.title = "Fashion MNIST: learning curves"});
  fmt::print("\nsaved {}, {} and {}\n", (out / "fashion_mnist.model").string(), (out / "history.csv").string(),
             (out / "learning_curves.svg").string());
  fmt::print("test accuracy {:.4f}, test loss {:.4f}, {:.2f} s per epoch ({} threads, {})\n", test.at("accuracy"),
             test.at("loss"), seconds / epochs_run, ad::num_threads(), ad::kernels::cpu_isa());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"Trains the book's Fashion MNIST classifier (Flatten, Dense 300 relu, Dense 100 relu, Dense 10 softmax)"};
  app.add_option("--epochs", o.epochs, "training epochs")->capture_default_str()->check(apps::integer_from(0));
  app.add_option("--batch-size", o.batch_size, "samples per step")->capture_default_str()->check(apps::integer_from(1));
  app.add_option("--lr", o.learning_rate, "learning rate")->capture_default_str()
      ->check(apps::number_in({.low = 0, .high = 10, .low_excluded = true}));
  app.add_option("--optimizer", o.optimizer, "sgd, momentum (SGD with momentum 0.9), nesterov (the same, Nesterov's form), adam or rmsprop")
      ->capture_default_str()->check(CLI::IsMember({"sgd", "momentum", "nesterov", "adam", "rmsprop"}));
  app.add_option("--threads", o.threads, "threads for everything (0: all cores)")->capture_default_str()
      ->check(apps::integer_from(0, 1024));
  app.add_option("--seed", o.seed, "seed of the initial weights and the shuffling")->capture_default_str()
      ->check(apps::integer_from<uint64_t>(0));
  app.add_option("--out", o.out, "folder for the model, history.csv and learning_curves.svg (created if missing)")
      ->capture_default_str();
  app.add_option("--data", o.data, "folder with the Fashion MNIST IDX files (default: Debian's package)")
      ->check(apps::existing_folder());
  app.add_option("--train-limit", o.train_limit, "use only this many training images (0: all)")
      ->check(apps::integer_from(0));
  app.add_flag("--eager", o.eager, "run op by op instead of the compiled graph");
  CLI11_PARSE(app, argc, argv);
  try {
    return run(o);
  } catch (const std::exception& e) {
    fmt::print(stderr, "fashion_mnist: {}\n", e.what());
    return 1;
  }
}
