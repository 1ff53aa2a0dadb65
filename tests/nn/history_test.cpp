#include <doctest/doctest.h>

#include "tapegrad/nn/sequential.h"

TEST_CASE("History keeps each figure per epoch and names the recorded keys for an unknown one") {
  nn::History h;
  h.append(0, {{"loss", 1.0}, {"val_loss", 1.5}});
  h.append(1, {{"loss", 0.5}, {"val_loss", 1.2}});
  CHECK(h["loss"] == std::vector<double>{1.0, 0.5});
  CHECK(h["val_loss"] == std::vector<double>{1.5, 1.2});
  CHECK(h.epochs == std::vector<int>{0, 1});
  CHECK_THROWS_WITH_AS(h["accuracy"], doctest::Contains("no figure 'accuracy'; recorded: loss, val_loss"), ad::Error);
}
