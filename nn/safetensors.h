/// @file
/// Named float32 tensors in the safetensors layout, so that other tools (Python's safetensors,
/// numpy with a few lines) read the weights of a saved model:
/// @verbatim
/// 8 bytes: N, the header length, little-endian
/// N bytes: a JSON object {"name": {"dtype": "F32", "shape": [..], "data_offsets": [b, e]}, ...,
///          "__metadata__": {"key": "value"}}, padded with spaces to a multiple of 8
/// the raw little-endian data, tensors packed in order; offsets count from the header's end.
/// @endverbatim
///
/// @code
/// // Given: const ad::Tensor& W, const ad::Tensor& b
/// nn::save_safetensors("w.safetensors", {{"dense/kernel", W}, {"dense/bias", b}},
///                      {{"format", "example"}});
/// nn::SafetensorsFile file = nn::load_safetensors("w.safetensors");
/// ad::Tensor W2 = file.tensor("dense/kernel");
/// @endcode
///
/// Saving writes F32. Loading also reads the other float dtypes that Python tools write (F64,
/// F16, BF16), converted to float32; it validates the whole file before returning anything, and
/// saving replaces the target atomically (nn/atomic_file.h).
#pragma once
#include <cstddef>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tapegrad/autodiff/tensor.h"

namespace nn {

/// A tensor with the name it has in a file.
struct NamedTensor {
  std::string name;  ///< unique in the file, not empty
  ad::Tensor tensor;  ///< float32 data of any shape
};

/// A safetensors file's contents, read by load_safetensors().
struct SafetensorsFile {
  std::vector<NamedTensor> tensors;  ///< in the order of their data in the file
  std::map<std::string, std::string> metadata;  ///< the header's "__metadata__" strings

  /// Whether a tensor of that name is in the file.
  bool contains(const std::string& name) const;
  /// Throws naming the file's known tensors when `name` is not one of them.
  const ad::Tensor& tensor(const std::string& name) const&;
  /// On a temporary file (load_safetensors(path).tensor(name)), a handle that keeps the data.
  ad::Tensor tensor(const std::string& name) const&& { return tensor(name); }
};

/// Bounds load_safetensors() checks before allocating.
struct SafetensorsLimits {
  /// A header larger than this is refused before it is read: a corrupt length field must not
  /// make the loader allocate gigabytes. Python's safetensors uses the same cap.
  uint64_t max_header_bytes = 100'000'000;
};

/// Writes the tensors (unique, non-empty names; "__metadata__" is reserved) and the metadata.
/// Error messages start with `who`: the function the user called (save_weights, Model::save).
void save_safetensors(const std::string& path, const std::vector<NamedTensor>& tensors,
                      const std::map<std::string, std::string>& metadata = {},
                      const char* who = "save_safetensors");

/// Reads and checks a file; every problem throws ad::Error naming the file and what is wrong.
SafetensorsFile load_safetensors(const std::string& path, SafetensorsLimits limits = {});

}  // namespace nn
