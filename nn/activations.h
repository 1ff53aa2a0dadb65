/// @file
/// Activations by Keras name: "relu", "sigmoid" (also "logistic"), "tanh", "softplus", "softmax"
/// and "linear" (also "" and "none") for no activation. Layers store the name; this file turns
/// it into the op.
///
/// @code
/// // Given: const ad::Var& z
/// ad::Var h = nn::activation("relu", z);
/// nn::ActivationFn f = nn::activation_function("tanh");   // throws listing the known names
/// std::string k = nn::canonical_activation("logistic");   // "sigmoid"
/// @endcode
#pragma once
#include <string>
#include <vector>

#include "tapegrad/autodiff/ops.h"

namespace nn {

/// An activation: an element-wise op of nn's Keras names (ad::relu, ad::sigmoid, ...).
using ActivationFn = ad::Var (*)(const ad::Var&);

/// The op for a name; throws ad::Error listing the known names for an unknown one.
ActivationFn activation_function(const std::string& name);
/// The one spelling each activation is stored and saved under: "logistic" -> "sigmoid",
/// "" and "none" -> "linear".
std::string canonical_activation(const std::string& name);
/// activation_function(name)(x); throws ad::Error listing the known names for an unknown one.
ad::Var activation(const std::string& name, const ad::Var& x);
/// The names activation_function() accepts.
const std::vector<std::string>& known_activations();

/// The identity, for "linear".
ad::Var linear(const ad::Var& x);

}  // namespace nn
