/// @file
/// Callback: user code that fit() calls at the edges of training, epochs and batches, with the
/// nn::Model being trained (any kind: a Sequential is one).
/// Logs carry the figures by Keras names: "loss", "accuracy", "val_loss", "val_accuracy", ...
///
/// @code
/// #include <tapegrad/nn/callbacks.h>
/// #include <tapegrad/nn/sequential.h>
/// // Given: nn::Sequential& model, const ad::Tensor& x, const ad::Tensor& y
/// model.fit(x, y, {.epochs = 100, .callbacks = {nn::EarlyStopping({.monitor = "val_loss",
///                                                                 .patience = 5})}});
/// @endcode
#pragma once
#include <map>
#include <memory>
#include <string>

namespace nn {

class Model;
/// Figures by Keras name ("loss", "accuracy", "val_loss", ...): what fit() reports.
using Logs = std::map<std::string, double>;

/// Hooks that fit() calls as training proceeds, as Keras' keras.callbacks.Callback; each does
/// nothing unless overridden. A hook may set model.stop_training to end fit() early.
class Callback {
 public:
  virtual ~Callback() = default;
  /// Before the first epoch.
  virtual void on_train_begin(Model& /*model*/) {}
  /// Before each epoch (counted from 0).
  virtual void on_epoch_begin(Model& /*model*/, int /*epoch*/) {}
  /// After each training batch, with the running means of the epoch so far (batch counts from 0).
  virtual void on_batch_end(Model& /*model*/, int /*batch*/, const Logs& /*logs*/) {}
  /// Epochs count from 0 here (the display counts from 1, as Keras does).
  virtual void on_epoch_end(Model& /*model*/, int /*epoch*/, const Logs& /*logs*/) {}
  /// After the last epoch, with the last epoch's logs.
  virtual void on_train_end(Model& /*model*/, const Logs& /*logs*/) {}
};

/// Callbacks are shared: the caller may keep one to read it after fit() (a checkpoint's best
/// value).
using CallbackPtr = std::shared_ptr<Callback>;

}  // namespace nn
