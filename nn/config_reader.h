/// @file
/// ConfigReader: reads the fields of a get_config() JSON object with errors that name the
/// object and the field, so that a hand-edited or corrupt saved model fails clearly.
///
/// @code
/// nn::ConfigReader read(config, "Dense");
/// int64_t units = read.integer("units");                  // required
/// std::string act = read.text("activation", "linear");    // optional, with a default
/// @endcode
#pragma once
#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

#include "tapegrad/autodiff/error.h"
#include "tapegrad/autodiff/tensor.h"

namespace nn {

class ConfigReader {
 public:
  ConfigReader(const nlohmann::json& config, std::string who);

  int64_t integer(const char* key) const;
  double number(const char* key) const;
  double number(const char* key, double fallback) const;
  bool boolean(const char* key, bool fallback) const;
  std::string text(const char* key) const;
  std::string text(const char* key, const std::string& fallback) const;
  /// A list of positive dimensions; {} when absent or null.
  ad::Shape shape(const char* key) const;
  std::vector<std::string> texts(const char* key) const;
  bool has(const char* key) const;

 private:
  const nlohmann::json& field(const char* key) const;
  const nlohmann::json& config_;
  std::string who_;
};

}  // namespace nn
