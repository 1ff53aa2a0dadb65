#include "tapegrad/nn/initializers.h"

#include <cmath>

namespace nn {

namespace {

struct Fans {
  double in, out;
};

Fans fans(const ad::Shape& shape) {
  if (shape.empty()) return {1, 1};
  if (shape.size() == 1) return {static_cast<double>(shape[0]), static_cast<double>(shape[0])};
  double receptive = 1;  // the spatial size of a convolution kernel; 1 for a dense kernel
  for (size_t i = 0; i + 2 < shape.size(); ++i) receptive *= static_cast<double>(shape[i]);
  return {static_cast<double>(shape[shape.size() - 2]) * receptive,
          static_cast<double>(shape.back()) * receptive};
}

// Keras draws its "normal" variance-scaling weights from a normal truncated at two standard
// deviations, whose spread it widens by 1/0.8796 so the variance stays scale/fan.
ad::Tensor truncated_normal(const ad::Shape& shape, double stddev, ad::Rng& rng) {
  ad::Tensor t = ad::Tensor::empty(shape);
  for (float& v : t.values()) {
    float x;
    do x = rng.normal(0.f, 1.f);
    while (std::fabs(x) > 2.f);
    v = static_cast<float>(stddev) * x;
  }
  return t;
}

}  // namespace

const std::vector<std::string>& known_initializers() {
  static const std::vector<std::string> names = {"glorot_uniform", "glorot_normal", "he_uniform", "he_normal",
                                                 "zeros", "ones", "random_normal", "random_uniform"};
  return names;
}

void check_initializer(const std::string& name, const char* who) {
  for (const std::string& known : known_initializers())
    if (name == known) return;
  ad::fail("{}: unknown initializer '{}'; known: {}", who, name, fmt::join(known_initializers(), ", "));
}

ad::Tensor initialize(const std::string& name, const ad::Shape& shape, ad::Rng& rng) {
  check_initializer(name, "initialize");
  Fans f = fans(shape);
  if (name == "zeros") return ad::Tensor::zeros(shape);
  if (name == "ones") return ad::Tensor::ones(shape);
  if (name == "random_normal") return ad::Tensor::normal(shape, 0.f, 0.05f, rng);
  if (name == "random_uniform") return ad::Tensor::uniform(shape, -0.05f, 0.05f, rng);
  if (name == "glorot_uniform") {
    auto limit = static_cast<float>(std::sqrt(6.0 / (f.in + f.out)));
    return ad::Tensor::uniform(shape, -limit, limit, rng);
  }
  if (name == "he_uniform") {
    auto limit = static_cast<float>(std::sqrt(6.0 / f.in));
    return ad::Tensor::uniform(shape, -limit, limit, rng);
  }
  constexpr double kTruncationCorrection = 0.87962566103423978;
  if (name == "glorot_normal") return truncated_normal(shape, std::sqrt(2.0 / (f.in + f.out)) / kTruncationCorrection, rng);
  return truncated_normal(shape, std::sqrt(2.0 / f.in) / kTruncationCorrection, rng);  // he_normal
}

}  // namespace nn
