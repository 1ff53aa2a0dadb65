// Helpers shared by the autodiff tests: seeded random tensors, closeness checks and the text
// of the error an expression throws.
//
//   ad::Tensor x = test::random({3, 4}, -1, 1, 7);
//   CHECK(test::error_of([&] { ad::matmul(a, b); }).find("inner dimensions") != std::string::npos);
#pragma once
#include <doctest/doctest.h>

#include <cmath>
#include <string>

#include "tapegrad/autodiff/ops.h"

namespace test {

inline ad::Tensor random(ad::Shape shape, float low, float high, uint64_t seed) {
  ad::Rng rng(seed);
  return ad::Tensor::uniform(std::move(shape), low, high, rng);
}

// The message of the ad::Error that f throws, or "<no error>" (any other exception fails the
// test): lets a test check every part of a message.
template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const ad::Error& e) {
    return e.what();
  }
  return "<no error>";
}

inline bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// Every element within atol + rtol * |expected|, and the same shape.
inline bool close(const ad::Tensor& actual, const ad::Tensor& expected, float atol = 1e-5f, float rtol = 1e-5f) {
  if (actual.shape() != expected.shape()) return false;
  for (int64_t i = 0; i < actual.size(); ++i) {
    float d = std::fabs(actual[i] - expected[i]);
    if (!(d <= atol + rtol * std::fabs(expected[i]))) return false;
  }
  return true;
}

inline bool all_finite(const ad::Tensor& t) {
  for (float v : t.values())
    if (!std::isfinite(v)) return false;
  return true;
}

}  // namespace test
