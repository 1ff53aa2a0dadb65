/// @file
/// ConfigReader: reads the fields of a get_config() JSON object with errors that name the
/// object and the field, so that a hand-edited or corrupt saved model fails clearly.
///
/// @code
/// // Given: const nlohmann::json& config
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

/// The deepest nesting of arrays and objects that parse_json() accepts. A saved config nests
/// about 4 levels; the cap keeps recursive walks of a hostile file (dumping it into an error
/// message, say) from exhausting the stack.
inline constexpr int kMaxJsonDepth = 64;

/// Parses JSON read from a file. Throws ad::Error "<where> is not valid JSON: ..." or "<where>
/// nests arrays and objects deeper than 64 levels", where `where` names the function, the file
/// and the part ("load_model: 'm.model': the saved config").
nlohmann::json parse_json(const std::string& text, const std::string& where);

/// Typed reads of a JSON config (a layer's, a loss's, an optimizer's) whose errors name the
/// reader (`who`), the key and what was found instead.
class ConfigReader {
 public:
  /// Reads `config`, which must outlive the reader; `who` starts every error message.
  ConfigReader(const nlohmann::json& config, std::string who);

  /// The integer at `key`; throws ad::Error when absent or not an integer.
  int64_t integer(const char* key) const;
  /// The number at `key`; throws ad::Error when absent or not a number.
  double number(const char* key) const;
  /// The number at `key`, or `fallback` when absent; throws ad::Error when not a number.
  double number(const char* key, double fallback) const;
  /// The boolean at `key`, or `fallback` when absent; throws ad::Error when not a boolean.
  bool boolean(const char* key, bool fallback) const;
  /// The string at `key`; throws ad::Error when absent or not a string.
  std::string text(const char* key) const;
  /// The string at `key`, or `fallback` when absent; throws ad::Error when not a string.
  std::string text(const char* key, const std::string& fallback) const;
  /// A list of positive dimensions; {} when absent or null.
  ad::Shape shape(const char* key) const;
  /// The list of strings at `key` ({} when absent); throws ad::Error for another type.
  std::vector<std::string> texts(const char* key) const;
  /// Whether `key` is present.
  bool has(const char* key) const;

 private:
  const nlohmann::json& field(const char* key) const;
  const nlohmann::json& config_;
  std::string who_;
};

}  // namespace nn
