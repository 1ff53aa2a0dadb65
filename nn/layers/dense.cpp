#include "tapegrad/nn/layers/dense.h"

#include "tapegrad/nn/activations.h"
#include "tapegrad/nn/initializers.h"
#include "tapegrad/nn/config_reader.h"

namespace nn {

Dense::Dense(int64_t units, DenseOptions options) : units_(units), options_(std::move(options)) {
  TG_CHECK(units > 0, "Dense: units must be positive, got {}", units);
  options_.activation = canonical_activation(options_.activation);
  check_initializer(options_.kernel_initializer, "Dense kernel_initializer");
  check_initializer(options_.bias_initializer, "Dense bias_initializer");
  declare_input_shape(options_.input_shape);
}

Shape Dense::output_shape(const Shape& input_shape) const {
  TG_CHECK(input_shape.size() == 1, "{}: needs inputs of shape [features] per sample (add a Flatten first), got {}",
           describe(), ad::to_string(input_shape));
  return {units_};
}

void Dense::build_weights(const Shape& input_shape, ad::Rng& rng) {
  const std::vector<Shape> shapes = weight_shapes_for(input_shape);
  kernel_ = ad::param(initialize(options_.kernel_initializer, shapes[0], rng));
  if (options_.use_bias) bias_ = ad::param(initialize(options_.bias_initializer, shapes[1], rng));
}

Var Dense::call_pre_activation(const Var& x) {
  ensure_built(x);
  Var z = ad::matmul(x, kernel_);
  return options_.use_bias ? z + bias_ : z;
}

Var Dense::call(const Var& x) { return activation(options_.activation, call_pre_activation(x)); }

std::vector<Var> Dense::weights() {
  if (!built()) return {};
  if (options_.use_bias) return {kernel_, bias_};
  return {kernel_};
}

std::vector<std::string> Dense::weight_names() const {
  if (options_.use_bias) return {"kernel", "bias"};
  return {"kernel"};
}

std::vector<Shape> Dense::weight_shapes_for(const Shape& input_shape) const {
  output_shape(input_shape);  // checks the rank
  if (options_.use_bias) return {{input_shape[0], units_}, {units_}};
  return {{input_shape[0], units_}};
}

Json Dense::get_config() const {
  Json config = {{"type", type()},
                 {"name", name()},
                 {"units", units_},
                 {"activation", options_.activation},
                 {"use_bias", options_.use_bias},
                 {"kernel_initializer", options_.kernel_initializer},
                 {"bias_initializer", options_.bias_initializer}};
  if (declared_input_shape()) config["input_shape"] = *declared_input_shape();
  return config;
}

std::shared_ptr<Dense> Dense::from_config(const Json& config) {
  ConfigReader read(config, "Dense");
  auto layer = std::make_shared<Dense>(read.integer("units"),
                                       DenseOptions{.activation = read.text("activation", "linear"),
                                                    .use_bias = read.boolean("use_bias", true),
                                                    .kernel_initializer = read.text("kernel_initializer", "glorot_uniform"),
                                                    .bias_initializer = read.text("bias_initializer", "zeros"),
                                                    .input_shape = read.shape("input_shape")});
  layer->set_name(read.text("name", ""));
  return layer;
}

}  // namespace nn
