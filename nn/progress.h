/// @file
/// ProgressBar: the per-epoch display Keras users know.
///
/// @verbatim
/// Epoch 3/30
/// 1719/1719 [==============================] - 2s 1ms/step - loss: 0.3012 - accuracy: 0.8923
/// @endverbatim
///
/// On a terminal the bar is redrawn in place (a carriage return, no new line) at most every `refresh_seconds`; elsewhere
/// (a file, a pipe, a CI log) each epoch prints one final line; verbose 0 prints nothing.
///
/// @code
/// #include <iostream>
/// // Given: const nn::Logs& logs, const nn::Logs& logs_with_validation
/// nn::ProgressBar bar({.output = &std::cout});
/// bar.start_epoch(2, 30, 1719);
/// bar.update(1, logs);                   // after each batch, with the running figures
/// bar.finish(logs_with_validation);       // the epoch's last line
/// @endcode
#pragma once
#include <chrono>
#include <functional>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "tapegrad/nn/callback.h"

namespace nn {

/// How a ProgressBar prints, as Keras' verbose argument.
struct ProgressOptions {
  int verbose = 1;  ///< 0: nothing; 1: a live bar on a terminal; 2: one line per epoch everywhere
  std::ostream* output = nullptr;    ///< nullptr: standard output
  std::optional<bool> terminal{};    ///< unset: whether standard output is a terminal
  double refresh_seconds = 0.1;  ///< at most one redraw per this many seconds on a terminal
  std::function<double()> clock{};   ///< seconds; unset: a steady clock (tests inject their own)
};

/// Keras' progress display for fit() and evaluate(): a live bar with the running figures and
/// the time per step on a terminal, one line per epoch elsewhere.
class ProgressBar {
 public:
  /// Prints to options.output (standard output by default).
  explicit ProgressBar(ProgressOptions options = {});

  /// Prints "Epoch 3/30" (epoch counts from 0 here) and starts timing `steps` batches.
  void start_epoch(int epoch, int epochs, int64_t steps);
  /// Starts timing without the epoch header (evaluate).
  void start(int64_t steps);
  /// After batch `step` (1-based) with the running figures.
  void update(int64_t step, const Logs& logs);
  /// The final line of the epoch with all figures (training and validation).
  void finish(const Logs& logs);

  /// Whether it redraws in place.
  bool terminal() const { return terminal_; }

  /// The bar line for `step` of `steps` at `elapsed` seconds (pure: tests check it directly).
  static std::string line(int64_t step, int64_t steps, double elapsed, double seconds_per_step,
                          const std::vector<std::pair<std::string, double>>& values, bool final);

 private:
  double now() const;
  void draw(int64_t step, const Logs& logs, bool final);

  ProgressOptions options_;
  std::ostream* out_;
  bool terminal_;
  int64_t steps_ = 0, last_step_ = 0;
  double start_ = 0, after_first_step_ = -1, last_draw_ = -1;
  size_t drawn_width_ = 0;
};

/// Orders logs as Keras shows them: loss, the metrics, then val_loss and the val_ metrics.
std::vector<std::pair<std::string, double>> display_order(const Logs& logs);

}  // namespace nn
