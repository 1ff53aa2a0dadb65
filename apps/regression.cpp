// regression: an MLP regressor. With no arguments it shows why robust losses exist: the same
// network learns y = sin(x) from noisy points of which a share are large outliers, once
// with MSE, once with MAE and once with Huber, and each is judged on clean test points.
// With --csv it trains on the user's table instead.
//
//   ./regression                                     the outlier demonstration
//   ./regression --outliers 0                        the same without outliers: all three agree
//   ./regression --csv houses.csv --target price --loss huber --epochs 200
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "apps/app_support.h"
#include "apps/option_checks.h"
#include "tapegrad/autodiff/threading.h"
#include "tapegrad/datasets/csv.h"
#include "tapegrad/datasets/split.h"
#include "tapegrad/datasets/standardize.h"
#include "tapegrad/nn/mlp.h"
#include "tapegrad/nn/optimizers/adam.h"

namespace {

struct Settings {
  int epochs = 200;
  uint64_t seed = 0;
  int threads = 0;
  int hidden = 32;
  double learning_rate = 0.01;
  // demonstration
  int samples = 200;
  double outliers = 0.1;
  double noise = 0.1;
  // user's table
  std::string csv, target, loss = "mse";
  double validation_split = 0.2, test_split = 0.2;
  bool verbose = false;
};

struct Errors {
  double mae = 0, rmse = 0;
};

Errors errors(const ad::Tensor& prediction, const ad::Tensor& target) {
  Errors e;
  const int64_t n = target.size();
  for (int64_t i = 0; i < n; ++i) {
    const double difference = double(prediction[i]) - target[i];
    e.mae += std::abs(difference);
    e.rmse += difference * difference;
  }
  return {e.mae / double(n), std::sqrt(e.rmse / double(n))};
}

// Four significant digits whatever the target's unit (0.07021, 1864, 42675).
std::string readable(double value) {
  const int digits = value == 0 ? 0 : static_cast<int>(std::floor(std::log10(std::abs(value))));
  return fmt::format("{:.{}f}", value, std::max(0, 3 - digits));
}

// The same architecture and the same initial weights (the seed) for every loss.
nn::Sequential regressor(const Settings& settings, int64_t features, const std::string& loss) {
  nn::Sequential model = nn::MLP::regression({.inputs = features, .hidden = {settings.hidden, settings.hidden}});
  model.build({features}, settings.seed);
  model.compile({.loss = loss, .optimizer = nn::Adam(settings.learning_rate)});
  return model;
}

void compare_losses(const Settings& settings) {
  ad::Rng rng(settings.seed);
  const int64_t n = settings.samples;
  ad::Tensor x_train({n, 1}), y_train({n, 1});
  int64_t outliers = 0;
  for (int64_t i = 0; i < n; ++i) {
    const float x = rng.uniform(-3, 3);
    x_train[i] = x;
    y_train[i] = std::sin(x) + rng.normal(0, float(settings.noise));
    // Outliers all on one side, as from a sensor that sometimes reads far too high: the
    // squared error lets them pull the whole curve up.
    if (rng.uniform(0, 1) < settings.outliers) {
      y_train[i] += rng.uniform(5, 10);
      ++outliers;
    }
  }
  const int64_t test_points = 200;
  ad::Tensor x_test({test_points, 1}), y_test({test_points});
  for (int64_t i = 0; i < test_points; ++i) {
    x_test[i] = -3.f + 6.f * float(i) / float(test_points - 1);
    y_test[i] = std::sin(x_test[i]);
  }

  fmt::print(
      "Fitting y = sin(x) on [-3, 3] from {} noisy points (noise sd {}), {} of them outliers raised by 5 to 10.\n", n,
      settings.noise, outliers);
  fmt::print("Network: Dense({0}, relu) -> Dense({0}, relu) -> Dense(1), Adam({1}), {2} epochs, seed {3}.\n",
             settings.hidden, settings.learning_rate, settings.epochs, settings.seed);
  fmt::print("Errors on {} clean test points (no noise, no outliers):\n\n", test_points);
  fmt::print("{:<6} {:>9} {:>9}\n", "loss", "test MAE", "test RMSE");
  for (const char* loss : {"mse", "mae", "huber"}) {
    nn::Sequential model = regressor(settings, 1, loss);
    model.fit(x_train, y_train, {.epochs = settings.epochs, .batch_size = 32, .seed = settings.seed, .verbose = 0});
    const Errors e = errors(model.predict(x_test), y_test);
    fmt::print("{:<6} {:>9.4f} {:>9.4f}\n", loss, e.mae, e.rmse);
  }
  fmt::print(
      "\nMSE squares each error, so a few outliers far away outweigh many good points and pull the curve\n"
      "towards them; MAE grows only linearly with the error and Huber is quadratic only within 1 of the\n"
      "target, so both follow the majority of the points.\n");
}

// The user's table: inputs standardised with statistics of the training rows only; the target
// too (so that the default learning rate suits any unit), with predictions turned back into
// the target's unit before they are judged.
void fit_table(const Settings& settings) {
  TG_CHECK(!settings.target.empty(), "--csv needs --target NAME, the column to predict");
  const datasets::CsvTable table = datasets::load_csv(settings.csv, {.target = settings.target});
  const int64_t n = table.features.dim(0), features = table.features.dim(1);
  TG_CHECK(n >= 5, "{} has {} rows; training, validation and test need at least 5", settings.csv, n);
  TG_CHECK(features >= 1, "{} has no column besides the target '{}'", settings.csv, settings.target);
  // The row counts train_test_split will take (each share rounded up to whole rows), checked
  // here so that the message names this app's options.
  const auto test_rows = static_cast<int64_t>(std::ceil(settings.test_split * double(n)));
  const auto valid_rows = static_cast<int64_t>(std::ceil(settings.validation_split * double(n - test_rows)));
  TG_CHECK(test_rows < n && valid_rows < n - test_rows,
           "--test-split {} and --validation-split {} of the {} rows of {} leave no training rows ({} for the test, "
           "{} for validation); use smaller shares",
           settings.test_split, settings.validation_split, n, settings.csv, test_rows,
           std::min(valid_rows, n - test_rows));

  auto [x_rest, x_test, y_rest, y_test] = datasets::train_test_split(
      table.features, table.target, {.test_size = settings.test_split, .seed = settings.seed});
  auto [x_train, x_valid, y_train, y_valid] =
      datasets::train_test_split(x_rest, y_rest, {.test_size = settings.validation_split, .seed = settings.seed + 1});
  const auto x_scaler = datasets::Standardizer::fit(x_train);
  const auto y_scaler = datasets::Standardizer::fit(y_train);
  auto as_column = [](const ad::Tensor& y) { return y.reshape({-1, 1}); };

  nn::Sequential model = regressor(settings, features, settings.loss);
  fmt::print("{}: {} rows; predicting '{}' from {} columns ({}).\n", settings.csv, n, table.target_name, features,
             fmt::join(table.feature_names, ", "));
  fmt::print("{} training, {} validation and {} test rows; inputs and target standardised on the training rows.\n",
             x_train.dim(0), x_valid.dim(0), x_test.dim(0));
  fmt::print(
      "Network: Dense({0}, relu) -> Dense({0}, relu) -> Dense(1), loss {1}, Adam({2}), {3} epochs, seed {4}.\n\n",
      settings.hidden, settings.loss, settings.learning_rate, settings.epochs, settings.seed);
  nn::History history = model.fit(
      x_scaler.transform(x_train), as_column(y_scaler.transform(y_train)),
      {.epochs = settings.epochs,
       .batch_size = 32,
       .validation_data = nn::ValidationData{x_scaler.transform(x_valid), as_column(y_scaler.transform(y_valid))},
       .seed = settings.seed,
       .verbose = settings.verbose ? 1 : 0});
  const auto& val_loss = history["val_loss"];
  const auto best = std::min_element(val_loss.begin(), val_loss.end()) - val_loss.begin();
  fmt::print("final training loss {:.4f}, validation loss {:.4f} (lowest {:.4f}, epoch {}), standardised units\n",
             history["loss"].back(), val_loss.back(), val_loss[best], best + 1);

  const ad::Tensor prediction = y_scaler.inverse_transform(model.predict(x_scaler.transform(x_test)).reshape({-1}));
  const Errors model_errors = errors(prediction, y_test);
  const Errors mean_errors = errors(ad::Tensor::full(y_test.shape(), y_scaler.mean[0]), y_test);
  fmt::print("test MAE {}, test RMSE {} (in the unit of '{}')\n", readable(model_errors.mae),
             readable(model_errors.rmse), table.target_name);
  fmt::print("always predicting the training mean would give MAE {}, RMSE {}\n", readable(mean_errors.mae),
             readable(mean_errors.rmse));
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"An MLP regressor: MSE, MAE and Huber on data with outliers, or a model of your own CSV table"};
  Settings settings;
  app.add_option("--epochs", settings.epochs, "Training epochs")->capture_default_str()->check(apps::integer_from(1, 1000000));
  app.add_option("--seed", settings.seed, "Seed of the data, the initial weights and the shuffling")
      ->capture_default_str()
      ->check(apps::integer_from<uint64_t>(0));
  app.add_option("--threads", settings.threads, "Threads (0: all cores)")
      ->capture_default_str()
      ->check(apps::integer_from(0, 1024));
  app.add_option("--hidden", settings.hidden, "Units in each of the two hidden layers")
      ->capture_default_str()
      ->check(apps::integer_from(1, 10000));
  app.add_option("--lr", settings.learning_rate, "Adam's learning rate")
      ->capture_default_str()
      ->check(apps::number_in({.low = 0, .high = 10, .low_excluded = true}));
  app.add_option("--samples", settings.samples, "Demonstration: training points")
      ->capture_default_str()
      ->check(apps::integer_from(2, 1000000));
  app.add_option("--outliers", settings.outliers, "Demonstration: share of outliers among them")
      ->capture_default_str()
      ->check(apps::number_in({.low = 0, .high = 0.99}));
  app.add_option("--noise", settings.noise, "Demonstration: standard deviation of the noise")
      ->capture_default_str()
      ->check(apps::number_in({.low = 0, .high = 100}));
  auto* csv = app.add_option("--csv", settings.csv, "A numeric CSV table with a header line")->check(CLI::ExistingFile);
  app.add_option("--target", settings.target, "The column to predict (with --csv)")->needs(csv);
  app.add_option("--loss", settings.loss, "Loss for --csv")
      ->capture_default_str()
      ->check(CLI::IsMember({"mse", "mae", "huber"}))
      ->needs(csv);
  const auto share = apps::number_in({.low = 0, .high = 1, .low_excluded = true, .high_excluded = true});
  app.add_option("--test-split", settings.test_split, "Share of the rows held out for the test (with --csv)")
      ->capture_default_str()
      ->check(share)
      ->needs(csv);
  app.add_option("--validation-split", settings.validation_split,
                 "Share of the other rows held out for validation (with --csv)")
      ->capture_default_str()
      ->check(share)
      ->needs(csv);
  app.add_flag("--verbose", settings.verbose, "Show the progress of every epoch (with --csv)")->needs(csv);
  CLI11_PARSE(app, argc, argv);

  return apps::run_reporting_errors("regression", [&] {
    ad::set_num_threads(settings.threads);
    if (settings.csv.empty())
      compare_losses(settings);
    else
      fit_table(settings);
  });
}
