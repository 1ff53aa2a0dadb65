#include "tapegrad/nn/utf8_text.h"

#include <utf8/cpp17.h>

#include <string>

#include "tapegrad/autodiff/error.h"

namespace nn {

namespace {

// The text with every byte outside printable ASCII as \xNN, so the message itself is valid UTF-8.
std::string escaped(std::string_view text) {
  std::string out;
  for (char c : text) {
    auto byte = static_cast<unsigned char>(c);
    out += byte >= 0x20 && byte < 0x7f ? std::string(1, c) : fmt::format("\\x{:02x}", byte);
  }
  return out;
}

void check_utf8_at(const nlohmann::json& json, std::string_view who, const nlohmann::json::json_pointer& at) {
  if (json.is_string()) {
    check_utf8(json.get_ref<const std::string&>(), who, fmt::format("the string at {}", at.to_string()));
  } else if (json.is_object()) {
    for (const auto& [key, value] : json.items()) {
      check_utf8(key, who, fmt::format("a key in {}", at.empty() ? "/" : at.to_string()));
      check_utf8_at(value, who, at / key);
    }
  } else if (json.is_array()) {
    for (size_t i = 0; i < json.size(); ++i) check_utf8_at(json[i], who, at / i);
  }
}

}  // namespace

void check_utf8(std::string_view text, std::string_view who, std::string_view what) {
  const size_t invalid = utf8::find_invalid(text);
  TG_CHECK(invalid == std::string_view::npos, "{}: {} is not valid UTF-8 (byte {} of \"{}\")", who, what, invalid,
           escaped(text));
}

void check_utf8(const nlohmann::json& json, std::string_view who) { check_utf8_at(json, who, nlohmann::json::json_pointer()); }

}  // namespace nn
