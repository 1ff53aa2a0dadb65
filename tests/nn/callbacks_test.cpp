#include "tapegrad/nn/callbacks.h"

#include <doctest/doctest.h>
#include <sys/stat.h>

#include <cmath>
#include <filesystem>
#include <limits>
#include <sstream>

#include "tapegrad/nn/layers/all.h"
#include "tapegrad/nn/optimizers/sgd.h"
#include "tapegrad/nn/safetensors.h"
#include "tapegrad/nn/serialization.h"
#include "tests/nn/captured_stdout.h"
#include "tests/nn/scratch_folder.h"

namespace {

using ad::Tensor;
using tests::ScratchFolder;

// y = 2x + 1 to train on; the validation set follows y = -2x - 1, so the better the model fits
// its training data, the worse its validation loss: the best epoch is the first.
struct Line {
  Tensor x, y, x_val, y_val;
};

Line line_data() {
  ad::Rng rng(4);
  Line d{Tensor::uniform({32, 1}, -1, 1, rng), Tensor::zeros({32, 1}),
         Tensor::uniform({16, 1}, -1, 1, rng), Tensor::zeros({16, 1})};
  for (int64_t i = 0; i < 32; ++i) d.y[i] = 2 * d.x[i] + 1;
  for (int64_t i = 0; i < 16; ++i) d.y_val[i] = -2 * d.x_val[i] - 1;
  return d;
}

nn::Sequential line_model(double learning_rate = 0.1) {
  nn::Sequential model({nn::Dense(1, {.input_shape = {1}})});
  model.build({1}, 7);
  model.compile({.loss = "mse", .optimizer = nn::SGD(learning_rate), .metrics = {"mae"}});
  return model;
}

nn::History fit(nn::Sequential& model, const Line& d, int epochs,
                std::vector<nn::CallbackPtr> callbacks) {
  return model.fit(d.x, d.y, {.epochs = epochs, .batch_size = 8,
                              .validation_data = nn::ValidationData{d.x_val, d.y_val},
                              .callbacks = std::move(callbacks), .verbose = 0});
}

// The model's weights after each epoch, as a callback placed before the one under test sees them.
struct WeightsByEpoch {
  std::vector<std::vector<Tensor>> weights;
  nn::CallbackPtr callback() {
    return nn::LambdaCallback({.on_epoch_end = [this](nn::Model& m, int, const nn::Logs&) {
      weights.push_back(m.get_weights());
    }});
  }
};

std::vector<float> flat(const std::vector<Tensor>& weights) {
  std::vector<float> out;
  for (const Tensor& w : weights) out.insert(out.end(), w.values().begin(), w.values().end());
  return out;
}

// Drives a callback by hand through epochs whose `monitor` takes these values; before epoch k
// every weight is set to k, so the weights show which epoch they come from. Returns the
// number of epochs run.
int drive(nn::Callback& callback, nn::Sequential& model, const std::string& monitor,
          const std::vector<double>& values) {
  model.stop_training = false;
  callback.on_train_begin(model);
  int epoch = 0;
  for (; epoch < static_cast<int>(values.size()) && !model.stop_training; ++epoch) {
    std::vector<Tensor> weights = model.get_weights();
    for (Tensor& w : weights) w.fill(static_cast<float>(epoch));
    model.set_weights(weights);
    callback.on_epoch_end(model, epoch, {{"loss", 1.0}, {monitor, values[static_cast<size_t>(epoch)]}});
  }
  callback.on_train_end(model, {});
  return epoch;
}

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::vector<std::string> split_fields(const std::string& line, char separator = ',') {
  std::vector<std::string> fields;
  std::istringstream in(line);
  for (std::string field; std::getline(in, field, separator);) fields.push_back(field);
  return fields;
}

}  // namespace

