// UTF-8 checks for the text that goes into saved files: JSON (a model's config, a safetensors
// header) holds only valid UTF-8, so a layer name or metadata value that is not must be refused
// by name where it enters, not surface as the JSON library's exception during a save.
//
//   nn::check_utf8(name, "Layer::set_name", "the name");   // throws ad::Error on "\xff"
//   nn::check_utf8(model.get_config(), "Sequential::save");
#pragma once
#include <nlohmann/json.hpp>

#include <string_view>

namespace nn {

// Throws ad::Error "<who>: <what> is not valid UTF-8 (byte <i> of "<text, escaped>")".
void check_utf8(std::string_view text, std::string_view who, std::string_view what);

// Every key and string value in `json`, each named in the message by its JSON pointer
// ("/layers/0/name").
void check_utf8(const nlohmann::json& json, std::string_view who);

}  // namespace nn
