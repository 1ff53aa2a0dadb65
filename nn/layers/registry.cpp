// layer_from_config: the one table from a config's "type" to the layer class that reads it.
#include <functional>
#include <map>

#include "tapegrad/nn/config_reader.h"
#include "tapegrad/nn/layers/activation.h"
#include "tapegrad/nn/layers/dense.h"
#include "tapegrad/nn/layers/flatten.h"
#include "tapegrad/nn/layers/input_layer.h"

namespace nn {

LayerPtr layer_from_config(const Json& config) {
  static const std::map<std::string, std::function<LayerPtr(const Json&)>> kTypes = {
      {"Dense", [](const Json& c) { return Dense::from_config(c); }},
      {"Flatten", [](const Json& c) { return Flatten::from_config(c); }},
      {"InputLayer", [](const Json& c) { return InputLayer::from_config(c); }},
      {"Activation", [](const Json& c) { return Activation::from_config(c); }},
  };
  std::string type = ConfigReader(config, "layer").text("type");
  auto it = kTypes.find(type);
  if (it == kTypes.end()) {
    std::vector<std::string> known;
    for (const auto& [name, make] : kTypes) known.push_back(name);
    ad::fail("layer_from_config: unknown layer type '{}'; known: {}", type, fmt::join(known, ", "));
  }
  return it->second(config);
}

}  // namespace nn
