#include "tapegrad/nn/layers/flatten.h"

#include "tapegrad/nn/config_reader.h"

namespace nn {

Flatten::Flatten(Shape input_shape) { declare_input_shape(std::move(input_shape)); }

Shape Flatten::output_shape(const Shape& input_shape) const { return {ad::element_count(input_shape, "Flatten")}; }

Var Flatten::call(const Var& x) {
  ensure_built(x);
  return ad::flatten(x);
}

Json Flatten::get_config() const {
  Json config = {{"type", type()}, {"name", name()}};
  if (declared_input_shape()) config["input_shape"] = *declared_input_shape();
  return config;
}

std::shared_ptr<Flatten> Flatten::from_config(const Json& config) {
  ConfigReader read(config, "Flatten");
  auto layer = std::make_shared<Flatten>(read.shape("input_shape"));
  layer->set_name(read.text("name", ""));
  return layer;
}

}  // namespace nn