TEST_CASE("EarlyStopping stops after patience epochs without improvement and restores the best") {
  struct Case {
    const char* what;
    nn::EarlyStoppingOptions options;
    std::vector<double> values;
    std::optional<int> stopped_epoch;
    int best_epoch;
  };
  const std::vector<Case> cases = {
      {"patience 0 stops at the first epoch that does not improve",
       {.patience = 0}, {1.0, 0.9, 0.95, 0.8}, 2, 1},
      {"patience 2 waits two epochs",
       {.patience = 2}, {1.0, 0.8, 0.9, 0.85, 0.95, 0.7}, 3, 1},
      {"an improvement starts the wait over",
       {.patience = 2}, {1.0, 0.8, 0.9, 0.7, 0.75, 0.72, 0.6}, 5, 3},
      {"a change below min_delta is no improvement",
       {.patience = 1, .min_delta = 0.1}, {1.0, 0.95, 0.8}, 1, 0},
      {"accuracy is maximized in auto mode",
       {.monitor = "val_accuracy", .patience = 0}, {0.5, 0.6, 0.55, 0.7}, 2, 1},
      {"mode max maximizes any figure",
       {.monitor = "val_loss", .patience = 0, .mode = "max"}, {0.5, 0.6, 0.55}, 2, 1},
      {"mode min minimizes even accuracy",
       {.monitor = "val_accuracy", .patience = 0, .mode = "min"}, {0.5, 0.6}, 1, 0},
      {"no stop when the patience outlasts training",
       {.patience = 10}, {1.0, 0.5, 0.7, 0.8}, std::nullopt, 1},
      {"a baseline not beaten stops training sooner",
       {.patience = 2, .baseline = 0.5}, {1.0, 1.1, 1.2}, 1, 0},
      {"without the baseline the same figures wait longer",
       {.patience = 2}, {1.0, 1.1, 1.2}, 2, 0},
      {"warm-up epochs are not watched",
       {.patience = 0, .start_from_epoch = 2}, {1.0, 2.0, 3.0, 4.0}, 3, 2},
      {"a NaN first figure is beaten by any number",
       {.patience = 0}, {std::nan(""), 2.0, 3.0}, 2, 1},
      {"an infinite first loss is beaten by any finite one",
       {.patience = 1}, {INFINITY, 2.0, 3.0}, 2, 1},
  };
  nn::Sequential model = line_model();
  for (const Case& c : cases) {
    for (bool restore : {false, true}) {
      CAPTURE(c.what);
      CAPTURE(restore);
      nn::EarlyStoppingOptions options = c.options;
      options.restore_best_weights = restore;
      auto stop = nn::EarlyStopping(options);
      const int epochs = drive(*stop, model, options.monitor, c.values);
      CHECK(stop->stopped_epoch() == c.stopped_epoch);
      CHECK(epochs == (c.stopped_epoch ? *c.stopped_epoch + 1 : static_cast<int>(c.values.size())));
      CHECK(stop->best_epoch() == c.best_epoch);
      CHECK(model.stop_training == c.stopped_epoch.has_value());
      // Restored: the best epoch's weights; else those of the last epoch run.
      const float expected = static_cast<float>(restore ? c.best_epoch : epochs - 1);
      CHECK(model.get_weights()[0].to_vector() == std::vector<float>{expected});
    }
  }
}

TEST_CASE("EarlyStopping counts a figure stuck at the wrong infinity as no improvement, as Keras does") {
  // Keras starts from +inf when minimizing (-inf when maximizing), and inf < inf is false: a
  // val_loss that stays inf never improves, and patience runs out.
  nn::Sequential model = line_model();
  struct Case {
    std::string monitor;
    double value;
  };
  for (const Case& c : {Case{"val_loss", INFINITY}, Case{"val_accuracy", -INFINITY}}) {
    CAPTURE(c.monitor);
    auto stop = nn::EarlyStopping({.monitor = c.monitor, .patience = 1});
    CHECK(drive(*stop, model, c.monitor, {c.value, c.value, c.value, c.value}) == 2);
    CHECK(stop->stopped_epoch() == 1);
    CHECK_FALSE(stop->best_epoch().has_value());
  }
}

TEST_CASE("EarlyStopping in fit stops at the right epoch and restores the first epoch's weights") {
  const Line d = line_data();
  SUBCASE("when it triggers") {
    nn::Sequential model = line_model();
    WeightsByEpoch seen;
    auto stop = nn::EarlyStopping({.monitor = "val_loss", .patience = 2, .min_delta = 0, .mode = "auto",
                                  .restore_best_weights = true});
    nn::History history = fit(model, d, 20, {seen.callback(), stop});
    const std::vector<double>& val_loss = history["val_loss"];
    // Fitting y = 2x + 1 moves the model away from y = -2x - 1 every epoch.
    REQUIRE(val_loss.size() >= 2);
    for (size_t i = 1; i < val_loss.size(); ++i) REQUIRE(val_loss[i] > val_loss[i - 1]);
    CHECK(history.epochs.size() == 3);
    CHECK(stop->stopped_epoch() == 2);
    CHECK(stop->best_epoch() == 0);
    CHECK(stop->best() == val_loss[0]);
    CHECK(flat(model.get_weights()) == flat(seen.weights[0]));
    CHECK(flat(model.get_weights()) != flat(seen.weights.back()));
  }
  SUBCASE("when training ends first") {
    nn::Sequential model = line_model();
    WeightsByEpoch seen;
    auto stop = nn::EarlyStopping({.monitor = "val_loss", .patience = 50, .restore_best_weights = true});
    nn::History history = fit(model, d, 4, {seen.callback(), stop});
    CHECK(history.epochs.size() == 4);
    CHECK_FALSE(stop->stopped_epoch().has_value());
    CHECK(stop->best_epoch() == 0);
    CHECK(flat(model.get_weights()) == flat(seen.weights[0]));
    CHECK(flat(model.get_weights()) != flat(seen.weights[3]));
  }
  SUBCASE("without restore_best_weights the last weights stay") {
    nn::Sequential model = line_model();
    WeightsByEpoch seen;
    fit(model, d, 20, {seen.callback(), nn::EarlyStopping({.patience = 1})});
    CHECK(seen.weights.size() == 2);
    CHECK(flat(model.get_weights()) == flat(seen.weights.back()));
  }
}

