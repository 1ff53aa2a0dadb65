#include <doctest/doctest.h>

#include "tapegrad/nn/optimizers/rmsprop.h"
#include "two_steps.h"

TEST_CASE("RMSprop's first two updates follow Keras' rule with and without momentum") {
  // lr 0.1, rho 0.9, w = 1, g = 0.5 then -0.2: velocity 0.025 then 0.0265;
  // steps 0.1 g / sqrt(velocity + 1e-7) = 0.3162272 then -0.1228588.
  SUBCASE("plain") {
    nn::RMSprop rms(0.1);
    auto w = two_steps(rms);
    CHECK(w[0] == doctest::Approx(0.6837729).epsilon(1e-6));
    CHECK(w[1] == doctest::Approx(0.8066317).epsilon(1e-6));
    CHECK(rms.slot(0, "velocity")[0] == doctest::Approx(0.0265).epsilon(1e-6));
    CHECK(rms.slot_names(0) == std::vector<std::string>{"velocity"});
  }
  SUBCASE("momentum 0.5 accumulates the steps") {
    nn::RMSprop rms(0.1, {.momentum = 0.5});
    auto w = two_steps(rms);
    CHECK(w[0] == doctest::Approx(0.6837729).epsilon(1e-6));
    // momentum slot: 0.3162272, then 0.5 * 0.3162272 - 0.1228588 = 0.0352548
    CHECK(w[1] == doctest::Approx(0.6485181).epsilon(1e-6));
  }
}

TEST_CASE("RMSprop rejects rho outside [0, 1)") {
  CHECK_THROWS_WITH_AS(nn::RMSprop(0.001, {.rho = 1.2}), doctest::Contains("rho must be in [0, 1), got 1.2"), ad::Error);
}
