#include "tapegrad/nn/layers/input_layer.h"

#include "tapegrad/nn/config_reader.h"

namespace nn {

InputLayer::InputLayer(Shape input_shape) {
  TG_CHECK(!input_shape.empty(), "InputLayer: input_shape must have at least one dimension");
  declare_input_shape(std::move(input_shape));
}

Var InputLayer::call(const Var& x) {
  ensure_built(x);
  return x;
}

Json InputLayer::get_config() const {
  return {{"type", type()}, {"name", name()}, {"input_shape", *declared_input_shape()}};
}

std::shared_ptr<InputLayer> InputLayer::from_config(const Json& config) {
  ConfigReader read(config, "InputLayer");
  TG_CHECK(read.has("input_shape"), "InputLayer config: missing field 'input_shape' in {}", config.dump());
  auto layer = std::make_shared<InputLayer>(read.shape("input_shape"));
  layer->set_name(read.text("name", ""));
  return layer;
}

}  // namespace nn
