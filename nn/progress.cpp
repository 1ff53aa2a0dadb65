#include "tapegrad/nn/progress.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <iostream>

namespace nn {

namespace {

std::string format_duration(double seconds) {  // Keras' ETA format
  auto s = static_cast<int64_t>(seconds);
  if (s > 3600) return fmt::format("{}:{:02d}:{:02d}", s / 3600, (s % 3600) / 60, s % 60);
  if (s > 60) return fmt::format("{}:{:02d}", s / 60, s % 60);
  return fmt::format("{}s", s);
}

std::string format_per_step(double seconds) {
  if (seconds >= 1 || seconds == 0) return fmt::format("{:.0f}s/step", seconds);
  if (seconds >= 1e-3) return fmt::format("{:.0f}ms/step", seconds * 1e3);
  return fmt::format("{:.0f}us/step", seconds * 1e6);
}

std::string format_value(double v) {
  return std::fabs(v) > 1e-3 ? fmt::format("{:.4f}", v) : fmt::format("{:.4e}", v);
}

}  // namespace

std::vector<std::pair<std::string, double>> display_order(const Logs& logs) {
  std::vector<std::pair<std::string, double>> out;
  auto take = [&](bool validation) {
    auto loss = logs.find(validation ? "val_loss" : "loss");
    if (loss != logs.end()) out.emplace_back(*loss);
    for (const auto& [key, value] : logs) {
      bool is_val = key.rfind("val_", 0) == 0;
      if (is_val == validation && key != "loss" && key != "val_loss") out.emplace_back(key, value);
    }
  };
  take(false);
  take(true);
  return out;
}

ProgressBar::ProgressBar(ProgressOptions options)
    : options_(std::move(options)), out_(options_.output ? options_.output : &std::cout) {
  terminal_ = options_.terminal ? *options_.terminal : (!options_.output && isatty(fileno(stdout)));
  if (options_.verbose >= 2) terminal_ = false;  // Keras' verbose 2: one line per epoch, always
}

double ProgressBar::now() const {
  if (options_.clock) return options_.clock();
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}

void ProgressBar::start_epoch(int epoch, int epochs, int64_t steps) {
  if (options_.verbose > 0) *out_ << fmt::format("Epoch {}/{}\n", epoch + 1, epochs) << std::flush;
  start(steps);
}

void ProgressBar::start(int64_t steps) {
  steps_ = steps;
  last_step_ = 0;
  start_ = now();
  after_first_step_ = -1;
  last_draw_ = -1;
  drawn_width_ = 0;
}

std::string ProgressBar::line(int64_t step, int64_t steps, double elapsed, double seconds_per_step,
                              const std::vector<std::pair<std::string, double>>& values, bool final) {
  constexpr int64_t kWidth = 30;
  int digits = steps > 0 ? static_cast<int>(std::floor(std::log10(static_cast<double>(steps)))) + 1 : 1;
  std::string text = fmt::format("{:>{}}/{} [", step, digits, steps);
  int64_t filled = steps > 0 ? kWidth * step / steps : kWidth;
  if (filled > 0) text += std::string(static_cast<size_t>(filled - 1), '=') + (step < steps ? '>' : '=');
  text += std::string(static_cast<size_t>(kWidth - filled), '.') + "]";
  if (final)
    text += fmt::format(" - {:.0f}s {}", elapsed, format_per_step(seconds_per_step));
  else
    text += " - ETA: " + format_duration(seconds_per_step * static_cast<double>(steps - step));
  for (const auto& [key, value] : values) text += fmt::format(" - {}: {}", key, format_value(value));
  return text;
}

void ProgressBar::draw(int64_t step, const Logs& logs, bool final) {
  double t = now();
  // The first step carries one-off costs (primitive creation); Keras leaves it out of the rate.
  double per_step = (after_first_step_ >= 0 && step > 1) ? (t - after_first_step_) / static_cast<double>(step - 1)
                                                         : (step > 0 ? (t - start_) / static_cast<double>(step) : 0);
  std::string text = line(step, steps_, t - start_, per_step, display_order(logs), final);
  if (terminal_) {
    std::string padded = text;
    if (padded.size() < drawn_width_) padded += std::string(drawn_width_ - padded.size(), ' ');
    *out_ << '\r' << padded;
    drawn_width_ = text.size();
    if (final) *out_ << '\n';
  } else {
    *out_ << text << '\n';
  }
  *out_ << std::flush;
}

void ProgressBar::update(int64_t step, const Logs& logs) {
  last_step_ = step;
  if (step == 1) after_first_step_ = now();
  if (options_.verbose <= 0 || !terminal_ || step >= steps_) return;  // the last step is drawn by finish()
  double t = now();
  if (last_draw_ >= 0 && t - last_draw_ < options_.refresh_seconds) return;
  last_draw_ = t;
  draw(step, logs, false);
}

void ProgressBar::finish(const Logs& logs) {
  if (options_.verbose <= 0) return;
  draw(last_step_, logs, true);
}

}  // namespace nn
