#include <doctest/doctest.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "run_app.h"

namespace {

// The number after `label` on the first line that starts with `label`; NaN when none does.
double number_after(const std::string& output, const std::string& label) {
  std::istringstream lines(output);
  for (std::string line; std::getline(lines, line);)
    if (line.rfind(label, 0) == 0) return std::stod(line.substr(label.size()));
  return NAN;
}

// A table whose target is a plain linear function of the inputs plus a little noise: any
// regressor worth the name predicts it far better than the mean does.
std::filesystem::path linear_table(int rows) {
  const auto folder = std::filesystem::temp_directory_path() / fmt::format("regression_test_{}", ::getpid());
  std::filesystem::create_directories(folder);
  const auto path = folder / "linear.csv";
  std::ofstream file(path);
  file << "x1,x2,y\n";
  std::mt19937 engine(5);
  std::uniform_real_distribution<double> uniform(-2, 2);
  std::normal_distribution<double> noise(0, 0.05);
  for (int i = 0; i < rows; ++i) {
    double x1 = uniform(engine), x2 = uniform(engine);
    file << fmt::format("{:.4f},{:.4f},{:.4f}\n", x1, x2, 2 * x1 - x2 + 1 + noise(engine));
  }
  return path;
}

}  // namespace

TEST_CASE("regression shows MAE and Huber beating MSE on clean points when the training set has outliers") {
  AppRun run = run_app("regression");
  CAPTURE(run.output);
  REQUIRE(run.exit_code == 0);
  CHECK(contains(run.output, "20 of them outliers"));  // 10% of 200 points, drawn with seed 0
  const double mse = number_after(run.output, "mse"), mae = number_after(run.output, "mae"),
               huber = number_after(run.output, "huber");
  REQUIRE(std::isfinite(mse));
  REQUIRE(std::isfinite(mae));
  REQUIRE(std::isfinite(huber));
  CHECK(mae < mse);
  CHECK(huber < mse);
  // Outliers 5 to 10 above a curve of amplitude 1 should not drag the robust fits far.
  CHECK(mae < 0.3);
  CHECK(huber < 0.3);
}

TEST_CASE("regression trains on a user's CSV table and reports test errors far below the mean's") {
  const auto path = linear_table(120);
  AppRun run =
      run_app("regression", fmt::format("--csv '{}' --target y --loss mae --epochs 60 --threads 1", path.string()));
  std::filesystem::remove_all(path.parent_path());
  CAPTURE(run.output);
  REQUIRE(run.exit_code == 0);
  CHECK(contains(run.output, "predicting 'y' from 2 columns (x1, x2)"));
  // 20% of 120 rows for the test, then 20% of the 96 left (rounded up) for validation.
  CHECK(contains(run.output, "76 training, 20 validation and 24 test rows"));
  CHECK(contains(run.output, "loss mae"));
  const double model_mae = number_after(run.output, "test MAE");
  const double mean_mae = number_after(run.output, "always predicting the training mean would give MAE");
  REQUIRE(std::isfinite(model_mae));
  REQUIRE(std::isfinite(mean_mae));
  // y spreads over about +-5, so the mean is off by about 2 on average; a fit of a linear
  // function must do several times better.
  CHECK(mean_mae > 1);
  CHECK(model_mae < mean_mae / 5);
}

TEST_CASE("regression refuses a CSV without the target column and says which columns there are") {
  const auto path = linear_table(10);
  AppRun run = run_app("regression", fmt::format("--csv '{}' --target price", path.string()));
  std::filesystem::remove_all(path.parent_path());
  CHECK(run.exit_code == 1);
  CHECK(contains(run.output, "no column named \"price\""));
  CHECK(contains(run.output, "\"x1\", \"x2\", \"y\""));
}

TEST_CASE("regression explains itself with --help and wants --csv for the table options") {
  check_help_mentions("regression", {"--csv", "--target", "--loss", "--epochs", "--seed", "--threads"});
  AppRun loss_alone = run_app("regression", "--loss mae");
  CHECK(loss_alone.exit_code != 0);
  CHECK(contains(loss_alone.output, "--loss requires --csv"));
}

TEST_CASE("regression names the option and what it accepts when a value is refused") {
  const auto path = linear_table(120);
  const std::string csv = fmt::format("--csv '{}' --target y", path.string());
  check_options_refused("regression", {
      {csv + " --validation-split 0", "--validation-split: must be a number between 0 and 1, both excluded, got '0'"},
      {csv + " --test-split 1", "--test-split: must be a number between 0 and 1, both excluded, got '1'"},
      {"--epochs 0", "--epochs: must be an integer from 1 to 1000000, got '0'"},
      {"--epochs abc", "--epochs: must be an integer from 1 to 1000000, got 'abc'"},
      {"--lr 0", "--lr: must be a number from 0 to 10, 0 excluded, got '0'"},
      {"--outliers 1", "--outliers: must be a number from 0 to 0.99, got '1'"},
      {"--noise -1", "--noise: must be a number from 0 to 100, got '-1'"},
      {"--samples 1", "--samples: must be an integer from 2 to 1000000, got '1'"},
      {"--hidden 0", "--hidden: must be an integer from 1 to 10000, got '0'"},
      {"--hidden 100000", "--hidden: must be an integer from 1 to 10000, got '100000'"},
      {"--threads 2000", "--threads: must be an integer from 0 to 1024, got '2000'"},
      {"--seed -3", "--seed: must be an integer of 0 or more, got '-3'"},
  });
  // Shares each valid alone but leaving no training rows: 114 rows for the test, all 6 others for validation.
  AppRun run = run_app("regression", csv + " --test-split 0.95 --validation-split 0.95");
  CAPTURE(run.output);
  CHECK(run.exit_code == 1);
  CHECK(contains(run.output, "--test-split 0.95 and --validation-split 0.95 of the 120 rows of"));
  CHECK(contains(run.output, "leave no training rows (114 for the test, 6 for validation)"));
  CHECK_FALSE(contains(run.output, "train_test_split"));
  CHECK_FALSE(contains(run.output, "test_size"));
  std::filesystem::remove_all(path.parent_path());
}
