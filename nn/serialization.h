/// @file
/// Saved models: one safetensors file (nn/safetensors.h) per model, readable by other tools.
/// @verbatim
/// tensors:  "<layer>/<weight>"                 every weight, in model order ("dense/kernel")
///           "optimizer/<layer>/<weight>/<slot>" the optimizer's state ("optimizer/dense/kernel/m")
/// metadata: "format" = "tapegrad.sequential", "format_version" = "1",
///           "config" = Model::get_config() as JSON (architecture and compile settings),
///           "optimizer_iterations" = the optimizer's step count.
/// @endverbatim
/// Model::save(path) and nn::load_model(path) (declared in nn/model.h and nn/sequential.h) write and read
/// it; the functions here handle the weights alone, as Keras' save_weights/load_weights do.
///
/// @code
/// // Given: const nn::Sequential& model, nn::Sequential& other
/// model.save("iris.model");
/// nn::Sequential again = nn::load_model("iris.model");   // predicts exactly as model did
/// nn::save_weights(model, "iris.weights");
/// nn::load_weights(other, "iris.weights");                // same architecture, built
/// @endcode
#pragma once
#include <string>

#include "tapegrad/nn/sequential.h"

namespace nn {

/// The weights under "<layer>/<weight>" names; the model must be built.
void save_weights(const Model& model, const std::string& path);
/// Checks every name and shape against the model before it changes any weight.
void load_weights(Model& model, const std::string& path);

}  // namespace nn
