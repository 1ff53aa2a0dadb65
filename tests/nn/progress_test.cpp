#include <doctest/doctest.h>

#include <cstdlib>
#include <limits>
#include <sstream>

#include "tapegrad/autodiff/error.h"
#include "tapegrad/nn/progress.h"

namespace {
// A clock the test moves by hand.
struct FakeClock {
  double now = 100;
  std::function<double()> function() {
    return [this] { return now; };
  }
};
}  // namespace

TEST_CASE("the finished bar reads like Keras': steps, full bar, time, time per step and figures") {
  CHECK(nn::ProgressBar::line(1719, 1719, 2.4, 0.00121, {{"loss", 0.30121}, {"accuracy", 0.89234}}, true) ==
        "1719/1719 [==============================] - 2s 1ms/step - loss: 0.3012 - accuracy: 0.8923");
}

TEST_CASE("a bar in progress shows an arrow and the estimated time left") {
  struct Case {
    int64_t step, steps;
    double per_step;
    const char* expected;
  };
  const Case cases[] = {
      {32, 1719, 0.002, "  32/1719 [..............................] - ETA: 3s - loss: 0.5000"},
      {860, 1719, 0.002, " 860/1719 [==============>...............] - ETA: 1s - loss: 0.5000"},
      {1, 4, 30.0, "1/4 [======>.......................] - ETA: 1:30 - loss: 0.5000"},  // int(30/4) = 7 cells
  };
  for (const Case& c : cases) {
    CAPTURE(c.step);
    CHECK(nn::ProgressBar::line(c.step, c.steps, 1.0, c.per_step, {{"loss", 0.5}}, false) == c.expected);
  }
}

TEST_CASE("small figures switch to scientific notation and slow steps to seconds") {
  CHECK(nn::ProgressBar::line(2, 2, 3, 1.5, {{"loss", 0.0001234}}, true) ==
        "2/2 [==============================] - 3s 2s/step - loss: 1.2340e-04");
  CHECK(nn::ProgressBar::line(2, 2, 0, 0.0000456, {{"mae", 2}}, true) ==
        "2/2 [==============================] - 0s 46us/step - mae: 2.0000");
}

TEST_CASE("logs are shown as Keras orders them: loss, metrics, then validation") {
  nn::Logs logs = {{"val_accuracy", 0.5}, {"accuracy", 0.6}, {"val_loss", 0.7}, {"loss", 0.8}};
  auto order = nn::display_order(logs);
  REQUIRE(order.size() == 4);
  CHECK(order[0].first == "loss");
  CHECK(order[1].first == "accuracy");
  CHECK(order[2].first == "val_loss");
  CHECK(order[3].first == "val_accuracy");
}

TEST_CASE("outside a terminal each epoch prints its header and one final line") {
  std::ostringstream out;
  FakeClock clock;
  nn::ProgressBar bar({.output = &out, .terminal = false, .clock = clock.function()});
  bar.start_epoch(2, 30, 3);
  for (int step = 1; step <= 3; ++step) {
    clock.now += 0.5;
    bar.update(step, {{"loss", 1.0 / step}});
  }
  bar.finish({{"loss", 0.25}, {"val_loss", 0.5}});
  // Steps 2 and 3 took 0.5 s each: 500ms/step; the epoch 1.5 s, shown as "2s" like Keras' %.0f.
  CHECK(out.str() == "Epoch 3/30\n3/3 [==============================] - 2s 500ms/step - loss: 0.2500 - val_loss: 0.5000\n");
}

