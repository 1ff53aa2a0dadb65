#include <doctest/doctest.h>

#include <cmath>

#include "tapegrad/nn/initializers.h"

namespace {
struct Stats {
  double min, max, mean, variance;
};
Stats stats(const ad::Tensor& t) {
  Stats s{1e9, -1e9, 0, 0};
  for (float v : t.values()) {
    s.min = std::min<double>(s.min, v);
    s.max = std::max<double>(s.max, v);
    s.mean += v;
  }
  s.mean /= static_cast<double>(t.size());
  for (float v : t.values()) s.variance += (v - s.mean) * (v - s.mean);
  s.variance /= static_cast<double>(t.size());
  return s;
}
}  // namespace

TEST_CASE("uniform initializers stay within Keras' limits and fill them") {
  ad::Rng rng(5);
  struct Case {
    std::string name;
    double limit;  // for a [200, 100] kernel
  };
  const Case cases[] = {{"glorot_uniform", std::sqrt(6.0 / 300)}, {"he_uniform", std::sqrt(6.0 / 200)},
                        {"random_uniform", 0.05}};
  for (const Case& c : cases) {
    CAPTURE(c.name);
    Stats s = stats(nn::initialize(c.name, {200, 100}, rng));
    CHECK(s.min >= -c.limit);
    CHECK(s.max <= c.limit);
    CHECK(s.max > 0.95 * c.limit);  // 20000 draws reach the edge
    CHECK(s.variance == doctest::Approx(c.limit * c.limit / 3).epsilon(0.05));
  }
}

TEST_CASE("normal initializers have Keras' variance: 2/(fan_in+fan_out), 2/fan_in and 0.05^2") {
  ad::Rng rng(6);
  const std::pair<const char*, double> cases[] = {
      {"glorot_normal", 2.0 / 300}, {"he_normal", 2.0 / 200}, {"random_normal", 0.0025}};
  for (auto [name, variance] : cases) {
    std::string shown = name;
    CAPTURE(shown);
    Stats s = stats(nn::initialize(name, {200, 100}, rng));
    CHECK(s.variance == doctest::Approx(variance).epsilon(0.05));
    CHECK(std::fabs(s.mean) < 0.01);
  }
}

TEST_CASE("constant initializers and determinism from the seed") {
  ad::Rng rng(1);
  // Named first: values() of the temporary would view storage freed before the loop runs.
  const ad::Tensor zeros = nn::initialize("zeros", {3}, rng), ones = nn::initialize("ones", {3}, rng);
  CHECK(zeros.to_vector() == std::vector<float>(3, 0.f));
  CHECK(ones.to_vector() == std::vector<float>(3, 1.f));
  ad::Rng a(9), b(9);
  CHECK(nn::initialize("glorot_uniform", {4, 5}, a).to_vector() == nn::initialize("glorot_uniform", {4, 5}, b).to_vector());
  CHECK_THROWS_WITH_AS(nn::initialize("orthogonal", {2, 2}, rng),
                       doctest::Contains("unknown initializer 'orthogonal'; known: glorot_uniform"), ad::Error);
}
