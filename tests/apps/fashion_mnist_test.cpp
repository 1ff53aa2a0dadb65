// The main job, run as a user runs it but on a slice of the data and one epoch.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "../datasets/files.h"
#include "../nn/scratch_folder.h"
#include "tapegrad/datasets/fashion_mnist.h"
#include "tapegrad/nn/sequential.h"
#include "run_app.h"

namespace {

bool dataset_installed() {
  try {
    return std::filesystem::exists(datasets::fashion_mnist::locate().folder);
  } catch (const std::exception&) {
    return false;
  }
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

TEST_CASE("fashion_mnist trains on a slice and reports, saves and plots what it did") {
  if (!dataset_installed()) {
    MESSAGE("Debian's dataset-fashion-mnist is not installed: skipped");
    return;
  }
  tests::ScratchFolder out;
  AppRun run = run_app("fashion_mnist",
                       fmt::format("--epochs 2 --train-limit 3000 --seed 1 --out '{}'", out.path().string()));
  CAPTURE(run.output);
  REQUIRE(run.exit_code == 0);
  CHECK(contains(run.output, "Total params: 266,610"));
  CHECK(contains(run.output, "Epoch 1/2"));
  CHECK(contains(run.output, "Epoch 2/2"));
  // Not a terminal: one finished line per epoch, no redrawing.
  CHECK_FALSE(contains(run.output, "\r"));
  CHECK(std::regex_search(run.output, std::regex(R"(94/94 \[=+\] - .* - loss: [0-9.]+ - accuracy: [0-9.]+ - val_loss: [0-9.]+ - val_accuracy: [0-9.]+)")));
  // The first three test images are an ankle boot, a pullover and a trouser.
  CHECK(contains(run.output, "test image 0:"));
  CHECK(contains(run.output, "true Ankle boot"));
  CHECK(contains(run.output, "true Pullover"));
  CHECK(contains(run.output, "true Trouser"));

  std::smatch m;
  REQUIRE(std::regex_search(run.output, m,
                            std::regex(R"(test accuracy ([0-9.]+), test loss ([0-9.]+), ([0-9.]+) s per epoch \((\d+) threads, ([^)]+)\))")));
  double accuracy = std::stod(m[1]);
  CHECK(accuracy > 0.6);  // 3,000 images, two epochs: far above chance (0.1), far below the full run
  CHECK(accuracy <= 1.0);

  // The history CSV has a header and one row per epoch; the picture is an SVG with all four curves.
  std::string csv = read_file(out.path() / "history.csv");
  CHECK(csv.rfind("epoch,", 0) == 0);
  CHECK(contains(csv, "val_accuracy"));
  CHECK(std::count(csv.begin(), csv.end(), '\n') == 3);
  std::string svg = read_file(out.path() / "learning_curves.svg");
  CHECK(svg.rfind("<svg", 0) == 0);
  CHECK(contains(svg, ">loss<"));
  CHECK(contains(svg, ">accuracy<"));
  CHECK(contains(svg, ">val_loss<"));
  CHECK(contains(svg, ">val_accuracy<"));

  // The saved model loads and classifies the first test image as the app did.
  nn::Sequential model = nn::load_model((out.path() / "fashion_mnist.model").string());
  auto data = datasets::fashion_mnist::load();
  ad::Tensor first = ad::Tensor::empty({1, 28, 28});
  for (int64_t i = 0; i < 784; ++i) first[i] = data.test.images.data[static_cast<size_t>(i)] / 255.f;
  ad::Tensor proba = model.predict(first);
  REQUIRE(proba.shape() == ad::Shape{1, 10});
  int64_t best = 0;
  for (int64_t j = 1; j < 10; ++j)
    if (proba[j] > proba[best]) best = j;
  CHECK(contains(run.output, fmt::format("test image 0: predicted {} ", datasets::fashion_mnist::class_names()[static_cast<size_t>(best)])));
}

TEST_CASE("fashion_mnist --epochs 0 evaluates and saves the untrained model and draws no curves") {
  if (!dataset_installed()) {
    MESSAGE("Debian's dataset-fashion-mnist is not installed: skipped");
    return;
  }
  tests::ScratchFolder out;
  AppRun run = run_app("fashion_mnist", fmt::format("--epochs 0 --train-limit 500 --out '{}'", out.path().string()));
  CAPTURE(run.output);
  CHECK(run.exit_code == 0);
  CHECK(contains(run.output, "no learning curves: no epoch was run"));
  CHECK(std::filesystem::exists(out.path() / "fashion_mnist.model"));
  CHECK_FALSE(std::filesystem::exists(out.path() / "learning_curves.svg"));
}

TEST_CASE("fashion_mnist trained compiled and eagerly reaches the same test accuracy within half a point") {
  if (!dataset_installed()) {
    MESSAGE("Debian's dataset-fashion-mnist is not installed: skipped");
    return;
  }
  auto accuracy_of = [](const std::string& extra) {
    tests::ScratchFolder out;
    AppRun run = run_app("fashion_mnist", fmt::format("--epochs 1 --train-limit 5000 --seed 2 --out '{}' {}",
                                                      out.path().string(), extra));
    CAPTURE(run.output);
    REQUIRE(run.exit_code == 0);
    std::smatch m;
    REQUIRE(std::regex_search(run.output, m, std::regex(R"(test accuracy ([0-9.]+))")));
    return std::stod(m[1]);
  };
  double compiled = accuracy_of("");
  double eager = accuracy_of("--eager");
  CAPTURE(compiled);
  CAPTURE(eager);
  CHECK(compiled > 0.6);
  CHECK(std::abs(compiled - eager) <= 0.005);
}

TEST_CASE("fashion_mnist trains with each optimizer it offers") {
  if (!dataset_installed()) {
    MESSAGE("Debian's dataset-fashion-mnist is not installed: skipped");
    return;
  }
  // Learning rates each optimizer is usually run with; one epoch on 3,000 images takes every one
  // of them far above chance (0.1).
  for (const auto& setting : {std::pair{"momentum", 0.01}, {"nesterov", 0.01}, {"adam", 0.001}, {"rmsprop", 0.001}}) {
    // Named copies, not a structured binding: clang 14 cannot capture those (CAPTURE does).
    const std::string optimizer = setting.first;
    const double lr = setting.second;
    tests::ScratchFolder out;
    AppRun run = run_app("fashion_mnist", fmt::format("--epochs 1 --train-limit 3000 --seed 3 --optimizer {} --lr {} --out '{}'",
                                                      optimizer, lr, out.path().string()));
    CAPTURE(optimizer);
    CAPTURE(run.output);
    REQUIRE(run.exit_code == 0);
    std::smatch m;
    REQUIRE(std::regex_search(run.output, m, std::regex(R"(test accuracy ([0-9.]+))")));
    CHECK(std::stod(m[1]) > 0.6);
  }
}

TEST_CASE("fashion_mnist rejects bad options and a missing dataset with a clear message") {
  check_options_refused("fashion_mnist", {
      {"--batch-size 0", "--batch-size: must be a positive integer, got '0'"},
      {"--batch-size 2.5", "--batch-size: must be a positive integer, got '2.5'"},
      {"--epochs abc", "--epochs: must be an integer of 0 or more, got 'abc'"},
      // More than an int holds:
      {"--epochs 99999999999", "--epochs: must be an integer of 0 or more, got '99999999999'"},
      {"--lr 0", "--lr: must be a number from 0 to 10, 0 excluded, got '0'"},
      {"--lr nan", "--lr: must be a number from 0 to 10, 0 excluded, got 'nan'"},
      {"--lr 1e39", "--lr: must be a number from 0 to 10, 0 excluded, got '1e39'"},
      {"--threads -1", "--threads: must be an integer from 0 to 1024, got '-1'"},
      {"--threads 100000000", "--threads: must be an integer from 0 to 1024, got '100000000'"},
      {"--seed x1", "--seed: must be an integer of 0 or more, got 'x1'"},
      {"--train-limit -5", "--train-limit: must be an integer of 0 or more, got '-5'"},
      {"--optimizer lion", "--optimizer: lion not in {sgd,momentum,nesterov,adam,rmsprop}"},
      {"--data /nonexistent/fashion", "--data: must be an existing folder, got '/nonexistent/fashion' (no such folder)"},
  });

  AppRun missing = run_app("fashion_mnist", "--data /nonexistent/fashion --epochs 1");
  CAPTURE(missing.output);
  CHECK(missing.exit_code != 0);
  CHECK(contains(missing.output, "/nonexistent/fashion"));
}

TEST_CASE("fashion_mnist refuses a dataset too small for its 5,000 validation images before training") {
  // A folder of the real files' layout with 5,000 training images (all would be validation) and
  // with too few test images: each is refused by name, before any epoch runs.
  struct Case {
    size_t train, test;
    const char* expected;
  };
  for (const Case& c : {Case{5000, 10, "the training set has 5000 images; the app keeps the first 5,000"},
                        Case{5010, 0, "the test set has 0 images"}}) {
    datasets_test::TempFolder data;
    datasets_test::write_mnist_folder(data, datasets_test::Bytes(c.train, 1), datasets_test::Bytes(c.test, 2), false);
    tests::ScratchFolder out;
    AppRun run = run_app("fashion_mnist", fmt::format("--data '{}' --epochs 1 --out '{}'", data.path().string(), out.path().string()));
    CAPTURE(run.output);
    CHECK(run.exit_code != 0);
    CHECK(contains(run.output, c.expected));
    CHECK(!contains(run.output, "Epoch 1/1"));
  }
}

TEST_CASE("fashion_mnist checks its --out folder before it reads or trains anything") {
  tests::ScratchFolder scratch;
  const std::filesystem::path file = scratch.path() / "a-file";
  std::ofstream(file) << "not a folder";
  SUBCASE("a folder that cannot be created") {
    check_option_refused("fashion_mnist", fmt::format("--epochs 1 --out '{}'", (file / "out").string()),
                         fmt::format("fashion_mnist: --out: cannot create the folder '{}'", (file / "out").string()));
  }
  SUBCASE("a file where the folder should be") {
    check_option_refused("fashion_mnist", fmt::format("--epochs 1 --out '{}'", file.string()),
                         fmt::format("fashion_mnist: --out: cannot create the folder '{}'", file.string()));
  }
  SUBCASE("a missing folder is created, and nothing is left in it but the outputs") {
    if (!dataset_installed()) {
      MESSAGE("Debian's dataset-fashion-mnist is not installed: skipped");
      return;
    }
    const std::filesystem::path out = scratch.path() / "new" / "deeper";
    AppRun run = run_app("fashion_mnist", fmt::format("--epochs 1 --train-limit 500 --out '{}'", out.string()));
    CAPTURE(run.output);
    REQUIRE(run.exit_code == 0);
    std::vector<std::string> names;
    for (const auto& entry : std::filesystem::directory_iterator(out)) names.push_back(entry.path().filename().string());
    std::sort(names.begin(), names.end());
    CHECK(names == std::vector<std::string>{"fashion_mnist.model", "history.csv", "learning_curves.svg"});
  }
}

TEST_CASE("fashion_mnist --help lists the options of the book's run") {
  check_help_mentions("fashion_mnist", {"--epochs", "--batch-size", "--lr", "--optimizer", "--threads", "--seed", "--out", "--eager"});
}
