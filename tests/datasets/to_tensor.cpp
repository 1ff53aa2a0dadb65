#include "tapegrad/datasets/to_tensor.h"

#include <doctest/doctest.h>

#include "tapegrad/autodiff/error.h"

TEST_CASE("images_to_tensor keeps the shape and maps 0..255 onto 0..1") {
  datasets::IdxArray images{.shape = {2, 1, 3}, .data = {0, 51, 255, 102, 1, 254}};
  ad::Tensor x = datasets::images_to_tensor(images);
  CHECK(x.shape() == ad::Shape{2, 1, 3});
  // 51 / 255 = 0.2 and 102 / 255 = 0.4 exactly in decimal; floats within one rounding.
  const float expected[] = {0.f, 0.2f, 1.f, 0.4f, 1.f / 255.f, 254.f / 255.f};
  for (int64_t i = 0; i < 6; ++i) CHECK(x[i] == doctest::Approx(expected[i]).epsilon(1e-7));
  CHECK(x[2] == 1.f);
  CHECK(x[0] == 0.f);
}

TEST_CASE("labels_to_tensor gives float class indices of shape [n]") {
  datasets::IdxArray labels{.shape = {4}, .data = {9, 0, 3, 255}};
  ad::Tensor y = datasets::labels_to_tensor(labels);
  CHECK(y.shape() == ad::Shape{4});
  CHECK(y.to_vector() == std::vector<float>{9.f, 0.f, 3.f, 255.f});
}

TEST_CASE("conversions refuse arrays whose shape and data disagree") {
  CHECK_THROWS_WITH_AS(datasets::images_to_tensor({.shape = {2, 2, 2}, .data = {1, 2, 3}}),
                       "images_to_tensor: shape [2,2,2] needs 8 bytes, the array holds 3", ad::Error);
  CHECK_THROWS_WITH_AS(datasets::labels_to_tensor({.shape = {2, 1}, .data = {1, 2}}),
                       "labels_to_tensor: labels must have rank 1, got shape [2,1]", ad::Error);
}