TEST_CASE("a monitored figure missing from the logs is an error naming the figures there are") {
  nn::Sequential model = line_model();
  const Line d = line_data();
  CHECK_THROWS_WITH_AS(
      model.fit(d.x, d.y, {.epochs = 1, .callbacks = {nn::EarlyStopping()}, .verbose = 0}),
      doctest::Contains("EarlyStopping: unknown figure 'val_loss' to monitor; the recorded figures are [loss, "
                        "mae]; validation figures need validation data (validation_data or validation_split)"),
      ad::Error);
  CHECK_THROWS_WITH_AS(nn::EarlyStopping({.mode = "maximum"}),
                       doctest::Contains("mode is 'maximum'; it must be"), ad::Error);
  CHECK_THROWS_WITH_AS(nn::EarlyStopping({.patience = -1}), doctest::Contains("patience is -1"),
                       ad::Error);
  CHECK_THROWS_WITH_AS(nn::EarlyStopping({.baseline = std::nan("")}), doctest::Contains("EarlyStopping: baseline is NaN"),
                       ad::Error);
  CHECK_THROWS_WITH_AS(nn::ModelCheckpoint("m.model", {.mode = ""}),
                       doctest::Contains("ModelCheckpoint: mode is ''"), ad::Error);
}

TEST_CASE("ModelCheckpoint with save_best_only writes only when the figure improves") {
  ScratchFolder folder;
  nn::Sequential model = line_model();
  auto checkpoint = nn::ModelCheckpoint(folder.file("ckpt-{epoch}.model"), {.save_best_only = true});
  drive(*checkpoint, model, "val_loss", {1.0, 0.8, 0.9, 0.7, 0.7});
  CHECK(checkpoint->saved() ==
        std::vector<std::string>{folder.file("ckpt-1.model"), folder.file("ckpt-2.model"),
                                 folder.file("ckpt-4.model")});
  CHECK(folder.entries() == std::vector<std::string>{"ckpt-1.model", "ckpt-2.model", "ckpt-4.model"});
  CHECK(checkpoint->best() == 0.7);
  // drive() sets every weight to the epoch index: the file of epoch 4 (index 3) holds 3s.
  CHECK(nn::load_model(folder.file("ckpt-4.model")).get_weights()[0].to_vector() ==
        std::vector<float>{3.f});
}

TEST_CASE("ModelCheckpoint starts from inf (-inf when maximizing), so a first NaN figure improves on nothing") {
  ScratchFolder folder;
  nn::Sequential model = line_model();
  const double nan = -std::numeric_limits<double>::quiet_NaN();  // a sign bit that printf shows as "-nan"
  struct Case {
    std::string monitor, mode, start;
  };
  for (const Case& c : {Case{"val_loss", "auto", "inf"}, Case{"val_accuracy", "auto", "-inf"},
                        Case{"val_loss", "max", "-inf"}, Case{"val_accuracy", "min", "inf"}}) {
    CAPTURE(c.monitor);
    CAPTURE(c.mode);
    auto checkpoint = nn::ModelCheckpoint(folder.file(c.mode + "-{epoch}.model"),
                                          {.monitor = c.monitor, .save_best_only = true, .mode = c.mode, .verbose = 1});
    const std::string text = tests::captured_stdout([&] { drive(*checkpoint, model, c.monitor, {nan, 0.5, nan}); });
    CHECK(text == fmt::format("Epoch 1: {0} did not improve from {1}\n"
                              "Epoch 2: {0} improved from {1} to 0.50000, saving model to {2}\n"
                              "Epoch 3: {0} did not improve from 0.50000\n",
                              c.monitor, c.start, folder.file(c.mode + "-2.model")));
    CHECK(checkpoint->saved() == std::vector<std::string>{folder.file(c.mode + "-2.model")});
    CHECK(checkpoint->best() == 0.5);
  }
}