TEST_CASE("on a terminal the bar is redrawn in place at most every refresh interval") {
  std::ostringstream out;
  FakeClock clock;
  nn::ProgressBar bar({.output = &out, .terminal = true, .refresh_seconds = 0.1, .clock = clock.function()});
  bar.start_epoch(0, 1, 100);
  for (int step = 1; step <= 100; ++step) {
    clock.now += 0.01;  // 10 steps per refresh interval
    bar.update(step, {{"loss", 1}});
  }
  bar.finish({{"loss", 1}});
  std::string s = out.str();
  CHECK(s.rfind("Epoch 1/1\n\r", 0) == 0);
  size_t redraws = 0;
  for (char c : s) redraws += c == '\r';
  CHECK(redraws >= 9);
  CHECK(redraws <= 12);
  CHECK(s.find("\r100/100 [==============================] - 1s 10ms/step - loss: 1.0000\n") != std::string::npos);
  CHECK(s.back() == '\n');
}

TEST_CASE("a shorter redraw blanks what is left of the longer line before it") {
  std::ostringstream out;
  FakeClock clock;
  nn::ProgressBar bar({.output = &out, .terminal = true, .refresh_seconds = 0, .clock = clock.function()});
  bar.start(3);
  clock.now += 1;
  bar.update(1, {{"loss", 1}, {"accuracy", 0.5}});
  clock.now += 1;
  bar.update(2, {{"loss", 1}});
  std::string s = out.str();
  size_t second = s.rfind('\r');
  size_t first = s.find('\r');
  CHECK(s.size() - second == second - first);  // same width: padded with spaces
}

TEST_CASE("verbose 0 prints nothing") {
  std::ostringstream out;
  nn::ProgressBar bar({.verbose = 0, .output = &out, .terminal = true});
  bar.start_epoch(0, 1, 2);
  bar.update(1, {{"loss", 1}});
  bar.update(2, {{"loss", 1}});
  bar.finish({{"loss", 1}});
  CHECK(out.str().empty());
}

TEST_CASE("NaN and infinite figures read nan, inf and -inf as Keras prints them, whatever the NaN's sign bit") {
  const double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
  CHECK(nn::ProgressBar::line(2, 2, 0, 0.001, {{"loss", -nan}, {"mae", nan}, {"val_loss", inf}, {"val_mae", -inf}},
                              true) ==
        "2/2 [==============================] - 0s 1ms/step - loss: nan - mae: nan - val_loss: inf - val_mae: -inf");
}

TEST_CASE("verbose 2 prints one short line per epoch, without a bar, even on a terminal") {
  std::ostringstream out;
  FakeClock clock;
  nn::ProgressBar bar({.verbose = 2, .output = &out, .terminal = true, .clock = clock.function()});
  for (int epoch = 0; epoch < 2; ++epoch) {
    bar.start_epoch(epoch, 30, 3);
    for (int step = 1; step <= 3; ++step) {
      clock.now += 0.5;
      bar.update(step, {{"loss", 1.0 / step}});
    }
    bar.finish({{"loss", 0.25}, {"val_loss", 0.5}});
  }
  // Steps 2 and 3 took 0.5 s each: 500ms/step; the epoch 1.5 s, shown as "2s" like Keras' %.0f.
  CHECK(out.str() ==
        "Epoch 1/30 - 2s - 500ms/step - loss: 0.2500 - val_loss: 0.5000\n"
        "Epoch 2/30 - 2s - 500ms/step - loss: 0.2500 - val_loss: 0.5000\n");
  SUBCASE("and evaluate's line starts with the step count, as Keras' does") {
    std::ostringstream evaluated;
    nn::ProgressBar quiet({.verbose = 2, .output = &evaluated, .clock = clock.function()});
    quiet.start(4);
    for (int step = 1; step <= 4; ++step) {
      clock.now += 0.25;
      quiet.update(step, {{"loss", 2}});
    }
    quiet.finish({{"loss", 2}});
    CHECK(evaluated.str() == "4/4 - 1s - 250ms/step - loss: 2.0000\n");
  }
}

