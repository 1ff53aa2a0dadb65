/// @file
/// The callbacks Keras users know: EarlyStopping, ModelCheckpoint, CSVLogger, TerminateOnNaN and
/// LambdaCallback. Each factory returns a shared handle that fit() takes and that the caller
/// may keep to ask what happened (the best epoch, the epoch training stopped at, ...).
///
/// @code
/// #include <tapegrad/nn/sequential.h>
/// // Given: nn::Sequential& model, const ad::Tensor& x, const ad::Tensor& y
/// auto stop = nn::EarlyStopping({.monitor = "val_loss", .patience = 5,
///                                .restore_best_weights = true});
/// model.fit(x, y, {.epochs = 100, .validation_split = 0.1,
///                  .callbacks = {stop, nn::CSVLogger("training.csv"),
///                                nn::ModelCheckpoint("ckpt-{epoch}.model",
///                                                    {.save_best_only = true})}});
/// if (stop->best_epoch()) fmt::print("best epoch: {}\n", *stop->best_epoch() + 1);
/// @endcode
///
/// Epochs count from 0 in the API (as Callback does) and in CSV rows (as Keras' CSVLogger
/// writes them), from 1 in messages and file names (as Keras shows them).
#pragma once
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tapegrad/nn/callback.h"
#include "tapegrad/autodiff/tensor.h"

namespace nn {

/// Which way a monitored figure improves: "min", "max", or "auto" (max for names holding "acc"
/// or "auc", min otherwise, as Keras decides).
class Improvement {
 public:
  /// For the figure `monitor` in `mode` ("min", "max", "auto"); throws ad::Error naming `who`
  /// for another mode.
  Improvement(const std::string& who, const std::string& monitor, const std::string& mode,
              double min_delta = 0);
  /// True when `current` beats `reference` by more than min_delta; "no value" is Keras' start,
  /// +inf when minimizing (-inf when maximizing): any finite figure beats it, NaN and an
  /// infinite figure at the wrong end do not.
  bool operator()(double current, std::optional<double> reference) const;
  /// Whether larger is better.
  bool maximizes() const { return maximize_; }

 private:
  bool maximize_ = false;
  double min_delta_ = 0;
};

/// The monitored figure from the logs; throws naming the callback, the unknown name and the
/// recorded ones (and the other spelling, "val_accuracy" for "val_acc", when that one is there).
double monitored_value(const std::string& who, const std::string& monitor, const Logs& logs);

/// Keras' options, the most used first (designated initializers must keep this order).
struct EarlyStoppingOptions {
  std::string monitor = "val_loss";  ///< the figure watched (Keras' default val_loss)
  int patience = 0;      ///< epochs without improvement before stopping
  double min_delta = 0;  ///< a change smaller than this is no improvement
  std::string mode = "auto";  ///< "min", "max" or "auto" (see Improvement)
  std::optional<double> baseline = std::nullopt;  ///< training stops unless the figure beats this (not NaN)
  /// Puts back the weights of the best epoch when training ends, whether it stopped early or not.
  bool restore_best_weights = false;
  int start_from_epoch = 0;  ///< epochs of warm-up that are not watched
  int verbose = 0;  ///< 1: print a line when stopping
};

namespace callbacks {

/// Keras' EarlyStopping: stops fit() once the monitored figure has not improved for
/// `patience` epochs.
class EarlyStopping : public Callback {
 public:
  /// Throws ad::Error for a negative patience or start_from_epoch, or an unknown mode.
  explicit EarlyStopping(EarlyStoppingOptions options = {});
  void on_train_begin(Model& model) override;
  void on_epoch_end(Model& model, int epoch, const Logs& logs) override;
  void on_train_end(Model& model, const Logs& logs) override;

  /// The epoch that set model.stop_training, if any.
  std::optional<int> stopped_epoch() const { return stopped_epoch_; }
  /// The epoch with the best figure so far, and that figure.
  /// @{
  std::optional<int> best_epoch() const { return best_epoch_; }
  std::optional<double> best() const { return best_; }
  /// @}

 private:
  EarlyStoppingOptions options_;
  Improvement improvement_;
  int wait_ = 0;
  std::optional<double> best_;
  std::optional<int> best_epoch_, stopped_epoch_;
  std::vector<ad::Tensor> best_weights_;
};

}  // namespace callbacks

/// An EarlyStopping to put in FitOptions::callbacks, kept by the caller to read afterwards.
std::shared_ptr<callbacks::EarlyStopping> EarlyStopping(EarlyStoppingOptions options = {});

/// Keras' ModelCheckpoint options and defaults.
struct ModelCheckpointOptions {
  std::string monitor = "val_loss";  ///< the figure watched with save_best_only
  bool save_best_only = false;     ///< write only when the monitored figure improves
  bool save_weights_only = false;  ///< the weights alone, as save_weights() writes them
  std::string mode = "auto";  ///< "min", "max" or "auto" (see Improvement)
  int verbose = 0;  ///< 1: print a line for each file written
};

namespace callbacks {

/// The path is a fmt pattern over the epoch (counted from 1) and the logs:
/// "ckpt-{epoch:03d}-{val_loss:.3f}.model"; other braces in the path are written doubled.
class ModelCheckpoint : public Callback {
 public:
  /// Saves to `path` (a pattern, see the class) after each epoch. Throws ad::Error for an
  /// empty path, an unknown mode, or a field wider than 4096 characters ("{epoch:9999999d}"
  /// would build the whole string); a pattern the epoch's logs cannot fill throws when used.
  ModelCheckpoint(std::string path, ModelCheckpointOptions options = {});
  void on_train_begin(Model& model) override;
  void on_epoch_end(Model& model, int epoch, const Logs& logs) override;

