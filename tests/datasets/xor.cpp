#include "tapegrad/datasets/xor.h"

#include <doctest/doctest.h>

TEST_CASE("xor targets are 1 exactly when the two inputs differ") {
  datasets::Xor data = datasets::load_xor();
  REQUIRE(data.inputs.shape() == ad::Shape{4, 2});
  REQUIRE(data.targets.shape() == ad::Shape{4, 1});
  int ones = 0;
  for (int64_t row = 0; row < 4; ++row) {
    float a = data.inputs.at({row, 0}), b = data.inputs.at({row, 1});
    CHECK((a == 0.f || a == 1.f));
    CHECK((b == 0.f || b == 1.f));
    CHECK(data.targets.at({row, 0}) == (a != b ? 1.f : 0.f));
    ones += static_cast<int>(data.targets.at({row, 0}));
  }
  CHECK(ones == 2);
  CHECK(data.inputs.to_vector() == std::vector<float>{0, 0, 0, 1, 1, 0, 1, 1});
}
