/// @file
/// Callback: user code that fit() calls at the edges of training, epochs and batches.
/// Logs carry the figures by Keras names: "loss", "accuracy", "val_loss", "val_accuracy", ...
///
/// @code
/// model.fit(x, y, {.epochs = 100, .callbacks = {nn::EarlyStopping({.monitor = "val_loss",
///                                                                 .patience = 5})}});
/// @endcode
#pragma once
#include <map>
#include <memory>
#include <string>

namespace nn {

class Sequential;
using Logs = std::map<std::string, double>;

class Callback {
 public:
  virtual ~Callback() = default;
  virtual void on_train_begin(Sequential& /*model*/) {}
  virtual void on_epoch_begin(Sequential& /*model*/, int /*epoch*/) {}
  virtual void on_batch_end(Sequential& /*model*/, int /*batch*/, const Logs& /*logs*/) {}
  /// Epochs count from 0 here (the display counts from 1, as Keras does).
  virtual void on_epoch_end(Sequential& /*model*/, int /*epoch*/, const Logs& /*logs*/) {}
  virtual void on_train_end(Sequential& /*model*/, const Logs& /*logs*/) {}
};

using CallbackPtr = std::shared_ptr<Callback>;

}  // namespace nn
