#include "tapegrad/nn/progress.h"

#include <fmt/format.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>

#include "tapegrad/autodiff/error.h"
#include "tapegrad/nn/number_text.h"

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

std::string format_values(const std::vector<std::pair<std::string, double>>& values) {
  std::string text;
  for (const auto& [key, value] : values) text += fmt::format(" - {}: {}", key, progress_text(value));
  return text;
}

// The width of the terminal behind `out`, as `ls` and Python's shutil.get_terminal_size find
// it: the terminal itself, then $COLUMNS, then 80.
int terminal_columns(const std::ostream* out) {
  int fd = out == &std::cout ? STDOUT_FILENO : (out == &std::cerr || out == &std::clog) ? STDERR_FILENO : -1;
  winsize size{};
  if (fd >= 0 && isatty(fd) && ioctl(fd, TIOCGWINSZ, &size) == 0 && size.ws_col > 0) return size.ws_col;
  if (const char* env = std::getenv("COLUMNS")) {
    int columns = 0;
    const char* end = env + std::strlen(env);
    auto [stop, error] = std::from_chars(env, end, columns);
    if (error == std::errc() && stop == end && columns > 0) return columns;
  }
  return 80;
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
  TG_CHECK(!options_.columns || *options_.columns > 0, "ProgressBar: columns must be positive, got {}",
           options_.columns.value_or(0));
}

double ProgressBar::now() const {
  if (options_.clock) return options_.clock();
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}

void ProgressBar::start_epoch(int epoch, int epochs, int64_t steps) {
  start(steps);
  epoch_label_ = fmt::format("Epoch {}/{}", epoch + 1, epochs);
  if (options_.verbose == 1) *out_ << epoch_label_ << '\n' << std::flush;
}

void ProgressBar::start(int64_t steps) {
  epoch_label_.clear();
  // Asked again each epoch: the terminal may have been resized.
  columns_ = options_.columns ? *options_.columns : terminal_columns(out_);
  steps_ = steps;
  last_step_ = 0;
  start_ = now();
  after_first_step_ = -1;
  last_draw_ = -1;
  drawn_width_ = 0;
}

std::string ProgressBar::line(int64_t step, int64_t steps, double elapsed, double seconds_per_step,
                              const std::vector<std::pair<std::string, double>>& values, bool final, int bar_width) {
  int digits = steps > 0 ? static_cast<int>(std::floor(std::log10(static_cast<double>(steps)))) + 1 : 1;
  std::string text = fmt::format("{:>{}}/{}", step, digits, steps);
  if (bar_width > 0) {
    const int64_t width = bar_width;
    int64_t filled = steps > 0 ? std::min(width, width * step / steps) : width;
    text += " [";
    if (filled > 0) text += std::string(static_cast<size_t>(filled - 1), '=') + (step < steps ? '>' : '=');
    text += std::string(static_cast<size_t>(width - filled), '.') + "]";
  }
  if (final)
    text += fmt::format(" - {:.0f}s {}", elapsed, format_per_step(seconds_per_step));
  else
    text += " - ETA: " + format_duration(seconds_per_step * static_cast<double>(steps - step));
  return text + format_values(values);
}

std::string ProgressBar::short_line(const std::string& label, double elapsed, double seconds_per_step,
                                    const std::vector<std::pair<std::string, double>>& values) {
  return fmt::format("{} - {:.0f}s - {}", label, elapsed, format_per_step(seconds_per_step)) + format_values(values);
}

std::string ProgressBar::fitted_line(int64_t step, int64_t steps, double elapsed, double seconds_per_step,
                                     const std::vector<std::pair<std::string, double>>& values, bool final,
                                     int columns) {
  const size_t room = columns > 1 ? static_cast<size_t>(columns - 1) : 1;
  std::string text = line(step, steps, elapsed, seconds_per_step, values, final);
  if (text.size() <= room) return text;
  // A bar narrower than a few cells tells nothing: below that, none.
  constexpr size_t kNarrowest = 5;
  const size_t over = text.size() - room;
  const size_t bar = over < static_cast<size_t>(kBarWidth) ? kBarWidth - over : 0;
  text = line(step, steps, elapsed, seconds_per_step, values, final, bar >= kNarrowest ? static_cast<int>(bar) : 0);
  if (!final && text.size() > room) text.resize(room);
  return text;
}

double ProgressBar::seconds_per_step(int64_t step, double t) const {
  // The first step carries one-off costs (primitive creation); Keras leaves it out of the rate.
  return (after_first_step_ >= 0 && step > 1) ? (t - after_first_step_) / static_cast<double>(step - 1)
                                              : (step > 0 ? (t - start_) / static_cast<double>(step) : 0);
}

void ProgressBar::draw(int64_t step, const Logs& logs, bool final) {
  double t = now();
  double per_step = seconds_per_step(step, t);
  if (options_.verbose >= 2) {
    std::string label = epoch_label_.empty() ? fmt::format("{}/{}", step, steps_) : epoch_label_;
    *out_ << short_line(label, t - start_, per_step, display_order(logs)) << '\n' << std::flush;
    return;
  }
  std::string text = terminal_ ? fitted_line(step, steps_, t - start_, per_step, display_order(logs), final, columns_)
                               : line(step, steps_, t - start_, per_step, display_order(logs), final);
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
