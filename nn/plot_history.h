/// @file
/// Learning curves: the per-epoch figures of a fit (loss, accuracy, val_loss, ...) drawn on one
/// axes as an SVG picture, the figure Keras users draw from History with pandas (the book's figure 10-11: all
/// curves together, epochs along x, y in [0, 1]).
///
/// @code
/// #include <tapegrad/nn/sequential.h>
/// // Given: nn::Sequential& model, const ad::Tensor& x, const ad::Tensor& y, const ad::Tensor& x_valid, const ad::Tensor& y_valid
/// nn::History history = model.fit(x, y, {.epochs = 30, .validation_data = {x_valid, y_valid}});
/// nn::plot_history(history, "learning_curves.svg");
/// nn::plot_history(history, "loss.svg", {.title = "Loss", .keys = {"loss", "val_loss"}});
/// @endcode
///
/// Each figure has its own colour; a training curve is dashed and its validation twin ("val_"
/// prefix) solid in the same colour. The x axis shows epoch numbers counted from 1 (as the
/// progress bar and history.csv count them) with integer ticks; the y axis runs from 0 (or the
/// lowest value, when one is negative) to 1, or to a rounded-up maximum when a value exceeds 1.
/// The legend sits in a column of its own right of the axes, so it never covers a curve; the
/// column widens for long figure names, up to 45% of the picture, beyond which a name ends in
/// "…" inside it. Points
/// are marked when there are few epochs (always for a single epoch, which has no line), and a
/// NaN or infinite value breaks its curve: the finite stretches either side are drawn apart.
#pragma once
#include <string>
#include <vector>

#include "tapegrad/nn/sequential.h"

namespace nn {

/// How plot_history draws: the title, the picture's size and which figures.
struct PlotOptions {
  /// The title above the axes.
  std::string title = "Learning curves";
  int width = 760;    ///< pixels, of the whole picture (axes, labels and legend); at least 320
  int height = 440;   ///< pixels; at least 200; taller when the legend has more rows than fit (20 px a key)
  /// The history keys to draw, in legend order; empty: every key, training figures first (loss
  /// before the others), then their "val_" twins in the same order.
  std::vector<std::string> keys{};
};

/// The picture as SVG text. Throws ad::Error naming the key when a requested key is not in the
/// history (listing those recorded), when the history has no figures, or when the size is below
/// the minimum.
std::string history_svg(const History& history, const PlotOptions& options = {});

/// Writes history_svg() to `path` atomically (nn/atomic_file.h): a reader sees the old picture
/// or the new one, never half of it.
void plot_history(const History& history, const std::string& path, const PlotOptions& options = {});

}  // namespace nn
