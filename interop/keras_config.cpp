#include "tapegrad/interop/keras_config.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cctype>
#include <set>
#include <string>

#include "tapegrad/nn/activations.h"
#include "tapegrad/nn/initializers.h"
#include "tapegrad/nn/layers/all.h"

namespace interop {

namespace {

using nlohmann::json;

const char* const kReadClasses = "InputLayer, Dense, Flatten, Activation, Dropout";

// Keras' naming.to_snake_case: "GlorotUniform" -> "glorot_uniform", "InputLayer" -> "input_layer".
std::string snake_case(const std::string& name) {
  std::string out;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool upper = std::isupper(static_cast<unsigned char>(c));
    bool after_lower = i > 0 && std::islower(static_cast<unsigned char>(name[i - 1]));
    bool starts_word = i > 0 && i + 1 < name.size() && std::islower(static_cast<unsigned char>(name[i + 1]));
    if (upper && (after_lower || starts_word) && !out.empty() && out.back() != '_') out += '_';
    out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

json layer_entry(const std::string& keras_class, json config, const nn::Shape* input_shape) {
  json entry = {{"module", "keras.layers"}, {"class_name", keras_class}, {"config", std::move(config)},
                {"registered_name", nullptr}};
  if (input_shape) {
    json shape = json::array({nullptr});
    for (int64_t d : *input_shape) shape.push_back(d);
    entry["build_config"] = {{"input_shape", shape}};
  }
  return entry;
}

json batch_shape(const nn::Shape& sample) {
  json shape = json::array({nullptr});
  for (int64_t d : sample) shape.push_back(d);
  return shape;
}

std::string export_activation(const std::string& name, const nn::Layer& layer) {
  std::string canonical = nn::canonical_activation(name);
  const auto& known = keras_activations();
  TG_CHECK(std::find(known.begin(), known.end(), canonical) != known.end(),
           "save_keras: {} '{}' has activation '{}', which has no Keras twin computing the same; exported: {}",
           layer.type(), layer.name(), canonical, fmt::join(known, ", "));
  return canonical;
}

// A Keras activation: a name, or a serialized function {"class_name": "function", "config": name}.
std::string import_activation(const json& value, const std::string& where) {
  std::string name;
  if (value.is_string()) name = value.get<std::string>();
  else if (value.is_object() && value.contains("config") && value["config"].is_string())
    name = value["config"].get<std::string>();
  else
    ad::fail("load_keras: {}: activation {} is neither a name nor a serialized function", where, value.dump());
  const auto& known = keras_activations();
  TG_CHECK(std::find(known.begin(), known.end(), name) != known.end(),
           "load_keras: {}: activation '{}' is not one tapegrad computes as Keras does; known: {}", where, name,
           fmt::join(known, ", "));
  return name;
}

// An initializer by name, or serialized {"class_name": "GlorotUniform", ...}. Only the name is
// kept; one tapegrad lacks falls back to the Keras default, since loaded weights replace it.
std::string import_initializer(const json* value, const std::string& fallback) {
  if (!value || value->is_null()) return fallback;
  std::string name;
  if (value->is_string()) name = value->get<std::string>();
  else if (value->is_object() && value->contains("class_name") && (*value)["class_name"].is_string())
    name = snake_case((*value)["class_name"].get<std::string>());
  const auto& known = nn::known_initializers();
  return std::find(known.begin(), known.end(), name) != known.end() ? name : fallback;
}

const json& object_field(const json& object, const char* key, const std::string& where) {
  TG_CHECK(object.is_object() && object.contains(key), "load_keras: {}: missing field '{}'", where, key);
  return object[key];
}

// A Keras batch shape [null, d1, d2, ...] as the per-sample shape [d1, d2, ...].
nn::Shape sample_shape(const json& shape, const std::string& where) {
  TG_CHECK(shape.is_array() && !shape.empty(), "load_keras: {}: shape {} is not a list [batch, ...]", where,
           shape.dump());
  nn::Shape out;
  for (size_t i = 1; i < shape.size(); ++i) {
    TG_CHECK(shape[i].is_number_integer() && shape[i].get<int64_t>() > 0,
             "load_keras: {}: shape {} has dimension {} = {}, not a positive integer", where, shape.dump(), i,
             shape[i].dump());
    out.push_back(shape[i].get<int64_t>());
  }
  return out;
}

}  // namespace

const std::vector<std::string>& keras_activations() {
  static const std::vector<std::string> names = [] {
    // Keras' built-ins with the same formula and defaults as tapegrad's op of that name.
    const std::vector<std::string> same = {"linear", "relu", "sigmoid", "tanh", "softplus", "softmax"};
    std::vector<std::string> out;
    const auto& ours = nn::known_activations();
    for (const std::string& n : same)
      if (std::find(ours.begin(), ours.end(), n) != ours.end()) out.push_back(n);
    return out;
  }();
  return names;
}

std::string KerasWeightNames::next(const std::string& keras_class) {
  std::string base = snake_case(keras_class);
  for (auto& [name, count] : used_)
    if (name == base) return fmt::format("layers/{}_{}", base, ++count);
  used_.emplace_back(base, 0);
  return "layers/" + base;
}

json keras_sequential_config(const nn::Sequential& model) {
  TG_CHECK(model.built(), "save_keras: the model is not built; build() or fit() it first");
  nn::Shape shape = model.input_shape();
  json layers = json::array();
  // layers() leaves the model's InputLayer out (as Keras' model.layers does); its name, when it
  // has one, names Keras' InputLayer.
  const auto& ours = model.layers();
  // Keras loads a layer by its name: two of one name (possible after set_name) would write an
  // archive neither Keras nor load_keras reads.
  std::set<std::string> names;
  for (const nn::LayerPtr& layer : ours)
    TG_CHECK(names.insert(layer->name()).second, "save_keras: two layers are named '{}'", layer->name());
  // A model without an InputLayer gets one named as Keras names it, input_layer, or
  // input_layer_1, ... when a layer has that name.
  std::string input_name = model.input_layer() ? model.input_layer()->name() : "input_layer";
  for (int k = 1; !model.input_layer() && names.contains(input_name); ++k) input_name = fmt::format("input_layer_{}", k);
  TG_CHECK(!names.contains(input_name), "save_keras: the InputLayer and a layer are both named '{}'", input_name);
  layers.push_back(layer_entry("InputLayer",
                               {{"batch_shape", batch_shape(shape)}, {"dtype", "float32"}, {"sparse", false},
                                {"name", input_name}},
                               nullptr));
  for (const nn::LayerPtr& layer : ours) {
    const std::string type = layer->type();
    // Keras refuses such names when it loads the model (they would read as paths).
    TG_CHECK(layer->name().find('/') == std::string::npos, "save_keras: {} '{}': Keras layer names cannot contain '/'",
             type, layer->name());
    json common = {{"name", layer->name()}, {"trainable", true}, {"dtype", "float32"}};
    if (type == "InputLayer") {
      ad::fail("save_keras: InputLayer '{}' is not the first layer", layer->name());
    } else if (type == "Dense") {
      auto& dense = dynamic_cast<nn::Dense&>(*layer);
      json config = layer->get_config();
      common.update({{"units", dense.units()},
                     {"activation", export_activation(dense.output_activation(), dense)},
                     {"use_bias", dense.use_bias()},
                     {"kernel_initializer", config.value("kernel_initializer", "glorot_uniform")},
                     {"bias_initializer", config.value("bias_initializer", "zeros")},
                     {"kernel_regularizer", nullptr}, {"bias_regularizer", nullptr},
                     {"kernel_constraint", nullptr}, {"bias_constraint", nullptr}});
      layers.push_back(layer_entry("Dense", common, &shape));
    } else if (type == "Flatten") {
      common["data_format"] = "channels_last";
      layers.push_back(layer_entry("Flatten", common, &shape));
    } else if (type == "Activation") {
      common["activation"] = export_activation(layer->output_activation(), *layer);
      layers.push_back(layer_entry("Activation", common, &shape));
    } else {
      ad::fail("save_keras: layer '{}' is a {}; Keras export knows {}", layer->name(), type,
               "InputLayer, Dense, Flatten, Activation");
    }
    shape = layer->output_shape(shape);
  }
  json input = batch_shape(model.input_shape());
  const std::string model_name = model.get_config().value("name", "sequential");
  TG_CHECK(model_name.find('/') == std::string::npos, "save_keras: the model's name '{}' cannot contain '/' (Keras "
           "refuses such names when it loads the model)", model_name);
  return {{"module", "keras"},
          {"class_name", "Sequential"},
          {"config", {{"name", model_name}, {"trainable", true},
                      {"dtype", "float32"}, {"layers", layers}, {"build_input_shape", input}}},
          {"registered_name", nullptr},
          {"build_config", {{"input_shape", input}}}};
}

KerasSequential read_keras_sequential(const json& root, const std::string& source) {
  TG_CHECK(root.is_object(), "load_keras: '{}': config.json is a JSON {}, not an object", source, root.type_name());
  const json& class_name = object_field(root, "class_name", "'" + source + "' config.json");
  TG_CHECK(class_name == "Sequential",
           "load_keras: '{}': the model is a {}; only Sequential models are read", source, class_name.dump());
  const json& config = object_field(root, "config", "'" + source + "' config.json");
  const json& layer_list = object_field(config, "layers", "'" + source + "' Sequential config");
  TG_CHECK(layer_list.is_array(), "load_keras: '{}': the Sequential's layers are {}, not a list", source,
           layer_list.type_name());

  KerasSequential model;
  model.name = config.contains("name") && config["name"].is_string() ? config["name"].get<std::string>() : "sequential";
  std::optional<nn::Shape> input;
  KerasWeightNames weight_names;
  for (size_t i = 0; i < layer_list.size(); ++i) {
    const json& entry = layer_list[i];
    std::string where = fmt::format("'{}' layer {}", source, i);
    const json& keras_class_field = object_field(entry, "class_name", where);
    TG_CHECK(keras_class_field.is_string(), "load_keras: {}: class_name {} is not a string", where,
             keras_class_field.dump());
    std::string keras_class = keras_class_field.get<std::string>();
    const json& c = object_field(entry, "config", where);
    // A layer without a name gets Keras' default; a name that is not text is refused, not replaced.
    TG_CHECK(!c.is_object() || !c.contains("name") || c["name"].is_string(), "load_keras: {}: name {} is not a string",
             where, c.is_object() && c.contains("name") ? c["name"].dump() : "");
    std::string name = c.is_object() && c.contains("name") ? c["name"].get<std::string>() : snake_case(keras_class);
    where = fmt::format("'{}' layer '{}' ({})", source, name, keras_class);
    if (keras_class == "InputLayer") {
      TG_CHECK(i == 0, "load_keras: {}: an InputLayer after the first layer", where);
      const json& shape = c.contains("batch_shape") ? c["batch_shape"] : object_field(c, "batch_input_shape", where);
      input = sample_shape(shape, where);
      auto layer = std::make_shared<nn::InputLayer>(*input);
      layer->set_name(name);
      model.layers.push_back({layer, keras_class, ""});  // Keras keeps no variables for it
      continue;
    }
    nn::LayerPtr layer;
    if (keras_class == "Dense") {
      const json& units = object_field(c, "units", where);
      TG_CHECK(units.is_number_integer() && units.get<int64_t>() > 0, "load_keras: {}: units {} is not a positive integer",
               where, units.dump());
      const json* use_bias = c.contains("use_bias") ? &c["use_bias"] : nullptr;
      TG_CHECK(!use_bias || use_bias->is_boolean(), "load_keras: {}: use_bias {} is not true or false", where,
               use_bias ? use_bias->dump() : "");
      layer = std::make_shared<nn::Dense>(
          units.get<int64_t>(),
          nn::DenseOptions{
              .activation = c.contains("activation") ? import_activation(c["activation"], where) : "linear",
              .use_bias = use_bias ? use_bias->get<bool>() : true,
              .kernel_initializer = import_initializer(c.contains("kernel_initializer") ? &c["kernel_initializer"] : nullptr,
                                                       "glorot_uniform"),
              .bias_initializer =
                  import_initializer(c.contains("bias_initializer") ? &c["bias_initializer"] : nullptr, "zeros")});
    } else if (keras_class == "Flatten") {
      layer = std::make_shared<nn::Flatten>();
      // channels_first flattens in another axis order, which nn::Flatten does not.
      TG_CHECK(!c.contains("data_format") || c["data_format"] != "channels_first",
               "load_keras: {}: data_format \"channels_first\" reorders the axes; channels_last is read", where);
    } else if (keras_class == "Activation") {
      layer = std::make_shared<nn::Activation>(import_activation(object_field(c, "activation", where), where));
    } else if (keras_class == "Dropout") {
      layer = std::make_shared<nn::Activation>("linear");  // the identity at inference
    } else {
      ad::fail("load_keras: {}: the layer class is not read; known: {}", where, kReadClasses);
    }
    layer->set_name(name);
    if (!input && entry.contains("build_config") && entry["build_config"].is_object() &&
        entry["build_config"].contains("input_shape"))
      input = sample_shape(entry["build_config"]["input_shape"], where + " build_config");
    model.layers.push_back({layer, keras_class, weight_names.next(keras_class)});
  }
  if (!input && config.contains("build_input_shape") && !config["build_input_shape"].is_null())
    input = sample_shape(config["build_input_shape"], "'" + source + "' build_input_shape");
  TG_CHECK(input.has_value(), "load_keras: '{}': the model was saved without an input shape (unbuilt)", source);
  TG_CHECK(!model.layers.empty(), "load_keras: '{}': the Sequential has no layers", source);
  model.input_shape = *input;
  return model;
}

}  // namespace interop
