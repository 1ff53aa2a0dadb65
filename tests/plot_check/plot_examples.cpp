// Writes learning-curve pictures of the kinds that have gone wrong in plots before, for
// scripts/plot_check.sh to render to PNG (and for a person to look at):
//
//   plot_examples DIR    -> DIR/epochs_1.svg, epochs_30.svg, epochs_200.svg, losses_above_1.svg, nan.svg
#include <fmt/core.h>

#include <cmath>

#include "tapegrad/nn/plot_history.h"

namespace {

// A fit's figures: loss falling from `first_loss`, accuracy rising, validation close behind, with
// a deterministic wobble so that curves cross as real ones do.
nn::History fit_like(int epochs, double first_loss) {
  nn::History h;
  for (int e = 0; e < epochs; ++e) {
    double t = e, wobble = 0.01 * std::sin(3.1 * t);
    h.epochs.push_back(e);
    h.history["loss"].push_back(first_loss * std::exp(-t / 8) + 0.25 + wobble);
    h.history["val_loss"].push_back(first_loss * std::exp(-t / 8) + 0.3 + 0.002 * t - wobble);
    h.history["accuracy"].push_back(0.95 - 0.25 * std::exp(-t / 6) + wobble);
    h.history["val_accuracy"].push_back(0.9 - 0.2 * std::exp(-t / 6) - wobble);
  }
  return h;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    fmt::print(stderr, "usage: {} DIR\n", argv[0]);
    return 2;
  }
  std::string dir = argv[1];
  try {
    nn::plot_history(fit_like(1, 0.75), dir + "/epochs_1.svg", {.title = "1 epoch"});
    nn::plot_history(fit_like(30, 0.75), dir + "/epochs_30.svg", {.title = "30 epochs"});
    nn::plot_history(fit_like(200, 0.75), dir + "/epochs_200.svg", {.title = "200 epochs"});
    nn::plot_history(fit_like(12, 2.5), dir + "/losses_above_1.svg", {.title = "Losses above 1"});
    nn::History gaps = fit_like(10, 0.75);
    gaps.history["loss"][4] = NAN;
    gaps.history["val_loss"][9] = INFINITY;
    nn::plot_history(gaps, dir + "/nan.svg", {.title = "NaN at epoch 5, inf at epoch 10"});
  } catch (const std::exception& e) {
    fmt::print(stderr, "plot_examples: {}\n", e.what());
    return 1;
  }
  return 0;
}