TEST_CASE("a redrawn line fits the terminal: a narrower bar first, then none, then the line is cut") {
  const std::vector<std::pair<std::string, double>> figures = {
      {"loss", 0.5}, {"accuracy", 0.5}, {"val_loss", 0.5}, {"val_accuracy", 0.5}};
  const std::string full = nn::ProgressBar::line(860, 1719, 1, 0.002, figures, false);
  // " 860/1719 [" + 30 cells + "] - ETA: 1s" (52 characters) and four figures (76): wider than 80 columns.
  REQUIRE(full.size() == 128);
  SUBCASE("wide enough: unchanged") {
    CHECK(nn::ProgressBar::fitted_line(860, 1719, 1, 0.002, figures, false, 129) == full);
  }
  SUBCASE("20 characters too wide: a bar of 10 cells") {
    const std::string fitted = nn::ProgressBar::fitted_line(860, 1719, 1, 0.002, figures, false, 109);
    CHECK(fitted == nn::ProgressBar::line(860, 1719, 1, 0.002, figures, false, 10));
    CHECK(fitted.size() == 108);
    CHECK(fitted.substr(0, 22) == " 860/1719 [====>.....]");  // 860/1719 of 10 cells: 5
  }
  SUBCASE("80 columns: no bar, then cut at 79 characters") {
    const std::string fitted = nn::ProgressBar::fitted_line(860, 1719, 1, 0.002, figures, false, 80);
    CHECK(fitted.size() == 79);
    CHECK(fitted == nn::ProgressBar::line(860, 1719, 1, 0.002, figures, false, 0).substr(0, 79));
    CHECK(fitted.find('[') == std::string::npos);
  }
  SUBCASE("the final line keeps every figure: nothing redraws it") {
    const std::string fitted = nn::ProgressBar::fitted_line(1719, 1719, 1, 0.002, figures, true, 40);
    CHECK(fitted == nn::ProgressBar::line(1719, 1719, 1, 0.002, figures, true, 0));
  }
}

TEST_CASE("on a terminal every redraw fits the width, so no redraw wraps and leaves a stale line") {
  std::ostringstream out;
  FakeClock clock;
  nn::ProgressBar bar({.output = &out, .terminal = true, .columns = 60, .refresh_seconds = 0, .clock = clock.function()});
  const nn::Logs logs = {{"loss", 0.5}, {"accuracy", 0.5}, {"val_loss", 0.5}, {"val_accuracy", 0.5}};
  bar.start_epoch(0, 1, 50);
  for (int step = 1; step <= 50; ++step) {
    clock.now += 0.01;
    bar.update(step, logs);
  }
  bar.finish(logs);
  const std::string text = out.str();
  size_t redraws = 0;
  for (size_t start = text.find('\r'); start != std::string::npos;) {
    const size_t next = text.find_first_of("\r\n", start + 1);
    const std::string drawn = text.substr(start + 1, next - start - 1);
    const bool last = next != std::string::npos && text[next] == '\n';
    if (!last) {
      ++redraws;
      CHECK(drawn.size() <= 59);
    }
    start = next == std::string::npos ? next : text.find('\r', next);
  }
  CHECK(redraws == 49);
}

TEST_CASE("the width comes from the terminal, else $COLUMNS, else 80") {
  std::ostringstream out;
  const char* before = std::getenv("COLUMNS");
  const std::string kept = before ? before : "";
  ::setenv("COLUMNS", "132", 1);
  nn::ProgressBar wide({.output = &out, .terminal = true});
  wide.start(1);
  CHECK(wide.columns() == 132);
  ::setenv("COLUMNS", "wide", 1);  // not a number: ignored
  nn::ProgressBar fallback({.output = &out, .terminal = true});
  fallback.start(1);
  CHECK(fallback.columns() == 80);
  ::unsetenv("COLUMNS");
  nn::ProgressBar unset({.output = &out, .terminal = true});
  unset.start(1);
  CHECK(unset.columns() == 80);
  nn::ProgressBar given({.output = &out, .terminal = true, .columns = 40});
  given.start(1);
  CHECK(given.columns() == 40);
  if (before) ::setenv("COLUMNS", kept.c_str(), 1);
  CHECK_THROWS_WITH_AS(nn::ProgressBar({.columns = 0}), doctest::Contains("columns must be positive, got 0"), ad::Error);
}
