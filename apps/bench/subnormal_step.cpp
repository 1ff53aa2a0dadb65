// How much subnormal numbers slow a training step, with the library's flush-to-zero setting on
// (the default) and off: the Fashion MNIST model (784-300-relu-100-relu-10-softmax) with Adam at
// batch 64, compiled, one step at a time from the same state, in three states: Adam's moment
// estimates in the normal range; the same values scaled to subnormals (what slowly decaying
// moments turn into); and those with half the inputs subnormal too. Prints the median step
// time of each and the ratios to the normal state.
//
//   bench_subnormal_step --threads 2 --steps 60
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <vector>

#include "tapegrad/autodiff/kernels/matmul.h"
#include "tapegrad/autodiff/threading.h"
#include "tapegrad/nn/compiled_step.h"
#include "tapegrad/nn/layers/all.h"
#include "tapegrad/nn/optimizers/adam.h"
#include "tapegrad/nn/sequential.h"

namespace {

using ad::Tensor;
using Clock = std::chrono::steady_clock;

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  size_t mid = values.size() / 2;
  return values.size() % 2 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
}

// Every value of t set to `scale` times a fixed pattern in [0.5, 1): subnormal for scale 1e-39.
void fill(Tensor& t, float scale, float fraction = 1) {
  for (int64_t i = 0; i < t.size(); ++i)
    if (static_cast<float>(i % 100) < fraction * 100) t[i] = scale * (0.5f + 0.5f * static_cast<float>(i % 7) / 7);
}

// The median time of `steps` single steps, each from a state whose Adam slots are refilled at
// `slot_scale` before the step, untimed; half the input's values are set to `x_scale` (none
// when it is 0).
double median_step_ms(nn::Sequential& model, nn::CompiledStep& step, const Tensor& x_base, const Tensor& y,
                      float slot_scale, float x_scale, int steps) {
  std::vector<double> ms;
  Tensor x = x_base.clone(), predictions;
  if (x_scale != 0) fill(x, x_scale, 0.5f);
  for (int s = 0; s < steps + 3; ++s) {
    nn::Optimizer& optimizer = *model.optimizer();
    for (size_t i = 0; i < optimizer.built_parameters(); ++i)
      for (const std::string& name : optimizer.slot_names(i)) fill(optimizer.slot(i, name), slot_scale);
    auto start = Clock::now();
    step.train(x, y, predictions);
    double elapsed = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    if (s >= 3) ms.push_back(elapsed);  // the first steps compile and warm up
  }
  return median(ms);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Training-step time with subnormal Adam state and inputs, flush-to-zero on and off"};
  int threads = 0, steps = 60, batch = 64;
  app.add_option("--threads", threads, "threads (0: all cores)");
  app.add_option("--steps", steps, "timed steps per measurement")->check(CLI::PositiveNumber);
  app.add_option("--batch", batch, "batch size")->check(CLI::PositiveNumber);
  CLI11_PARSE(app, argc, argv);
  ad::set_num_threads(threads);
  fmt::print("CPU ISA (oneDNN): {}   threads: {}   batch {}, median of {} steps\n\n", ad::kernels::cpu_isa(),
             ad::num_threads(), batch, steps);

  ad::Rng rng(7);
  Tensor x = Tensor::uniform({batch, 784}, 0, 1, rng), y({batch});
  for (int64_t i = 0; i < batch; ++i) y[i] = static_cast<float>(i % 10);
  nn::Sequential model({nn::Dense(300, "relu"), nn::Dense(100, "relu"), nn::Dense(10, "softmax")});
  model.build({784}, 42);
  // A learning rate of 0 keeps the weights where they are, so every step starts from the same state.
  model.compile({.loss = "sparse_categorical_crossentropy", .optimizer = nn::Adam(0.0)});
  nn::CompiledStep step(model);

  constexpr float kNormal = 1e-3f, kSubnormal = 1e-39f;
  fmt::print("{:<18} {:>12} {:>24} {:>28}\n", "flush-to-zero", "normal (ms)", "subnormal moments (ms)",
             "and subnormal inputs (ms)");
  for (bool flush : {true, false}) {
    ad::set_flush_denormals(flush);
    // Alternating, so that a slow stretch of a shared host hits every state alike.
    std::vector<double> normal, moments, inputs;
    for (int round = 0; round < 3; ++round) {
      normal.push_back(median_step_ms(model, step, x, y, kNormal, 0, steps));
      moments.push_back(median_step_ms(model, step, x, y, kSubnormal, 0, steps));
      inputs.push_back(median_step_ms(model, step, x, y, kSubnormal, kSubnormal, steps));
    }
    double n = median(normal), m = median(moments), i = median(inputs);
    fmt::print("{:<18} {:>12.3f} {:>15.3f} ({:>5.2f}x) {:>19.3f} ({:>5.2f}x)\n", flush ? "on (the default)" : "off", n, m,
               m / n, i, i / n);
  }
  ad::set_flush_denormals(true);
}
