#include <doctest/doctest.h>

#include <sstream>

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
