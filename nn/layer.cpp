#include "tapegrad/nn/layer.h"

#include "tapegrad/nn/utf8_text.h"

namespace nn {

Shape sample_shape(const Shape& batch_shape) {
  if (batch_shape.empty()) return {};
  return Shape(batch_shape.begin() + 1, batch_shape.end());
}

void Layer::set_name(std::string name) {
  check_utf8(name, fmt::format("{}.set_name", type()), "the layer name");
  name_ = std::move(name);
}

std::string Layer::describe() const { return fmt::format("{} '{}'", type(), name_); }

void Layer::declare_input_shape(std::optional<Shape> shape) {
  if (shape && shape->empty()) shape.reset();  // {} means "not given", as in Keras' default
  if (shape)
    for (int64_t d : *shape)
      TG_CHECK(d > 0, "{}: input_shape dimensions must be positive, got {}", describe(), ad::to_string(*shape));
  declared_input_shape_ = std::move(shape);
}

void Layer::build(const Shape& input_shape, ad::Rng& rng) {
  if (built_) {
    TG_CHECK(input_shape == input_shape_, "{}: built for inputs of shape {} per sample, got {}", describe(),
             ad::to_string(input_shape_), ad::to_string(input_shape));
    return;
  }
  if (declared_input_shape_)
    TG_CHECK(input_shape == *declared_input_shape_, "{}: declared input_shape {} but the input has shape {} per sample",
             describe(), ad::to_string(*declared_input_shape_), ad::to_string(input_shape));
  build_weights(input_shape, rng);
  input_shape_ = input_shape;
  built_ = true;
}

void Layer::redraw_weights(ad::Rng& rng) {
  TG_CHECK(built_, "{}: redraw_weights needs a built layer", describe());
  build_weights(input_shape_, rng);
}

void Layer::ensure_built(const Var& x) {
  TG_CHECK(x.value().rank() >= 1, "{}: needs a batch [samples, ...], got a scalar", describe());
  Shape per_sample = sample_shape(x.shape());
  if (built_) {
    TG_CHECK(per_sample == input_shape_, "{}: built for inputs of shape {} per sample, got a batch of shape {}",
             describe(), ad::to_string(input_shape_), ad::to_string(x.shape()));
    return;
  }
  ad::Rng rng(0);
  build(per_sample, rng);
}

Var Layer::operator()(const Var& x) { return call(x); }

int64_t Layer::parameter_count() {
  int64_t total = 0;
  for (const Var& w : weights()) total = ad::add_counts(total, w.size(), describe().c_str());
  return total;
}

int64_t Layer::parameter_count_for(const Shape& input_shape) const {
  const std::string who = fmt::format("{} parameter count for inputs {}", describe(), ad::to_string(input_shape));
  int64_t total = 0;
  for (const Shape& shape : weight_shapes_for(input_shape))
    total = ad::add_counts(total, ad::element_count(shape, who.c_str()), who.c_str());
  return total;
}

}  // namespace nn
