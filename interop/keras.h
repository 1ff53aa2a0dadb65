/// @file
/// Keras 3 .keras archives: a Sequential model saved for Keras to load and predict with, and a
/// Sequential saved by Keras read back into tapegrad.
///
/// @code
/// // Given: const nn::Sequential& model, const ad::Tensor& x
/// interop::save_keras(model, "model.keras");      // in Python: keras.models.load_model(...)
/// nn::Sequential again = interop::load_keras("trained_in_keras.keras");
/// ad::Tensor proba = again.predict(x);
/// @endcode
///
/// The archive is a zip of config.json (the model's Keras config, interop/keras_config.h),
/// metadata.json (keras_version, date_saved) and model.weights.h5, where the variables of the
/// i-th layer of a class sit at `layers/CLASS[_i]/vars/0` (CLASS in snake_case) (kernel), /1 (bias), as
/// Keras' saving_lib writes them (keras/src/saving/saving_lib.py). Layers: InputLayer, Dense,
/// Flatten, Activation; on import also Dropout, as an identity nn::Activation("linear") under
/// its own name (Dropout does nothing at inference). Activations: interop::keras_activations().
/// Optimizer state and compile settings are neither written nor read.
#pragma once
#include <cstdint>
#include <string>

#include "tapegrad/nn/sequential.h"

namespace interop {

/// Size caps for load_keras: a file above them is refused before it is read (no allocation
/// larger than the file justifies).
struct KerasLimits {
  uint64_t max_json_bytes = uint64_t{64} << 20;      ///< config.json and metadata.json each
  uint64_t max_weights_bytes = uint64_t{4} << 30;    ///< model.weights.h5
};

/// Writes the built `model` as a .keras archive, atomically (nn/atomic_file.h). Throws naming
/// the layer for a layer type or activation Keras would not compute the same way, and when the
/// model is not built.
void save_keras(const nn::Sequential& model, const std::string& path);

/// Reads a Sequential from a .keras archive, built, with the archive's weights. Throws naming the
/// file, entry, layer and field for: a missing file or entry, a file that is not a zip, an
/// entry above its limit, config.json that is not a Sequential of the layers above, an unknown
/// activation, a weight dataset missing, extra, of another shape than the config implies, not
/// float32/float64, or storing less data than its shape. No tensor is allocated before the
/// weights file has shown it holds that much. The layers' dtype policies are not read: the model
/// computes in float32 whatever the archive says (float64 weights are rounded to float32; a
/// mixed_float16 model's predictions then differ from Keras' by about 1e-3, Keras' float16
/// rounding).
nn::Sequential load_keras(const std::string& path, const KerasLimits& limits = {});

}  // namespace interop