TEST_CASE("ModelCheckpoint with save_best_only saves nothing for a figure that stays at the wrong infinity") {
  ScratchFolder folder;
  nn::Sequential model = line_model();
  auto checkpoint = nn::ModelCheckpoint(folder.file("w-{epoch}.weights"),
                                        {.monitor = "val_loss", .save_best_only = true, .save_weights_only = true});
  drive(*checkpoint, model, "val_loss", {INFINITY, INFINITY});
  CHECK(checkpoint->saved().empty());
  drive(*checkpoint, model, "val_loss", {1e30});
  CHECK(checkpoint->saved().size() == 1);
}

TEST_CASE("ModelCheckpoint fills a NaN or infinite figure into its path as Python does") {
  auto checkpoint = nn::ModelCheckpoint("ckpt-{epoch}-{loss:.3f}-{val_loss:.2f}.model");
  CHECK(checkpoint->path_for(4, {{"loss", -std::numeric_limits<double>::quiet_NaN()},
                                 {"val_loss", -std::numeric_limits<double>::infinity()}}) ==
        "ckpt-5-nan--inf.model");
}

TEST_CASE("a monitored name that is not recorded is called unknown, listing the recorded names") {
  const Line d = line_data();
  nn::Sequential model({nn::Dense(2, {.activation = "softmax", .input_shape = {1}})});
  const Tensor labels = Tensor::from({32}, std::vector<float>(32, 1.f));
  const Tensor val_labels = Tensor::from({16}, std::vector<float>(16, 0.f));
  auto train = [&](const std::string& metric, nn::CallbackPtr callback) {
    model.compile({.loss = "sparse_categorical_crossentropy", .optimizer = nn::SGD(0.1), .metrics = {metric}});
    return model.fit(d.x, labels, {.epochs = 2, .batch_size = 8, .validation_data = nn::ValidationData{d.x_val, val_labels},
                                   .callbacks = {std::move(callback)}, .verbose = 0});
  };
  SUBCASE("Keras' short name for a metric compiled under its long name") {
    for (nn::CallbackPtr callback : {nn::CallbackPtr(nn::EarlyStopping({.monitor = "val_acc"})),
                                     nn::CallbackPtr(nn::ModelCheckpoint("unused.model", {.monitor = "val_acc",
                                                                                          .save_best_only = true}))}) {
      try {
        train("accuracy", callback);
        FAIL("fit accepted an unknown monitored name");
      } catch (const ad::Error& e) {
        const std::string message = e.what();
        CAPTURE(message);
        CHECK(message.find("unknown figure 'val_acc' to monitor; the recorded figures are [accuracy, loss, "
                           "val_accuracy, val_loss]; the metric was compiled as 'accuracy', so monitor "
                           "'val_accuracy'") != std::string::npos);
        CHECK(message.find("validation data") == std::string::npos);  // there is validation data
      }
    }
  }
  SUBCASE("a name no metric has") {
    CHECK_THROWS_WITH_AS(train("accuracy", nn::EarlyStopping({.monitor = "val_auc"})),
                         doctest::Contains("EarlyStopping: unknown figure 'val_auc' to monitor; the recorded figures "
                                           "are [accuracy, loss, val_accuracy, val_loss]"),
                         ad::Error);
  }
  SUBCASE("acc and val_acc when the metric was compiled as acc, as Keras records it") {
    auto stop = nn::EarlyStopping({.monitor = "val_acc", .patience = 5});
    nn::History history = train("acc", stop);
    REQUIRE(stop->best().has_value());
    // Auto mode maximizes names holding "acc": the best is the largest validation accuracy.
    CHECK(*stop->best() == std::max(history["val_acc"][0], history["val_acc"][1]));
    auto train_stop = nn::EarlyStopping({.monitor = "acc", .patience = 5});
    history = train("acc", train_stop);
    CHECK(*train_stop->best() == std::max(history["acc"][0], history["acc"][1]));
  }
}

TEST_CASE("ModelCheckpoint without save_best_only writes every epoch, loadable as it was") {
  ScratchFolder folder;
  const Line d = line_data();
  nn::Sequential model = line_model();
  std::vector<Tensor> predictions;
  auto record = nn::LambdaCallback({.on_epoch_end = [&](nn::Model& m, int, const nn::Logs&) {
    predictions.push_back(m.predict(d.x_val));
  }});
  auto checkpoint = nn::ModelCheckpoint(folder.file("epoch-{epoch:02d}-{val_loss:.3f}.model"));
  nn::History history = fit(model, d, 3, {record, checkpoint});
  REQUIRE(checkpoint->saved().size() == 3);
  for (int epoch = 0; epoch < 3; ++epoch) {
    CAPTURE(epoch);
    const std::string expected =
        folder.file(fmt::format("epoch-0{}-{:.3f}.model", epoch + 1, history["val_loss"][epoch]));
    CHECK(checkpoint->saved()[epoch] == expected);
    CHECK(nn::load_model(expected).predict(d.x_val).to_vector() == predictions[epoch].to_vector());
  }
  CHECK(folder.entries().size() == 3);
}

