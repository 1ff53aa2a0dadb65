#include "tapegrad/interop/keras.h"

#include <chrono>
#include <filesystem>
#include <string>
#include <string_view>

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "tapegrad/interop/hdf5_image.h"
#include "tapegrad/interop/keras_config.h"
#include "tapegrad/interop/zip_archive.h"
#include "tapegrad/nn/config_reader.h"
#include "tapegrad/nn/atomic_file.h"
#include "tapegrad/nn/layers/dense.h"

namespace interop {

namespace {

using nlohmann::json;

// The .keras format version written: Keras 3's (metadata.json's keras_version).
constexpr const char* kKerasVersion = "3.0.0";

json parse_json(const std::string& text, const std::string& path, const char* entry) {
  return nn::parse_json(text, fmt::format("load_keras: '{}': {}", path, entry));
}

// The shapes of a layer's variables in Keras' order (Dense: kernel [in, units], bias [units]),
// from the config alone, so that they can be checked against the file before anything is built.
std::vector<nn::Shape> variable_shapes(nn::Layer& layer, const nn::Shape& input_shape) {
  if (layer.type() != "Dense") return {};
  auto& dense = dynamic_cast<nn::Dense&>(layer);
  layer.output_shape(input_shape);  // throws for inputs Dense does not take
  std::vector<nn::Shape> shapes{{input_shape[0], dense.units()}};
  if (dense.use_bias()) shapes.push_back({dense.units()});
  return shapes;
}

}  // namespace

void save_keras(const nn::Sequential& model, const std::string& path) {
  json config = keras_sequential_config(model);  // checks the model is built and exportable
  Hdf5Writer weights;
  KerasWeightNames names;
  for (const nn::LayerPtr& layer : model.layers()) {
    if (layer->type() == "InputLayer") continue;
    std::string group = names.next(layer->type()) + "/vars";
    weights.group(group, layer->name());
    std::vector<nn::Var> vars = layer->weights();
    for (size_t i = 0; i < vars.size(); ++i) weights.write_floats(fmt::format("{}/{}", group, i), vars[i].value());
  }
  weights.group("vars", config["config"]["name"].get<std::string>());  // the model's own (none)
  json metadata = {{"keras_version", kKerasVersion},
                   {"date_saved", fmt::format("{:%Y-%m-%d@%H:%M:%S}", std::chrono::floor<std::chrono::seconds>(
                                                                          std::chrono::system_clock::now()))}};
  ZipWriter archive;
  archive.add("metadata.json", metadata.dump());
  archive.add("config.json", config.dump());
  archive.add("model.weights.h5", weights.finish());
  nn::write_file_atomically(path, archive.finish(), "save_keras");
}

namespace {

// load_keras past its checks of the path: every error it raises names load_keras and the file
// (load_keras adds them to those of the readers and layers it calls).
nn::Sequential read_keras_archive(const std::string& path, const KerasLimits& limits) {
  ZipReader archive(path);
  for (const char* entry : {"config.json", "model.weights.h5"})
    TG_CHECK(archive.contains(entry), "load_keras: '{}': the archive has no {} (it holds: {})", path, entry,
             fmt::join(archive.names(), ", "));
  if (archive.contains("metadata.json")) {
    json metadata = parse_json(archive.read("metadata.json", limits.max_json_bytes), path, "metadata.json");
    TG_CHECK(metadata.is_object(), "load_keras: '{}': metadata.json is a JSON {}, not an object", path,
             metadata.type_name());
  }
  KerasSequential spec =
      read_keras_sequential(parse_json(archive.read("config.json", limits.max_json_bytes), path, "config.json"), path);
  Hdf5Reader file(archive.read("model.weights.h5", limits.max_weights_bytes), path + ": model.weights.h5");

  // Every variable checked and read before the model is built.
  std::vector<ad::Tensor> values;
  nn::Shape shape = spec.input_shape;
  for (const KerasLayer& entry : spec.layers) {
    if (entry.weights_group.empty()) continue;  // the InputLayer
    std::vector<nn::Shape> shapes = variable_shapes(*entry.layer, shape);
    std::vector<std::string> expected, found = file.members(entry.weights_group + "/vars");
    for (size_t i = 0; i < shapes.size(); ++i) expected.push_back(std::to_string(i));
    std::sort(expected.begin(), expected.end());
    TG_CHECK(found == expected,
             "load_keras: '{}': layer '{}' ({}) has {} variables, but model.weights.h5 holds [{}] at {}/vars", path,
             entry.layer->name(), entry.keras_class, shapes.size(), fmt::join(found, ", "), entry.weights_group);
    for (size_t i = 0; i < shapes.size(); ++i)
      values.push_back(file.read_floats(fmt::format("{}/vars/{}", entry.weights_group, i), shapes[i]));
    shape = entry.layer->output_shape(shape);
  }
  std::vector<nn::LayerRef> layers;
  for (const KerasLayer& entry : spec.layers) layers.emplace_back(entry.layer);
  nn::Sequential model(std::move(layers), spec.name);
  model.build(spec.input_shape);
  model.set_weights(values);
  return model;
}

}  // namespace

nn::Sequential load_keras(const std::string& path, const KerasLimits& limits) {
  std::error_code error;
  const auto status = std::filesystem::status(path, error);
  TG_CHECK(std::filesystem::exists(status), "load_keras: '{}': no such file", path);
  TG_CHECK(!std::filesystem::is_directory(status), "load_keras: '{}': is a folder, not a file", path);
  TG_CHECK(std::filesystem::is_regular_file(status), "load_keras: '{}': not a regular file (a device, pipe or socket)",
           path);
  try {
    return read_keras_archive(path, limits);
  } catch (const ad::Error& e) {
    // The readers' and layers' own errors (not a zip archive; a layer that refuses its input
    // shape; two layers of one name), named after the call and the file.
    if (std::string_view(e.what()).starts_with("load_keras:")) throw;
    ad::fail("load_keras: '{}': {}", path, e.what());
  }
}

}  // namespace interop
