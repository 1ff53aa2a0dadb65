#include "tapegrad/nn/layers/activation.h"

#include "tapegrad/nn/activations.h"
#include "tapegrad/nn/config_reader.h"

namespace nn {

Activation::Activation(const std::string& name) : activation_(canonical_activation(name)) {}

Var Activation::call_pre_activation(const Var& x) {
  ensure_built(x);
  return x;
}

Var Activation::call(const Var& x) { return activation(activation_, call_pre_activation(x)); }

Json Activation::get_config() const { return {{"type", type()}, {"name", name()}, {"activation", activation_}}; }

std::shared_ptr<Activation> Activation::from_config(const Json& config) {
  ConfigReader read(config, "Activation");
  auto layer = std::make_shared<Activation>(read.text("activation"));
  layer->set_name(read.text("name", ""));
  return layer;
}

}  // namespace nn