TEST_CASE("ModelCheckpoint can write the weights alone") {
  ScratchFolder folder;
  nn::Sequential model = line_model();
  auto checkpoint = nn::ModelCheckpoint(folder.file("w.safetensors"), {.save_weights_only = true});
  drive(*checkpoint, model, "val_loss", {1.0, 2.0});
  const nn::SafetensorsFile file = nn::load_safetensors(folder.file("w.safetensors"));
  CHECK(file.metadata.empty());
  CHECK(file.tensor("dense/kernel").to_vector() == std::vector<float>{1.f});
  nn::Sequential other = line_model();
  nn::load_weights(other, folder.file("w.safetensors"));
  CHECK(other.get_weights()[1].to_vector() == std::vector<float>{1.f});
}

TEST_CASE("ModelCheckpoint names the pattern and the usable names when a path cannot be filled in") {
  ScratchFolder folder;
  nn::Sequential model = line_model();
  auto checkpoint = nn::ModelCheckpoint(folder.file("m-{accuracy}.model"));
  CHECK_THROWS_WITH_AS(checkpoint->on_epoch_end(model, 0, {{"loss", 1.0}, {"val_loss", 2.0}}),
                       doctest::Contains("it may name [epoch, loss, val_loss]"), ad::Error);
  CHECK(folder.entries().empty());
}

TEST_CASE("CSVLogger writes a header and one row per epoch with the History's numbers") {
  ScratchFolder folder;
  const Line d = line_data();
  const std::string path = folder.file("log.csv");
  nn::Sequential model = line_model();
  nn::History history = fit(model, d, 3, {nn::CSVLogger(path)});

  const std::vector<std::string> lines = split_lines(tests::read_text(path));
  REQUIRE(lines.size() == 4);
  CHECK(lines[0] == "epoch,loss,mae,val_loss,val_mae");
  const std::vector<std::string> columns = split_fields(lines[0]);
  for (int epoch = 0; epoch < 3; ++epoch) {
    CAPTURE(epoch);
    const std::vector<std::string> fields = split_fields(lines[epoch + 1]);
    REQUIRE(fields.size() == 5);
    CHECK(fields[0] == std::to_string(epoch));  // from 0, as Keras' CSVLogger writes it
    // The text reads back as exactly the recorded double.
    for (size_t i = 1; i < fields.size(); ++i) CHECK(std::stod(fields[i]) == history[columns[i]][epoch]);
  }
  CHECK(folder.entries() == std::vector<std::string>{"log.csv"});

  SUBCASE("a new run replaces the file") {
    fit(model, d, 1, {nn::CSVLogger(path)});
    CHECK(split_lines(tests::read_text(path)).size() == 2);
  }
  SUBCASE("with append a new run adds its rows under the old header") {
    fit(model, d, 2, {nn::CSVLogger(path, {.append = true})});
    const std::vector<std::string> appended = split_lines(tests::read_text(path));
    REQUIRE(appended.size() == 6);
    CHECK(std::equal(lines.begin(), lines.end(), appended.begin()));
    CHECK(split_fields(appended[4])[0] == "0");
    CHECK(split_fields(appended[5])[0] == "1");
  }
}

