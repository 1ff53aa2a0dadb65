#include "tapegrad/nn/sequential.h"

#include <fmt/format.h>

#include <cctype>

#include "tapegrad/nn/config_reader.h"
#include "tapegrad/nn/utf8_text.h"

namespace nn {

namespace {

// "InputLayer" -> "input_layer": Keras' default layer names.
std::string snake_case(const std::string& type) {
  std::string out;
  for (size_t i = 0; i < type.size(); ++i) {
    auto c = static_cast<unsigned char>(type[i]);
    if (std::isupper(c) && i > 0) out += '_';
    out += static_cast<char>(std::tolower(c));
  }
  return out;
}

std::string with_thousands(int64_t n) {
  std::string digits = std::to_string(n), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::string keras_shape(const Shape& per_sample) {
  std::string out = "(None";
  for (int64_t d : per_sample) out += fmt::format(", {}", d);
  return out + ")";
}

}  // namespace

Sequential::Sequential(std::vector<LayerRef> layers, std::string name) : Model(std::move(name)) {
  check_utf8(this->name(), "Sequential", "the model name");
  for (LayerRef& layer : layers) add(std::move(layer));
}

void Sequential::add(LayerRef layer) {
  LayerPtr l = layer.get();
  TG_CHECK(l != nullptr, "Sequential.add: the layer is null");
  std::vector<LayerPtr> all = layers_;
  if (input_layer_) all.insert(all.begin(), input_layer_);
  for (const LayerPtr& existing : all)
    TG_CHECK(existing != l, "Sequential.add: layer '{}' is already in model '{}'", l->name(), name());
  const bool is_input = l->type() == "InputLayer";
  if (is_input) {
    TG_CHECK(!input_layer_, "Sequential.add: model '{}' already starts with InputLayer '{}' (inputs {}); a model "
             "has one input", name(), input_layer_->name(), ad::to_string(*input_layer_->declared_input_shape()));
    TG_CHECK(layers_.empty(), "Sequential.add: an InputLayer must be the model's first layer; model '{}' already "
             "has {} layers", name(), layers_.size());
  }
  auto taken = [&](const std::string& candidate) {
    for (const LayerPtr& existing : all)
      if (existing->name() == candidate) return true;
    return false;
  };
  if (l->name().empty()) {
    std::string base = snake_case(l->type()), candidate = base;
    for (int k = 1; taken(candidate); ++k) candidate = fmt::format("{}_{}", base, k);
    l->set_name(candidate);
  } else {
    TG_CHECK(!taken(l->name()), "Sequential.add: layer name '{}' is already used in model '{}'", l->name(), name());
  }
  // A layer that comes with weights of its own keeps them: the model did not draw them.
  if (l->built() && !l->weights().empty()) mark_weights_reached();
  if (is_input)
    input_layer_ = std::move(l);
  else
    layers_.push_back(std::move(l));
  try {
    build_if_known();
  } catch (...) {
    // A layer that does not fit the known input shape is not kept: the model stays usable.
    if (is_input)
      input_layer_.reset();
    else
      layers_.pop_back();
    throw;
  }
}

Layer& Sequential::layer(size_t index) & { return *layer_pointer(index); }
Layer& Sequential::layer(const std::string& name) & { return *layer_pointer(name); }
LayerPtr Sequential::layer(size_t index) && { return layer_pointer(index); }
LayerPtr Sequential::layer(const std::string& name) && { return layer_pointer(name); }

const LayerPtr& Sequential::layer_pointer(size_t index) {
  TG_CHECK(index < layers_.size(), "Sequential.layer: index {} out of range, the model has {} layers{}", index,
           layers_.size(), input_layer_ ? " after its InputLayer" : "");
  mark_weights_reached();
  return layers_[index];
}

const LayerPtr& Sequential::layer_pointer(const std::string& name) {
  std::vector<std::string> names;
  if (input_layer_) {
    if (input_layer_->name() == name) return input_layer_;
    names.push_back(input_layer_->name());
  }
  for (const LayerPtr& l : layers_) {
    if (l->name() == name) {
      mark_weights_reached();
      return l;
    }
    names.push_back(l->name());
  }
  ad::fail("Sequential.layer: no layer named '{}'; layers: {}", name, fmt::join(names, ", "));
}

std::optional<Shape> Sequential::known_input_shape() const {
  if (input_layer_) return input_layer_->declared_input_shape();
  if (!layers_.empty()) return layers_.front()->declared_input_shape();
  return std::nullopt;
}

void Sequential::build_layers(const Shape& input_shape, ad::Rng& rng, bool redraw) {
  Shape shape = input_shape;
  if (input_layer_) input_layer_->build(shape, rng);  // checks the shape against the declared one
  for (const LayerPtr& l : layers_) shape = build_layer(*l, shape, rng, redraw);
}

Shape Sequential::input_shape() const {
  check_built("Sequential.input_shape");
  return layers_.front()->input_shape();
}

Shape Sequential::output_shape() const {
  check_built("Sequential.output_shape");
  return layers_.back()->output_shape(layers_.back()->input_shape());
}

std::string Sequential::summary() const {
  check_built("Sequential.summary");
  Shape shape = input_shape();
  // Keras' layout: 65 columns, fields ending at 29, 55 and 65, a blank line after each row.
  constexpr size_t kEnds[] = {29, 55, 65};
  auto row = [&](const std::string& a, const std::string& b, const std::string& c) {
    std::string line;
    const std::string* fields[] = {&a, &b, &c};
    for (size_t i = 0; i < 3; ++i) {
      size_t start = line.size();
      std::string field = (i == 0 ? " " : "") + *fields[i];
      size_t room = kEnds[i] - start - (i < 2 ? 2 : 0);  // two spaces keep long fields apart
      line += field.substr(0, room);
      line += std::string(kEnds[i] - line.size(), ' ');
    }
    return line + "\n";
  };
  std::string out = fmt::format("Model: \"{}\"\n", name());
  out += std::string(65, '_') + "\n";
  out += row("Layer (type)", "Output Shape", "Param #");
  out += std::string(65, '=') + "\n";
  int64_t total = 0;
  for (const LayerPtr& l : layers_) {
    int64_t params = l->parameter_count_for(shape);
    shape = l->output_shape(shape);
    total = ad::add_counts(total, params, "summary: total parameter count");
    out += row(fmt::format("{} ({})", l->name(), l->type()), keras_shape(shape), std::to_string(params));
    out += std::string(65, ' ') + "\n";
  }
  out += std::string(65, '=') + "\n";
  out += fmt::format("Total params: {}\nTrainable params: {}\nNon-trainable params: 0\n", with_thousands(total),
                     with_thousands(total));
  out += std::string(65, '_') + "\n";
  return out;
}

std::string Sequential::output_activation() const {
  return layers_.empty() ? "linear" : layers_.back()->output_activation();
}

Var Sequential::run(const Var& x, bool logits) {
  Var h = input_layer_ ? input_layer_->call(x) : x;  // the InputLayer names a shape mismatch
  for (size_t i = 0; i + 1 < layers_.size(); ++i) h = layers_[i]->call(h);
  return logits ? layers_.back()->call_pre_activation(h) : layers_.back()->call(h);
}

// Sequential's layers behave the same in training and inference (no dropout yet).
Var Sequential::call(const Var& x, bool /*training*/) { return run(x, false); }

Var Sequential::call_logits(const Var& x, bool /*training*/) { return run(x, true); }

Json Sequential::get_config() const {
  Json layers = Json::array();
  if (input_layer_) layers.push_back(input_layer_->get_config());  // Keras keeps it in the config
  for (const LayerPtr& l : layers_) layers.push_back(l->get_config());
  Json config = {{"name", name()}, {"layers", layers}};
  if (built()) config["input_shape"] = input_shape();
  if (compiled()) {
    config["compile"] = {{"loss", loss()->get_config()},
                         {"optimizer", optimizer()->get_config()},
                         {"metrics", metrics()}};
  }
  return config;
}

Sequential Sequential::from_config(const Json& config) {
  ConfigReader read(config, "Sequential");
  TG_CHECK(read.has("layers") && config.at("layers").is_array(), "Sequential config: 'layers' must be a list, got {}",
           config.dump());
  Sequential model({}, read.text("name", "sequential"));
  // No building on add/compile here: only the config's input_shape builds, so that load_model,
  // which holds that back, can compare every weight's shape with the file before allocating.
  model.defer_build_ = true;
  for (const Json& layer : config.at("layers")) model.add(layer_from_config(layer));
  if (read.has("input_shape")) model.build(read.shape("input_shape"), 0);
  if (read.has("compile")) {
    const Json& c = config.at("compile");
    ConfigReader compile(c, "Sequential compile");
    TG_CHECK(c.contains("loss") && c.contains("optimizer"), "Sequential config: 'compile' needs loss and optimizer, got {}",
             c.dump());
    model.compile({.loss = loss_from_config(c.at("loss")),
                   .optimizer = optimizer_from_config(c.at("optimizer")),
                   .metrics = compile.texts("metrics")});
  }
  model.defer_build_ = false;
  return model;
}

}  // namespace nn
