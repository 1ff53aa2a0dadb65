// Model::save, nn::load_model and the weights-only pair: the model file layout is
// described in nn/serialization.h.
#include "tapegrad/nn/serialization.h"

#include <set>

#include "tapegrad/nn/config_reader.h"
#include "tapegrad/nn/safetensors.h"
#include "tapegrad/nn/utf8_text.h"

namespace nn {

namespace {

constexpr const char* kFormat = "tapegrad.sequential";
constexpr int kFormatVersion = 1;
constexpr const char* kOptimizerPrefix = "optimizer/";

// Every weight as "<layer>/<weight>", in model order (the order of trainable_weights(), which
// is also the order in which the optimizer was built).
// The tensors share the weights' storage.
std::vector<NamedTensor> named_weights(const Model& model, const std::string& who) {
  std::vector<NamedTensor> named;
  std::set<std::string> layer_names;
  for (const LayerPtr& layer : model.layers()) {
    TG_CHECK(layer_names.insert(layer->name()).second,
             "{}: two layers are named '{}'; saved weights need unique layer names", who,
             layer->name());
    std::vector<Var> weights = layer->weights();
    std::vector<std::string> names = layer->weight_names();
    TG_CHECK(weights.size() == names.size(), "{}: layer '{}' has {} weights but {} weight names",
             who, layer->name(), weights.size(), names.size());
    for (size_t i = 0; i < weights.size(); ++i)
      named.push_back({layer->name() + "/" + names[i], weights[i].value()});
  }
  return named;
}

// A mean of squared gradients (Adam's v, RMSprop's velocity) that is negative or NaN is no
// state an optimizer reaches: its update would take the square root of it.
void check_squared_gradient_slots(Optimizer& optimizer, const std::vector<NamedTensor>& weights,
                                  const std::string& path) {
  for (size_t i = 0; i < weights.size(); ++i)
    for (const std::string& name : optimizer.squared_gradient_slots()) {
      const Tensor& slot = optimizer.slot(i, name);
      for (int64_t k = 0; k < slot.size(); ++k)
        TG_CHECK(slot[k] >= 0, "load_model: '{}': optimizer slot '{}/{}' holds {} at flat index {}: a mean of "
                 "squared gradients is never negative or NaN", path, weights[i].name, name, slot[k], k);
    }
}

// load_safetensors(path), its errors led by the function the user called:
// "load_model: load_safetensors: 'm.model': ...".
SafetensorsFile read_file_for(const std::string& path, const char* who) {
  try {
    return load_safetensors(path);
  } catch (const ad::Error& e) {
    ad::fail("{}: {}", who, e.what());
  }
}

// The optimizer's state: one tensor per parameter and slot, named after the parameter.
std::vector<NamedTensor> named_slots(Optimizer& optimizer, const std::vector<NamedTensor>& weights) {
  std::vector<NamedTensor> named;
  for (size_t i = 0; i < optimizer.built_parameters() && i < weights.size(); ++i)
    for (const std::string& slot : optimizer.slot_names(i))
      named.push_back({kOptimizerPrefix + weights[i].name + "/" + slot, optimizer.slot(i, slot)});
  return named;
}

// Checks that `file` holds exactly the `expected` tensors (names and shapes), listing every
// difference at once; tensors whose names start with `ignored_prefix` are left to another check.
void check_tensors(const SafetensorsFile& file, const std::vector<NamedTensor>& expected,
                   const std::string& who, const std::string& path, const std::string& what,
                   const std::string& ignored_prefix) {
  std::vector<std::string> problems;
  std::set<std::string> wanted;
  for (const NamedTensor& w : expected) {
    wanted.insert(w.name);
    if (!file.contains(w.name)) {
      problems.push_back(fmt::format("'{}' {} is missing", w.name, ad::to_string(w.tensor.shape())));
    } else if (file.tensor(w.name).shape() != w.tensor.shape()) {
      problems.push_back(fmt::format("'{}' has shape {} in the file but {} in the model", w.name,
                                     ad::to_string(file.tensor(w.name).shape()),
                                     ad::to_string(w.tensor.shape())));
    }
  }
  for (const NamedTensor& t : file.tensors) {
    const bool ours = ignored_prefix.empty() ? !t.name.starts_with(kOptimizerPrefix)
                                             : t.name.starts_with(ignored_prefix);
    if (ours && !wanted.contains(t.name))
      problems.push_back(fmt::format("'{}' {} is in the file but not in the model", t.name,
                                     ad::to_string(t.tensor.shape())));
  }
  TG_CHECK(problems.empty(), "{}: '{}': the {} do not match the model: {}", who, path, what,
           fmt::join(problems, "; "));
}

// Copies the file's values into the targets' storage: the weights stay the same objects, so
// anything holding them (an optimizer, a compiled step) sees the loaded values.
void assign_from(const SafetensorsFile& file, std::vector<NamedTensor>& targets) {
  for (NamedTensor& target : targets) target.tensor.assign(file.tensor(target.name));
}

std::string metadata_field(const SafetensorsFile& file, const std::string& path,
                           const std::string& key) {
  auto found = file.metadata.find(key);
  TG_CHECK(found != file.metadata.end(),
           "load_model: '{}': the file's metadata has no \"{}\"; it is not a saved model "
           "(load_safetensors reads plain weight files)",
           path, key);
  return found->second;
}

void check_format(const SafetensorsFile& file, const std::string& path) {
  const std::string format = metadata_field(file, path, "format");
  TG_CHECK(format == kFormat, "load_model: '{}': the file's format is '{}', not '{}'", path, format,
           kFormat);
  const std::string version = metadata_field(file, path, "format_version");
  TG_CHECK(version == std::to_string(kFormatVersion),
           "load_model: '{}': format version '{}' is not the version {} this library reads", path,
           version, kFormatVersion);
}

// The shape every layer's weights will have once the model is built for `input_shape`, compared
// with the file's tensors before anything is built; throws naming the layer, the weight and
// both shapes, and listing every weight the file lacks (building those could allocate what the
// file does not justify). Surplus tensors are left to check_tensors.
void check_weight_shapes(const Sequential& model, Shape shape, const SafetensorsFile& file) {
  std::vector<std::string> missing;
  for (const LayerPtr& layer : model.layers()) {
    const std::vector<Shape> shapes = layer->weight_shapes_for(shape);
    const std::vector<std::string> names = layer->weight_names();
    TG_CHECK(shapes.size() == names.size(), "layer '{}' has {} weight shapes but {} weight names",
             layer->name(), shapes.size(), names.size());
    for (size_t i = 0; i < names.size(); ++i) {
      const std::string name = layer->name() + "/" + names[i];
      if (!file.contains(name)) {
        missing.push_back(fmt::format("'{}' {}", name, ad::to_string(shapes[i])));
        continue;
      }
      const Shape& stored = file.tensor(name).shape();
      TG_CHECK(stored == shapes[i],
               "layer '{}' ({}) weight '{}' has shape {} by the config (inputs {} per sample) "
               "but {} in the file",
               layer->name(), layer->type(), names[i], ad::to_string(shapes[i]), ad::to_string(shape),
               ad::to_string(stored));
    }
    shape = layer->output_shape(shape);
  }
  TG_CHECK(missing.empty(), "the file lacks weights the config needs: {}", fmt::join(missing, "; "));
}

int64_t parse_iterations(const std::string& text, const std::string& path) {
  size_t used = 0;
  int64_t value = -1;
  try {
    value = std::stoll(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  TG_CHECK(used == text.size() && !text.empty() && value >= 0,
           "load_model: '{}': optimizer_iterations is '{}', not a count", path, text);
  return value;
}

}  // namespace

void save_weights(const Model& model, const std::string& path) {
  TG_CHECK(model.built(), "save_weights: '{}': the model is not built, so it has no weights yet",
           path);
  save_safetensors(path, named_weights(model, "save_weights"), {}, "save_weights");
}

void load_weights(Model& model, const std::string& path) {
  TG_CHECK(model.built(), "load_weights: '{}': build the model before loading weights into it",
           path);
  const SafetensorsFile file = read_file_for(path, "load_weights");
  std::vector<NamedTensor> weights = named_weights(model, "load_weights");
  check_tensors(file, weights, "load_weights", path, "weights", "");
  assign_from(file, weights);
}

void Model::save(const std::string& path) const {
  const std::string who = type() + "::save";
  TG_CHECK(built(), "{}: '{}': the model is not built, so it has no weights yet", who, path);
  // load_model finds each layer's weights by its name: an empty or repeated one (possible after
  // set_name) would save a file that cannot be loaded.
  std::set<std::string> names;
  for (const LayerPtr& layer : layers()) {
    TG_CHECK(!layer->name().empty(), "{}: '{}': a {} layer has an empty name", who, path, layer->type());
    TG_CHECK(names.insert(layer->name()).second, "{}: '{}': two layers are named '{}'", who, path, layer->name());
  }
  const std::vector<NamedTensor> weights = named_weights(*this, who);
  std::vector<NamedTensor> tensors = weights;
  const Json config = get_config();
  check_utf8(config, fmt::format("{}: '{}': the model's config", who, path));
  std::map<std::string, std::string> metadata = {
      {"format", kFormat},
      {"format_version", std::to_string(kFormatVersion)},
      {"config", config.dump()},
  };
  if (compiled()) {
    OptimizerPtr state = optimizer();
    // Compiled before it was built and not trained since: the optimizer has no slots yet.
    // Save the zeros it would start from, so that the file matches what load_model builds.
    if (state->built_parameters() != weights.size()) {
      state = state->clone();
      std::vector<Var> params;
      for (const LayerPtr& layer : layers())
        for (const Var& w : layer->weights()) params.push_back(w);
      state->build(params);
    }
    for (NamedTensor& slot : named_slots(*state, weights)) tensors.push_back(std::move(slot));
    metadata["optimizer_iterations"] = std::to_string(state->iterations);
  }
  save_safetensors(path, tensors, metadata, "Model::save");
}

Sequential load_model(const std::string& path) {
  // Every tensor is checked against the file's size before it is allocated, so this allocates
  // no more than the file holds (twice that for 16-bit dtypes).
  const SafetensorsFile file = read_file_for(path, "load_model");
  check_format(file, path);
  Json config = parse_json(metadata_field(file, path, "config"), fmt::format("load_model: '{}': the saved config", path));
  // The layers and compile settings first, without weights: the config's input shape is held
  // back so that nothing is built (allocated) before the weight shapes it implies are checked
  // against the file's tensors. A small file whose config claims 10^9 units fails here.
  Sequential model;
  Shape input_shape;
  try {
    TG_CHECK(config.is_object(), "Sequential config: must be a JSON object, got {}", config.dump());
    input_shape = ConfigReader(config, "Sequential").shape("input_shape");
    Json architecture = config;
    architecture.erase("input_shape");
    model = Sequential::from_config(architecture);
    TG_CHECK(!input_shape.empty(), "the saved config has no input shape to build from");
    check_weight_shapes(model, input_shape, file);
    model.build(input_shape, 0);
  } catch (const ad::Error& e) {
    ad::fail("load_model: '{}': cannot rebuild the model from its config: {}", path, e.what());
  } catch (const Json::exception& e) {
    ad::fail("load_model: '{}': cannot rebuild the model from its config: {}", path, e.what());
  }

  // Check every tensor before any value is copied.
  std::vector<NamedTensor> weights = named_weights(model, "load_model");
  check_tensors(file, weights, "load_model", path, "weights", "");
  std::vector<NamedTensor> slots;
  int64_t iterations = 0;
  if (model.compiled()) {
    Optimizer& optimizer = *model.optimizer();
    optimizer.ensure_built(model.trainable_weights());
    slots = named_slots(optimizer, weights);
    check_tensors(file, slots, "load_model", path, "optimizer slots", kOptimizerPrefix);
    iterations = parse_iterations(metadata_field(file, path, "optimizer_iterations"), path);
  } else {
    check_tensors(file, {}, "load_model", path, "optimizer slots", kOptimizerPrefix);
  }

  assign_from(file, weights);
  assign_from(file, slots);
  if (model.compiled()) {
    check_squared_gradient_slots(*model.optimizer(), weights, path);
    model.optimizer()->iterations = iterations;
  }
  return model;
}

}  // namespace nn