TEST_CASE("CSVLogger appending follows the file's own header, and refuses a figure it has no column for") {
  ScratchFolder folder;
  const std::string path = folder.file("log.csv");
  nn::Logs first{{"loss", 0.5}, {"accuracy", 0.25}, {"val_loss", 0.75}};
  {
    nn::callbacks::CSVLogger logger(path);
    nn::Sequential model = line_model();
    logger.on_train_begin(model);
    logger.on_epoch_end(model, 0, first);
  }
  SUBCASE("a run with fewer figures writes NA under the old columns") {
    nn::callbacks::CSVLogger logger(path, {.append = true});
    nn::Sequential model = line_model();
    logger.on_train_begin(model);
    logger.on_epoch_end(model, 0, {{"val_loss", 0.125}, {"loss", 0.0625}});
    std::vector<std::string> lines = split_lines(tests::read_text(path));
    REQUIRE(lines.size() == 3);
    CHECK(lines[0] == "epoch,accuracy,loss,val_loss");  // sorted, as Keras writes them
    CHECK(lines[2] == "0,NA,0.0625,0.125");
  }
  SUBCASE("a figure the header lacks is refused, naming the file, its columns and the figure") {
    nn::callbacks::CSVLogger logger(path, {.append = true});
    nn::Sequential model = line_model();
    logger.on_train_begin(model);
    CHECK_THROWS_WITH_AS(logger.on_epoch_end(model, 0, {{"loss", 0.5}, {"mae", 0.25}}),
                         doctest::Contains(fmt::format("CSVLogger: '{}' has the columns [epoch, accuracy, loss, "
                                                       "val_loss]; epoch 0 also logs [mae]: append to another file",
                                                       path).c_str()),
                         ad::Error);
  }
  SUBCASE("a file that is not such a log is refused, naming the separator expected") {
    tests::write_text(path, "name,value\nx,1\n");
    nn::callbacks::CSVLogger logger(path, {.append = true});
    nn::Sequential model = line_model();
    logger.on_train_begin(model);
    CHECK_THROWS_WITH_AS(logger.on_epoch_end(model, 0, first), doctest::Contains("does not start with a header"),
                         ad::Error);
    nn::callbacks::CSVLogger tabs(path, {.separator = '\t', .append = true});
    tests::write_text(path, "epoch,loss\n0,1\n");
    tabs.on_train_begin(model);
    CHECK_THROWS_WITH_AS(tabs.on_epoch_end(model, 0, {{"loss", 0.5}}),
                         doctest::Contains("separated by '\\t'"), ad::Error);
  }
  SUBCASE("a header naming a column twice is refused") {
    tests::write_text(path, "epoch,loss,loss\n0,1,1\n");
    nn::callbacks::CSVLogger logger(path, {.append = true});
    nn::Sequential model = line_model();
    logger.on_train_begin(model);
    CHECK_THROWS_WITH_AS(logger.on_epoch_end(model, 0, {{"loss", 0.5}}),
                         doctest::Contains("names the column 'loss' twice"), ad::Error);
  }
  SUBCASE("a file with CRLF line ends gets CRLF rows") {
    tests::write_text(path, "epoch,loss\r\n0,1\r\n");
    nn::callbacks::CSVLogger logger(path, {.append = true});
    nn::Sequential model = line_model();
    logger.on_train_begin(model);
    logger.on_epoch_end(model, 0, {{"loss", 0.5}});
    CHECK(tests::read_text(path) == "epoch,loss\r\n0,1\r\n0,0.5\r\n");
  }
}

TEST_CASE("CSVLogger refuses a figure first logged after the first epoch, naming it and the epoch") {
  ScratchFolder folder;
  const std::string path = folder.file("log.csv");
  nn::Sequential model = line_model();
  nn::callbacks::CSVLogger logger(path);
  logger.on_train_begin(model);
  logger.on_epoch_end(model, 0, {{"loss", 0.5}});
  CHECK_THROWS_WITH_AS(logger.on_epoch_end(model, 1, {{"loss", 0.25}, {"val_loss", 0.75}}),
                       doctest::Contains(fmt::format("CSVLogger: '{}' has the columns [epoch, loss]; epoch 1 also "
                                                     "logs [val_loss]", path).c_str()),
                       ad::Error);
  CHECK(tests::read_text(path) == "epoch,loss\n0,0.5\n");  // the file keeps the rows written
}

TEST_CASE("ModelCheckpoint refuses a path field wider than 4096 characters before training") {
  for (const char* path : {"ckpt-{epoch:2000000000d}.model", "ckpt-{epoch:>99999}.model", "m-{loss:.5000f}.model",
                           "m-{loss:04097.2f}.model"}) {
    CAPTURE(path);
    CHECK_THROWS_WITH_AS(nn::ModelCheckpoint(path), doctest::Contains("asks for a field"), ad::Error);
  }
  for (const char* path : {"ckpt-{epoch:03d}-{val_loss:.3f}.model", "{{literal 99999}}-{epoch}.model",
                           "m-{epoch:4096d}.model", "m-{loss:00004096.2f}.model"})
    CHECK_NOTHROW(nn::ModelCheckpoint(path));
}

TEST_CASE("CSVLogger writes NA for a figure an epoch lacks and honours the separator") {
  ScratchFolder folder;
  const std::string path = folder.file("log.tsv");
  nn::Sequential model = line_model();
  nn::callbacks::CSVLogger logger(path, {.separator = '\t'});
  logger.on_train_begin(model);
  CHECK(tests::read_text(path).empty());
  logger.on_epoch_end(model, 0, {{"loss", 0.5}, {"accuracy", 0.25}, {"val_loss", 0.75}});
  logger.on_epoch_end(model, 1, {{"loss", 0.125}, {"accuracy", 1.0}});
  CHECK(tests::read_text(path) ==
        "epoch\taccuracy\tloss\tval_loss\n"
        "0\t0.25\t0.5\t0.75\n"
        "1\t1.0\t0.125\tNA\n");  // a whole number as Python writes a float
}

