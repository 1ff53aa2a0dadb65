/// @file
/// ProgressBar: the per-epoch display Keras users know.
///
/// @code
/// #include <iostream>
/// // Given: const nn::Logs& logs, const nn::Logs& logs_with_validation
/// nn::ProgressBar bar({.output = &std::cout});
/// bar.start_epoch(2, 30, 1719);
/// bar.update(1, logs);                   // after each batch, with the running figures
/// bar.finish(logs_with_validation);      // the epoch's last line
/// @endcode
///
/// @verbatim
/// Epoch 3/30
/// 1719/1719 [==============================] - 2s 1ms/step - loss: 0.3012 - accuracy: 0.8923
/// @endverbatim
///
/// Keras' verbose levels: 1 redraws the bar in place with a carriage return on a terminal at
/// most every refresh_seconds, shortening it to the terminal's width so that a redraw never
/// wraps (a wrapped line leaves a stale copy per redraw), and elsewhere (a file, a pipe, a CI
/// log) prints the header and one final line per epoch; 2 prints one short line per epoch and
/// no bar ("Epoch 3/30 - 2s - 1ms/step - loss: 0.3012 - val_loss: 0.3301"); 0 prints nothing.
/// Figures are written as Python writes them ("nan", "inf").
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
  int verbose = 1;  ///< 0: nothing; 1: a live bar on a terminal; 2: one short line per epoch everywhere
  std::ostream* output = nullptr;    ///< nullptr: standard output
  std::optional<bool> terminal{};    ///< unset: whether standard output is a terminal
  /// The terminal's width in characters; unset: asked of the terminal (TIOCGWINSZ) when the
  /// output is standard output or error, else $COLUMNS, else 80.
  std::optional<int> columns{};
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
  /// Starts timing without the epoch header (evaluate; verbose 2 then starts its line with the
  /// step count, "313/313 - 0s - ...", as Keras' does).
  void start(int64_t steps);
  /// After batch `step` (1-based) with the running figures.
  void update(int64_t step, const Logs& logs);
  /// The final line of the epoch with all figures (training and validation).
  void finish(const Logs& logs);

  /// Whether it redraws in place.
  bool terminal() const { return terminal_; }
  /// The width that redrawn lines are fitted to (see ProgressOptions::columns).
  int columns() const { return columns_; }

  static constexpr int kBarWidth = 30;  ///< Keras' Progbar width
  /// The bar line for `step` of `steps` at `elapsed` seconds with a bar of `bar_width` cells
  /// (0: no bar) (pure: tests check it directly).
  static std::string line(int64_t step, int64_t steps, double elapsed, double seconds_per_step,
                          const std::vector<std::pair<std::string, double>>& values, bool final,
                          int bar_width = kBarWidth);
  /// verbose 2's line: "<label> - 2s - 1ms/step - loss: ...".
  static std::string short_line(const std::string& label, double elapsed, double seconds_per_step,
                                const std::vector<std::pair<std::string, double>>& values);
  /// The bar line shortened to fit `columns` - 1 characters (the last column would wrap on some
  /// terminals): first a narrower bar, then none, and a line in progress is cut at the width;
  /// a final line keeps all its figures, since nothing redraws it.
  static std::string fitted_line(int64_t step, int64_t steps, double elapsed, double seconds_per_step,
                                 const std::vector<std::pair<std::string, double>>& values, bool final,
                                 int columns);

 private:
  double now() const;
  double seconds_per_step(int64_t step, double t) const;
  void draw(int64_t step, const Logs& logs, bool final);

  ProgressOptions options_;
  std::ostream* out_;
  bool terminal_;
  int64_t steps_ = 0, last_step_ = 0;
  double start_ = 0, after_first_step_ = -1, last_draw_ = -1;
  size_t drawn_width_ = 0;
  int columns_ = 80;
  std::string epoch_label_;  ///< "Epoch 3/30", or empty outside fit
};

/// Orders logs as Keras shows them: loss, the metrics, then val_loss and the val_ metrics.
std::vector<std::pair<std::string, double>> display_order(const Logs& logs);

}  // namespace nn
