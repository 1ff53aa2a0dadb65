/// @file
/// Weight initializers by Keras name, each drawing from an explicit ad::Rng so that a seed fixes
/// the initial weights. fan_in and fan_out are the kernel's input and output sizes.
///
/// @code
/// ad::Rng rng(42);
/// ad::Tensor W = nn::initialize("glorot_uniform", {784, 300}, rng);  // U(-l, l), l = sqrt(6/(784+300))
/// ad::Tensor b = nn::initialize("zeros", {300}, rng);
/// @endcode
#pragma once
#include <string>
#include <vector>

#include "tapegrad/autodiff/tensor.h"

namespace nn {

/// "glorot_uniform", "glorot_normal", "he_uniform", "he_normal", "zeros", "ones",
/// "random_normal" (stddev 0.05) and "random_uniform" (±0.05), as Keras defines them.
/// Fans come from the shape: [in, out] for a kernel, [n] for a bias (fan_in = fan_out = n).
ad::Tensor initialize(const std::string& name, const ad::Shape& shape, ad::Rng& rng);
/// Throws listing the known names when `name` is not one.
void check_initializer(const std::string& name, const char* who);
/// The names initialize() accepts.
const std::vector<std::string>& known_initializers();

}  // namespace nn