TEST_CASE("CSVLogger fails before training when its file cannot be written") {
  ScratchFolder folder;
  const Line d = line_data();
  nn::Sequential model = line_model();
  const std::vector<Tensor> before = model.get_weights();
  const std::string path = folder.file("missing/log.csv");
  // The message names the callback the user made, not the file writer inside it.
  CHECK_THROWS_WITH_AS(fit(model, d, 2, {nn::CSVLogger(path)}),
                       doctest::Contains(fmt::format("CSVLogger: cannot create a temporary file beside '{}'", path).c_str()),
                       ad::Error);
  CHECK(flat(model.get_weights()) == flat(before));
}

// Appending reads the old log first: a device such as /dev/zero would be read without end, a
// folder gave the stream library's message without the path. A FIFO stands in for the device.
TEST_CASE("CSVLogger appending refuses a folder or what is not a regular file, naming it") {
  ScratchFolder folder;
  const Line d = line_data();
  nn::Sequential model = line_model();
  const std::string fifo = folder.file("pipe.csv");
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  CHECK_THROWS_WITH_AS(fit(model, d, 1, {nn::CSVLogger(fifo, {.append = true})}),
                       doctest::Contains(fmt::format("CSVLogger: cannot append to '{}': it is not a regular file", fifo).c_str()),
                       ad::Error);
  const std::string sub = folder.file("sub");
  std::filesystem::create_directory(sub);
  CHECK_THROWS_WITH_AS(fit(model, d, 1, {nn::CSVLogger(sub, {.append = true})}),
                       doctest::Contains(fmt::format("CSVLogger: cannot append to '{}': it is a folder", sub).c_str()),
                       ad::Error);
  CHECK(std::filesystem::is_fifo(fifo));
}

TEST_CASE("TerminateOnNaN stops a run whose loss becomes NaN or infinite") {
  SUBCASE("by hand") {
    nn::Sequential model = line_model();
    auto terminate = nn::TerminateOnNaN();
    terminate->on_train_begin(model);
    terminate->on_batch_end(model, 0, {{"loss", 3.0}});
    CHECK_FALSE(model.stop_training);
    for (double bad : {std::nan(""), std::numeric_limits<double>::infinity(),
                       -std::numeric_limits<double>::infinity()}) {
      CAPTURE(bad);
      model.stop_training = false;
      terminate->on_batch_end(model, 4, {{"loss", bad}});
      CHECK(model.stop_training);
      CHECK(terminate->terminated_batch() == 4);
    }
  }
  SUBCASE("its message follows the epoch's progress line, and the figures read nan or inf as in Keras") {
    const Line d = line_data();
    nn::Sequential model = line_model(1e6);
    auto terminate = nn::TerminateOnNaN();
    const std::string text = tests::captured_stdout([&] {
      model.fit(d.x, d.y, {.epochs = 50, .batch_size = 8, .callbacks = {terminate}, .terminal = false});
    });
    CAPTURE(text);
    REQUIRE(terminate->terminated_batch().has_value());
    const std::string message = fmt::format("Batch {}: Invalid loss, terminating training\n", *terminate->terminated_batch());
    REQUIRE(text.size() > message.size());
    CHECK(text.substr(text.size() - message.size()) == message);  // the last line, after the progress
    const size_t line_start = text.rfind('\n', text.size() - message.size() - 2) + 1;
    const std::string progress = text.substr(line_start, text.size() - message.size() - line_start);
    CHECK((progress.find("loss: nan") != std::string::npos || progress.find("loss: inf") != std::string::npos));
    CHECK(text.find("-nan") == std::string::npos);
    CHECK(text.find(message) == text.size() - message.size());  // said once
  }
  SUBCASE("in fit, with a learning rate that makes training diverge") {
    const Line d = line_data();
    nn::Sequential model = line_model(1e6);
    auto terminate = nn::TerminateOnNaN();
    nn::History history = fit(model, d, 50, {terminate});
    REQUIRE(terminate->terminated_batch().has_value());
    CHECK(history.epochs.size() < 50);
    CHECK_FALSE(std::isfinite(history["loss"].back()));
  }
}

