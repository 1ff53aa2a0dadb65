// The C++ half of the Python interop checks (scripts/interop_check.sh):
//
//   interop_roundtrip export DIR        trains two small models, writes DIR/<name>.keras and
//                                       DIR/<name>.onnx, and DIR/<name>.safetensors holding the
//                                       inputs "x" and tapegrad's predictions "y"
//   interop_roundtrip import IN.keras DATA.safetensors OUT.safetensors
//                                       loads a Keras-saved model, predicts on DATA's "x" and
//                                       writes the predictions as OUT's "y"
#include <fmt/core.h>

#include <string>

#include "tapegrad/interop/keras.h"
#include "tapegrad/interop/onnx.h"
#include "tapegrad/nn/layers/all.h"
#include "tapegrad/nn/safetensors.h"

namespace {

struct Example {
  std::string name;
  nn::Sequential model;
  ad::Tensor x, y;
};

// A classifier on [3, 4] "images" (Flatten, relu, softmax) and a regression through every other
// activation with an Activation layer and a Dense without bias, each trained a few epochs.
std::vector<Example> examples() {
  ad::Rng rng(7);
  std::vector<Example> out;
  {
    ad::Tensor x = ad::Tensor::uniform({96, 3, 4}, -1, 1, rng), y = ad::Tensor::zeros({96});
    for (int64_t i = 0; i < 96; ++i) y[i] = x[i * 12] + x[i * 12 + 5] > 0 ? 1.f : (x[i * 12 + 7] > 0 ? 2.f : 0.f);
    nn::Sequential model({nn::Flatten({3, 4}), nn::Dense(16, "relu"), nn::Dense(3, "softmax")});
    model.compile({.loss = "sparse_categorical_crossentropy", .optimizer = "adam", .metrics = {"accuracy"}});
    model.fit(x, y, {.epochs = 5, .batch_size = 16, .verbose = 0});
    out.push_back({"classifier", model, x, y});
  }
  {
    ad::Tensor x = ad::Tensor::uniform({96, 5}, -2, 2, rng), y = ad::Tensor::zeros({96, 2});
    for (int64_t i = 0; i < 96; ++i) y[i * 2] = x[i * 5] * x[i * 5 + 1], y[i * 2 + 1] = x[i * 5 + 2] - x[i * 5 + 4];
    nn::Sequential model({nn::InputLayer({5}), nn::Dense(12, "tanh"), nn::Dense(8, "sigmoid"),
                          nn::Dense(8, {.activation = "softplus", .use_bias = false}), nn::Dense(6),
                          nn::Activation("relu"), nn::Dense(2)});
    model.compile({.loss = "mse", .optimizer = "adam"});
    model.fit(x, y, {.epochs = 5, .batch_size = 16, .verbose = 0});
    out.push_back({"regression", model, x, y});
  }
  return out;
}

int export_models(const std::string& dir) {
  for (Example& e : examples()) {
    interop::save_keras(e.model, dir + "/" + e.name + ".keras");
    interop::save_onnx(e.model, dir + "/" + e.name + ".onnx");
    nn::save_safetensors(dir + "/" + e.name + ".safetensors", {{"x", e.x}, {"y", e.model.predict(e.x)}});
    fmt::print("exported {} ({} parameters)\n", e.name, e.model.parameter_count());
  }
  return 0;
}

int import_model(const std::string& model_path, const std::string& data_path, const std::string& out_path) {
  nn::Sequential model = interop::load_keras(model_path);
  ad::Tensor x = nn::load_safetensors(data_path).tensor("x");
  nn::save_safetensors(out_path, {{"y", model.predict(x)}});
  fmt::print("imported {}: {} layers, predicted {} rows\n", model_path, model.layers().size(), x.shape()[0]);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    std::string command = argc > 1 ? argv[1] : "";
    if (command == "export" && argc == 3) return export_models(argv[2]);
    if (command == "import" && argc == 5) return import_model(argv[2], argv[3], argv[4]);
    fmt::print(stderr, "usage: {0} export DIR | {0} import IN.keras DATA.safetensors OUT.safetensors\n", argv[0]);
    return 2;
  } catch (const std::exception& e) {
    fmt::print(stderr, "interop_roundtrip: {}\n", e.what());
    return 1;
  }
}