  /// Every file written, in order (the same path more than once when it has no {epoch}).
  const std::vector<std::string>& saved() const { return saved_; }
  /// The best monitored figure so far (with save_best_only).
  std::optional<double> best() const { return best_; }
  /// The file name for epoch `epoch` (from 0) with `logs`; throws ad::Error naming a field the
  /// logs lack.
  std::string path_for(int epoch, const Logs& logs) const;

 private:
  std::string path_;
  ModelCheckpointOptions options_;
  Improvement improvement_;
  std::optional<double> best_;
  std::vector<std::string> saved_;
};

}  // namespace callbacks

/// A ModelCheckpoint to put in FitOptions::callbacks.
std::shared_ptr<callbacks::ModelCheckpoint> ModelCheckpoint(std::string path,
                                                           ModelCheckpointOptions options = {});

/// Keras' CSVLogger options and defaults.
struct CSVLoggerOptions {
  /// Between fields. Not a line end or quote (they would break rows), nor a character of the
  /// numbers written (digits, '.', '+', '-', letters of "nan", "inf", "NA"): the constructor
  /// throws naming it.
  char separator = ',';
  /// Keep the rows of an earlier run and its header: the new rows follow that header's columns
  /// ("NA" for a figure this run lacks) and line ends; a file whose first line is no such header
  /// (another separator, a repeated column) throws ad::Error at the first epoch's end.
  bool append = false;
};

namespace callbacks {

/// One row per epoch: epoch (from 0, as Keras writes it), then the figures in sorted order of
/// their names, as Keras' CSVLogger sorts them (accuracy, loss, val_accuracy, val_loss); "NA"
/// where an epoch lacks a figure. The columns are
/// fixed by the first epoch (or the appended file's header): a figure first logged later throws
/// ad::Error naming it, as Keras' CSVLogger refuses it. The whole file is rewritten
/// atomically after each epoch, so a reader never sees half a row.
class CSVLogger : public Callback {
 public:
  /// Writes to `path` (with `append`, after the rows already there).
  CSVLogger(std::string path, CSVLoggerOptions options = {});
  void on_train_begin(Model& model) override;
  void on_epoch_end(Model& model, int epoch, const Logs& logs) override;

 private:
  std::string path_;
  CSVLoggerOptions options_;
  std::string kept_;  ///< an earlier run's text, with append
  bool crlf_ = false;  ///< the kept file's lines end in "\r\n"
  std::vector<std::string> columns_;
  std::vector<std::string> rows_;
};

}  // namespace callbacks

/// A CSVLogger to put in FitOptions::callbacks.
std::shared_ptr<callbacks::CSVLogger> CSVLogger(std::string path, CSVLoggerOptions options = {});

namespace callbacks {

/// Stops training at the first batch whose loss is NaN or infinite, and says so ("Batch 3:
/// Invalid loss, terminating training", batches from 0 as Keras counts them) after that
/// epoch's progress line.
class TerminateOnNaN : public Callback {
 public:
  void on_train_begin(Model& model) override;
  void on_batch_end(Model& model, int batch, const Logs& logs) override;
  void on_epoch_end(Model& model, int epoch, const Logs& logs) override;
  /// The batch (from 0) at which it stopped training, if it did.
  std::optional<int> terminated_batch() const { return terminated_batch_; }

 private:
  std::optional<int> terminated_batch_;
  bool reported_ = false;
};

}  // namespace callbacks

/// A TerminateOnNaN to put in FitOptions::callbacks.
std::shared_ptr<callbacks::TerminateOnNaN> TerminateOnNaN();

/// User code at the edges of training; empty functions are skipped.
struct LambdaCallbackOptions {
  std::function<void(Model&)> on_train_begin = nullptr;  ///< see Callback::on_train_begin
  std::function<void(Model&, int epoch)> on_epoch_begin = nullptr;  ///< see Callback::on_epoch_begin
  std::function<void(Model&, int batch, const Logs&)> on_batch_end = nullptr;  ///< see Callback::on_batch_end
  std::function<void(Model&, int epoch, const Logs&)> on_epoch_end = nullptr;  ///< see Callback::on_epoch_end
  std::function<void(Model&, const Logs&)> on_train_end = nullptr;  ///< see Callback::on_train_end
};

namespace callbacks {

/// Keras' LambdaCallback: calls the given functions from the matching hooks.
class LambdaCallback : public Callback {
 public:
  /// With the functions to call; empty ones are skipped.
  explicit LambdaCallback(LambdaCallbackOptions functions) : functions_(std::move(functions)) {}
  void on_train_begin(Model& model) override;
  void on_epoch_begin(Model& model, int epoch) override;
  void on_batch_end(Model& model, int batch, const Logs& logs) override;
  void on_epoch_end(Model& model, int epoch, const Logs& logs) override;
  void on_train_end(Model& model, const Logs& logs) override;

 private:
  LambdaCallbackOptions functions_;
};

}  // namespace callbacks

/// A LambdaCallback to put in FitOptions::callbacks.
std::shared_ptr<callbacks::LambdaCallback> LambdaCallback(LambdaCallbackOptions functions);

}  // namespace nn