TEST_CASE("LambdaCallback sees every epoch and batch, in order") {
  const Line d = line_data();
  nn::Sequential model = line_model();
  std::vector<std::string> events;
  std::vector<double> epoch_losses;
  auto callback = nn::LambdaCallback({
      .on_train_begin = [&](nn::Model&) { events.push_back("train_begin"); },
      .on_epoch_begin = [&](nn::Model&, int e) { events.push_back(fmt::format("epoch_begin {}", e)); },
      .on_batch_end = [&](nn::Model&, int b, const nn::Logs&) { events.push_back(fmt::format("batch {}", b)); },
      .on_epoch_end =
          [&](nn::Model&, int e, const nn::Logs& logs) {
            events.push_back(fmt::format("epoch_end {}", e));
            epoch_losses.push_back(logs.at("loss"));
          },
      .on_train_end = [&](nn::Model&, const nn::Logs&) { events.push_back("train_end"); },
  });
  nn::History history = fit(model, d, 3, {callback});

  // 32 samples in batches of 8: 4 batches an epoch.
  std::vector<std::string> expected = {"train_begin"};
  for (int e = 0; e < 3; ++e) {
    expected.push_back(fmt::format("epoch_begin {}", e));
    for (int b = 0; b < 4; ++b) expected.push_back(fmt::format("batch {}", b));
    expected.push_back(fmt::format("epoch_end {}", e));
  }
  expected.push_back("train_end");
  CHECK(events == expected);
  CHECK(epoch_losses == history["loss"]);

  SUBCASE("functions left empty are skipped") {
    int ends = 0;
    fit(model, d, 2, {nn::LambdaCallback({.on_epoch_end = [&](nn::Model&, int, const nn::Logs&) { ++ends; }})});
    CHECK(ends == 2);
  }
  SUBCASE("a lambda may stop training") {
    nn::History stopped = fit(model, d, 10, {nn::LambdaCallback({.on_epoch_end = [](nn::Model& m, int e, const nn::Logs&) {
                                if (e == 1) m.stop_training = true;
                              }})});
    CHECK(stopped.epochs.size() == 2);
  }
}

TEST_CASE("CSVLogger refuses a separator that would make its rows unreadable, naming it and why") {
  ScratchFolder folder;
  const std::string path = folder.file("log.csv");
  for (char separator : {'\n', '\r', '"', '\0'}) {
    CAPTURE(static_cast<int>(separator));
    CHECK_THROWS_WITH_AS(nn::callbacks::CSVLogger(path, {.separator = separator}),
                         doctest::Contains((fmt::format("CSVLogger: separator {:?} would break the rows", separator)).c_str()),
                         ad::Error);
  }
  for (char separator : {'0', '7', '.', '-', '+', 'e', 'n', 'A'}) {
    CAPTURE(separator);
    CHECK_THROWS_WITH_AS(nn::callbacks::CSVLogger(path, {.separator = separator}),
                         doctest::Contains((fmt::format("CSVLogger: separator '{}' occurs in the numbers written",
                                                       separator)).c_str()),
                         ad::Error);
  }
  for (char separator : {',', ';', '\t', '|', ' '}) CHECK_NOTHROW(nn::callbacks::CSVLogger(path, {.separator = separator}));
  CHECK(folder.entries().empty());
}

TEST_CASE("CSVLogger refuses a column name that is not UTF-8 or holds the separator") {
  ScratchFolder folder;
  const std::string path = folder.file("log.csv");
  nn::Sequential model = line_model();
  struct Case {
    nn::Logs logs;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{{"loss", 0.5}, {"bad\xff", 1.0}}, "CSVLogger: a column name is not valid UTF-8 (byte 3 of \"bad\\xff\")"},
      {{{"loss", 0.5}, {"a,b", 1.0}}, "the column name \"a,b\" holds the separator ','"},
      {{{"loss", 0.5}, {"two\nlines", 1.0}}, "the column name \"two\\nlines\" holds"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.message);
    nn::callbacks::CSVLogger logger(path);
    logger.on_train_begin(model);
    CHECK_THROWS_WITH_AS(logger.on_epoch_end(model, 0, c.logs), doctest::Contains(c.message.c_str()), ad::Error);
    CHECK(tests::read_text(path).empty());
  }
}

TEST_CASE("a null callback is an error naming its place, before any training") {
  const Line d = line_data();
  nn::Sequential model = line_model();
  const std::vector<Tensor> before = model.get_weights();
  CHECK_THROWS_WITH_AS(fit(model, d, 2, {nn::TerminateOnNaN(), nullptr}),
                       doctest::Contains("fit: callbacks[1] is null (of 2 callbacks)"), ad::Error);
  CHECK(flat(model.get_weights()) == flat(before));
}
