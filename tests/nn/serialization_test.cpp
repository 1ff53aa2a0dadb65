#include "tapegrad/nn/serialization.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <functional>
#include <type_traits>

#include "tapegrad/nn/layers/all.h"
#include "tapegrad/nn/optimizers/adam.h"
#include "tapegrad/nn/optimizers/sgd.h"
#include "tapegrad/nn/safetensors.h"
#include "tests/nn/memory_limit.h"
#include "tests/nn/scratch_folder.h"

namespace {

using ad::Tensor;
using tests::ScratchFolder;

// Three classes of 4 features, labelled by the largest of three fixed projections.
struct Classification {
  Tensor x, y;
};

Classification classification(int64_t n, uint64_t seed) {
  ad::Rng rng(seed);
  Classification data{Tensor::uniform({n, 4}, -1, 1, rng), Tensor::zeros({n})};
  for (int64_t i = 0; i < n; ++i) {
    const float* row = data.x.data() + i * 4;
    const float scores[3] = {row[0] + row[1], row[2] - row[0], row[3] - row[1]};
    data.y[i] = static_cast<float>(std::max_element(scores, scores + 3) - scores);
  }
  return data;
}

nn::Sequential classifier(nn::OptimizerRef optimizer, int hidden = 8) {
  nn::Sequential model({nn::Dense(hidden, {.activation = "relu", .input_shape = {4}}),
                        nn::Dense(3, "softmax")});
  model.compile({.loss = "sparse_categorical_crossentropy", .optimizer = std::move(optimizer),
                 .metrics = {"accuracy"}});
  return model;
}

nn::History train(nn::Sequential& model, const Classification& data, int epochs, uint64_t seed,
                  bool eager = false) {
  return model.fit(data.x, data.y,
                   {.epochs = epochs, .batch_size = 16, .seed = seed, .verbose = 0, .eager = eager});
}

void check_same_weights(nn::Sequential& a, nn::Sequential& b) {
  std::vector<Tensor> wa = a.get_weights(), wb = b.get_weights();
  REQUIRE(wa.size() == wb.size());
  for (size_t i = 0; i < wa.size(); ++i) {
    CAPTURE(i);
    CHECK(wa[i].shape() == wb[i].shape());
    CHECK(wa[i].to_vector() == wb[i].to_vector());
  }
}

// Rewrites a saved model with its tensors changed by `edit`, keeping the metadata.
void rewrite(const std::string& path, const std::function<void(nn::SafetensorsFile&)>& edit) {
  nn::SafetensorsFile file = nn::load_safetensors(path);
  edit(file);
  nn::save_safetensors(path, file.tensors, file.metadata);
}

}  // namespace

TEST_CASE("a trained model saves to one safetensors file and loads back exactly") {
  ScratchFolder folder;
  const Classification data = classification(64, 1);
  nn::Sequential model = classifier(nn::Adam(0.01));
  train(model, data, 2, 3);
  const std::string path = folder.file("classifier.model");
  model.save(path);
  CHECK(folder.entries() == std::vector<std::string>{"classifier.model"});

  SUBCASE("the loaded model predicts bit for bit what the saved one did") {
    nn::Sequential loaded = nn::load_model(path);
    CHECK(loaded.predict(data.x).to_vector() == model.predict(data.x).to_vector());
    CHECK(loaded.get_config() == model.get_config());
    check_same_weights(loaded, model);
    REQUIRE(loaded.compiled());
    CHECK(loaded.optimizer()->type() == "Adam");
    CHECK(loaded.optimizer()->iterations == model.optimizer()->iterations);
    CHECK(loaded.metrics() == std::vector<std::string>{"accuracy"});
    CHECK(loaded.loss()->name() == "sparse_categorical_crossentropy");
  }
  SUBCASE("the file holds weights by layer name, optimizer slots, and the config as metadata") {
    nn::SafetensorsFile file = nn::load_safetensors(path);
    std::vector<std::string> names;
    for (const nn::NamedTensor& t : file.tensors) names.push_back(t.name);
    // The weights in model order, then Adam's two slots per weight (map order: m before v).
    CHECK(names == std::vector<std::string>{
                       "dense/kernel", "dense/bias", "dense_1/kernel", "dense_1/bias",
                       "optimizer/dense/kernel/m", "optimizer/dense/kernel/v",
                       "optimizer/dense/bias/m", "optimizer/dense/bias/v",
                       "optimizer/dense_1/kernel/m", "optimizer/dense_1/kernel/v",
                       "optimizer/dense_1/bias/m", "optimizer/dense_1/bias/v"});
    CHECK(file.tensor("dense/kernel").shape() == ad::Shape{4, 8});
    CHECK(file.tensor("dense_1/bias").shape() == ad::Shape{3});
    CHECK(file.tensor("dense/kernel").to_vector() == model.get_weights()[0].to_vector());
    CHECK(file.tensor("optimizer/dense_1/kernel/v").to_vector() ==
          model.optimizer()->slot(2, "v").to_vector());
    CHECK(file.metadata.at("format") == "tapegrad.sequential");
    CHECK(file.metadata.at("format_version") == "1");
    // 64 samples in batches of 16 for 2 epochs: 8 updates.
    CHECK(file.metadata.at("optimizer_iterations") == "8");
    CHECK(nn::Json::parse(file.metadata.at("config")) == model.get_config());
  }
}

TEST_CASE("a loaded model continues training exactly as the original would") {
  struct Case {
    const char* optimizer;
    std::function<nn::OptimizerRef()> make;
  };
  const std::vector<Case> cases = {
      {"SGD with momentum", [] { return nn::OptimizerRef(nn::SGD(0.05, {.momentum = 0.9})); }},
      {"Adam", [] { return nn::OptimizerRef(nn::Adam(0.01)); }},
      {"RMSprop", [] { return nn::OptimizerRef("rmsprop"); }},
  };
  const Classification data = classification(48, 5);
  for (const Case& c : cases) {
    for (bool eager : {false, true}) {
      CAPTURE(c.optimizer);
      CAPTURE(eager);
      ScratchFolder folder;
      nn::Sequential original = classifier(c.make());
      train(original, data, 2, 11, eager);
      original.save(folder.file("midway.model"));
      nn::Sequential resumed = nn::load_model(folder.file("midway.model"));

      nn::History original_rest = train(original, data, 2, 12, eager);
      nn::History resumed_rest = train(resumed, data, 2, 12, eager);
      CHECK(resumed_rest["loss"] == original_rest["loss"]);
      CHECK(resumed_rest["accuracy"] == original_rest["accuracy"]);
      check_same_weights(resumed, original);
      CHECK(resumed.optimizer()->iterations == original.optimizer()->iterations);
    }
  }
}

TEST_CASE("the optimizer state matters: a fresh optimizer continues differently") {
  // Guards the test above: with momentum, dropping the slots must change the numbers.
  ScratchFolder folder;
  const Classification data = classification(48, 5);
  nn::Sequential original = classifier(nn::SGD(0.05, {.momentum = 0.9}));
  train(original, data, 2, 11);
  nn::Sequential fresh = classifier(nn::SGD(0.05, {.momentum = 0.9}));
  fresh.build({4});
  fresh.set_weights(original.get_weights());
  train(original, data, 1, 12);
  train(fresh, data, 1, 12);
  CHECK(fresh.get_weights()[0].to_vector() != original.get_weights()[0].to_vector());
}

// A negative or NaN mean of squared gradients is no state Adam or RMSprop reaches; loaded, it
// made every later update of that weight NaN. Momentum may be negative and still loads.
TEST_CASE("load_model refuses a negative or NaN mean of squared gradients, naming the slot") {
  const Classification data = classification(48, 5);
  struct Case {
    nn::OptimizerRef optimizer;
    const char* slot;
    float bad;
  };
  for (const Case& c : {Case{nn::Adam(0.01), "v", -1.f}, Case{nn::OptimizerRef("rmsprop"), "velocity", std::nanf("")}}) {
    CAPTURE(c.slot);
    ScratchFolder folder;
    nn::Sequential model = classifier(c.optimizer);
    train(model, data, 1, 3);
    model.optimizer()->slot(1, c.slot)[2] = c.bad;
    model.save(folder.file("m.model"));
    CHECK_THROWS_WITH_AS(nn::load_model(folder.file("m.model")),
                         doctest::Contains(fmt::format("optimizer slot 'dense/bias/{}' holds {} at flat index 2", c.slot,
                                                       c.bad).c_str()),
                         ad::Error);
  }
  ScratchFolder folder;
  nn::Sequential momentum = classifier(nn::SGD(0.05, {.momentum = 0.9}));
  train(momentum, data, 1, 3);
  momentum.optimizer()->slot(1, "momentum")[2] = -1;
  momentum.save(folder.file("m.model"));
  CHECK(nn::load_model(folder.file("m.model")).optimizer()->slot(1, "momentum")[2] == -1);
}

TEST_CASE("a built model that was never compiled saves and loads without optimizer state") {
  ScratchFolder folder;
  nn::Sequential model({nn::Flatten({2, 3}), nn::Dense(4, "tanh"), nn::Dense(2)});
  model.build({2, 3}, 9);
  model.save(folder.file("plain.model"));
  CHECK(nn::load_safetensors(folder.file("plain.model")).tensors.size() == 4);

  nn::Sequential loaded = nn::load_model(folder.file("plain.model"));
  CHECK_FALSE(loaded.compiled());
  ad::Rng rng(2);
  const Tensor x = Tensor::normal({5, 2, 3}, 0, 1, rng);
  CHECK(loaded.predict(x).to_vector() == model.predict(x).to_vector());
}

TEST_CASE("an optimizer without slots yet is saved with the zeros it would start from") {
  ScratchFolder folder;
  nn::Sequential model = classifier(nn::Adam(0.01));
  model.build({4}, 1);
  // The state of an optimizer that has not been built for these weights yet (built for none).
  model.optimizer()->build({});
  model.save(folder.file("fresh.model"));
  CHECK(model.optimizer()->built_parameters() == 0);  // saving changes nothing in the model

  nn::Sequential loaded = nn::load_model(folder.file("fresh.model"));
  REQUIRE(loaded.optimizer()->built_parameters() == 4);
  CHECK(loaded.optimizer()->slot(0, "m").to_vector() == std::vector<float>(32, 0.f));
  CHECK(loaded.optimizer()->iterations == 0);
  // Both start training from the same state.
  const Classification data = classification(32, 2);
  train(model, data, 1, 4);
  train(loaded, data, 1, 4);
  check_same_weights(loaded, model);
}

TEST_CASE("saving a model that has no weights yet is an error naming the file") {
  ScratchFolder folder;
  nn::Sequential model({nn::Dense(3)});
  const std::string path = folder.file("unbuilt.model");
  CHECK_THROWS_WITH_AS(model.save(path), doctest::Contains((path + "': the model is not built").c_str()),
                       ad::Error);
  CHECK_THROWS_WITH_AS(nn::save_weights(model, path), doctest::Contains("not built"), ad::Error);
  CHECK(folder.entries().empty());
}

TEST_CASE("save_weights and load_weights carry weights between models of one architecture") {
  ScratchFolder folder;
  nn::Sequential source = classifier("sgd");
  source.build({4}, 1);
  nn::Sequential target = classifier("sgd");
  target.build({4}, 2);
  REQUIRE(target.get_weights()[0].to_vector() != source.get_weights()[0].to_vector());
  nn::save_weights(source, folder.file("w.safetensors"));
  nn::load_weights(target, folder.file("w.safetensors"));
  check_same_weights(target, source);
  // A file that cannot be written is refused by the function the user called.
  std::string missing = folder.file("no/folder/w.safetensors");
  CHECK_THROWS_WITH_AS(nn::save_weights(source, missing),
                       doctest::Contains(("save_weights: cannot create a temporary file beside '" + missing).c_str()),
                       ad::Error);
  CHECK_THROWS_WITH_AS(source.save(missing),
                       doctest::Contains(("Model::save: cannot create a temporary file beside '" + missing).c_str()),
                       ad::Error);
}

TEST_CASE("weights of another architecture are refused and the model is left untouched") {
  ScratchFolder folder;
  const std::string path = folder.file("w.safetensors");
  nn::Sequential source = classifier("sgd", 8);
  source.build({4}, 1);
  nn::save_weights(source, path);

  struct Case {
    const char* what;
    std::function<nn::Sequential()> make;
    const char* message;
  };
  const std::vector<Case> cases = {
      {"wider hidden layer", [] { return classifier("sgd", 9); },
       "'dense/kernel' has shape [4,8] in the file but [4,9] in the model"},
      {"another layer name",
       [] {
         nn::Dense hidden(8, {.activation = "relu", .input_shape = {4}});
         hidden.set_name("hidden");
         return nn::Sequential({hidden, nn::Dense(3, "softmax")});
       },
       "'hidden/kernel' [4,8] is missing"},
      {"a missing layer", [] { return nn::Sequential({nn::Dense(8, {.input_shape = {4}})}); },
       "'dense_1/kernel' [8,3] is in the file but not in the model"},
      {"an extra layer",
       [] {
         return nn::Sequential({nn::Dense(8, {.activation = "relu", .input_shape = {4}}),
                                nn::Dense(3), nn::Dense(2)});
       },
       "'dense_2/kernel' [3,2] is missing"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.what);
    nn::Sequential target = c.make();
    if (!target.built()) target.build({4}, 2);
    const std::vector<Tensor> before = target.get_weights();
    CHECK_THROWS_WITH_AS(nn::load_weights(target, path), doctest::Contains(c.message), ad::Error);
    CHECK_THROWS_WITH_AS(nn::load_weights(target, path), doctest::Contains(path.c_str()), ad::Error);
    const std::vector<Tensor> after = target.get_weights();
    for (size_t i = 0; i < before.size(); ++i) CHECK(after[i].to_vector() == before[i].to_vector());
  }
}

TEST_CASE("a model file that does not match its own config is refused naming the problem") {
  ScratchFolder folder;
  const Classification data = classification(32, 1);
  nn::Sequential model = classifier(nn::SGD(0.05, {.momentum = 0.9}));
  train(model, data, 1, 3);
  const std::string path = folder.file("model.model");

  struct Case {
    const char* what;
    std::function<void(nn::SafetensorsFile&)> edit;
    const char* message;
  };
  auto drop = [](const std::string& name) {
    return [name](nn::SafetensorsFile& f) {
      std::erase_if(f.tensors, [&](const nn::NamedTensor& t) { return t.name == name; });
    };
  };
  auto replace = [](const std::string& name, Tensor value) {
    return [name, value](nn::SafetensorsFile& f) {
      for (nn::NamedTensor& t : f.tensors)
        if (t.name == name) t.tensor = value;
    };
  };
  const std::vector<Case> cases = {
      {"a weight missing", drop("dense_1/bias"), "the file lacks weights the config needs: 'dense_1/bias' [3]"},
      {"a weight of another shape", replace("dense/kernel", Tensor::zeros({4, 9})),
       "layer 'dense' (Dense) weight 'kernel' has shape [4,8] by the config (inputs [4] per sample) but [4,9] "
       "in the file"},
      {"an unknown weight",
       [](nn::SafetensorsFile& f) { f.tensors.push_back({"dense_7/kernel", Tensor::zeros({1})}); },
       "'dense_7/kernel' [1] is in the file but not in the model"},
      {"an optimizer slot missing", drop("optimizer/dense/bias/momentum"),
       "optimizer slots do not match the model: 'optimizer/dense/bias/momentum' [8] is missing"},
      {"an optimizer slot of another shape", replace("optimizer/dense/kernel/momentum", Tensor::zeros({2})),
       "'optimizer/dense/kernel/momentum' has shape [2] in the file but [4,8]"},
      {"no format", [](nn::SafetensorsFile& f) { f.metadata.erase("format"); }, "has no \"format\""},
      {"another format", [](nn::SafetensorsFile& f) { f.metadata["format"] = "pickle"; },
       "format is 'pickle'"},
      {"a newer version", [](nn::SafetensorsFile& f) { f.metadata["format_version"] = "10"; },
       "format version '10'"},
      {"no config", [](nn::SafetensorsFile& f) { f.metadata.erase("config"); }, "has no \"config\""},
      {"config not JSON", [](nn::SafetensorsFile& f) { f.metadata["config"] = "{\"layers\": ["; },
       "the saved config is not valid JSON"},
      {"config with an unknown layer",
       [](nn::SafetensorsFile& f) {
         nn::Json config = nn::Json::parse(f.metadata["config"]);
         config["layers"][0]["type"] = "Conv9D";
         f.metadata["config"] = config.dump();
       },
       "cannot rebuild the model from its config: layer_from_config: unknown layer type 'Conv9D'"},
      {"config with other sizes",
       [](nn::SafetensorsFile& f) {
         nn::Json config = nn::Json::parse(f.metadata["config"]);
         config["layers"][1]["units"] = 5;
         f.metadata["config"] = config.dump();
       },
       "layer 'dense_1' (Dense) weight 'kernel' has shape [8,5] by the config (inputs [8] per sample) but [8,3] "
       "in the file"},
      {"iterations not a count", [](nn::SafetensorsFile& f) { f.metadata["optimizer_iterations"] = "2x"; },
       "optimizer_iterations is '2x', not a count"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.what);
    model.save(path);
    rewrite(path, c.edit);
    CHECK_THROWS_WITH_AS(nn::load_model(path), doctest::Contains(c.message), ad::Error);
    CHECK_THROWS_WITH_AS(nn::load_model(path), doctest::Contains(path.c_str()), ad::Error);
  }
}

// The messages lead with the function the user called and name the file, also when the file
// is no safetensors file at all or its config rebuilds a model without layers.
TEST_CASE("load_model's and load_weights' errors start with their own name and name the file") {
  ScratchFolder folder;
  const std::string junk = folder.file("junk.model");
  tests::write_text(junk, "abc");
  CHECK_THROWS_WITH_AS(nn::load_model(junk), doctest::Contains(("load_model: load_safetensors: '" + junk).c_str()),
                       ad::Error);
  nn::Sequential model({nn::Dense(2, {.input_shape = {3}})});
  CHECK_THROWS_WITH_AS(nn::load_weights(model, junk),
                       doctest::Contains(("load_weights: load_safetensors: '" + junk).c_str()), ad::Error);

  const std::string empty = folder.file("empty.model");
  nn::save_safetensors(empty, {},
                       {{"format", "tapegrad.sequential"},
                        {"format_version", "1"},
                        {"config", R"({"name": "sequential", "layers": [], "input_shape": [3]})"}});
  std::string message;
  try {
    nn::load_model(empty);
  } catch (const ad::Error& e) {
    message = e.what();
  }
  CAPTURE(message);
  CHECK(message.starts_with("load_model: '" + empty + "': cannot rebuild the model from its config"));
  CHECK(message.find("no layers") != std::string::npos);
}

TEST_CASE("a small model file whose config claims huge or bad sizes is refused before anything is allocated") {
  ScratchFolder folder;
  nn::Sequential model({nn::Dense(3, {.activation = "relu", .input_shape = {4}}), nn::Dense(2)});
  model.compile({.loss = "mse", .optimizer = "adam"});
  model.build({4});
  const std::string path = folder.file("small.model");

  struct Case {
    const char* what;
    std::function<void(nn::Json&)> edit;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"units 3e8", [](nn::Json& c) { c["layers"][0]["units"] = 300'000'000; },
       "layer 'dense' (Dense) weight 'kernel' has shape [4,300000000] by the config (inputs [4] per sample) but "
       "[4,3] in the file"},
      {"units 3e8 in the last layer", [](nn::Json& c) { c["layers"][1]["units"] = 300'000'000; },
       "layer 'dense_1' (Dense) weight 'kernel' has shape [3,300000000]"},
      {"input_shape 1e9", [](nn::Json& c) { c["input_shape"] = {1'000'000'000}; },
       "weight 'kernel' has shape [1000000000,3] by the config"},
      {"a layer's input_shape 1e9",
       [](nn::Json& c) {
         c["layers"][0]["input_shape"] = {1'000'000'000};
         c["input_shape"] = {1'000'000'000};
       },
       "weight 'kernel' has shape [1000000000,3] by the config"},
      {"a Flatten of 1e9 x 1e9 x 1e9",
       [](nn::Json& c) {
         c["layers"].insert(c["layers"].begin(), nn::Json{{"type", "Flatten"}, {"name", "flatten"}});
         c["input_shape"] = {1'000'000'000, 1'000'000'000, 1'000'000'000};
       },
       "Flatten: element count of shape [1000000000,1000000000,1000000000] overflows"},
      {"units 0", [](nn::Json& c) { c["layers"][0]["units"] = 0; }, "Dense: units must be positive, got 0"},
      {"units -3", [](nn::Json& c) { c["layers"][0]["units"] = -3; }, "Dense: units must be positive, got -3"},
      {"units 2^64 - 1", [](nn::Json& c) { c["layers"][0]["units"] = UINT64_MAX; },
       "Dense config: field 'units' is 18446744073709551615, beyond the int64 range"},
      {"units 1.5", [](nn::Json& c) { c["layers"][0]["units"] = 1.5; },
       "Dense config: field 'units' must be an integer, got 1.5"},
      {"units \"3\"", [](nn::Json& c) { c["layers"][0]["units"] = "3"; },
       "Dense config: field 'units' must be an integer, got \"3\""},
      {"input_shape with 0", [](nn::Json& c) { c["input_shape"] = {0}; },
       "field 'input_shape' must hold positive integers, got [0]"},
      {"input_shape with -4", [](nn::Json& c) { c["input_shape"] = {-4}; },
       "field 'input_shape' must hold positive integers, got [-4]"},
      {"input_shape 2^63", [](nn::Json& c) { c["input_shape"] = {uint64_t{1} << 63}; },
       "field 'input_shape' must hold positive integers, got [9223372036854775808]"},
      {"input_shape a string", [](nn::Json& c) { c["input_shape"] = "4"; },
       "field 'input_shape' must be a list of dimensions, got \"4\""},
      {"no input_shape", [](nn::Json& c) { c.erase("input_shape"); }, "the saved config has no input shape"},
      {"use_bias a number", [](nn::Json& c) { c["layers"][0]["use_bias"] = 1; },
       "field 'use_bias' must be true or false, got 1"},
      {"learning_rate negative", [](nn::Json& c) { c["compile"]["optimizer"]["learning_rate"] = -1; },
       "Adam: learning_rate must be a number >= 0 that a float holds (below 3.4e38), got -1"},
      {"learning_rate a string", [](nn::Json& c) { c["compile"]["optimizer"]["learning_rate"] = "fast"; },
       "field 'learning_rate' must be a number, got \"fast\""},
      {"iterations negative", [](nn::Json& c) { c["compile"]["optimizer"]["iterations"] = -5; },
       "Adam config: iterations must be >= 0, got -5"},
      {"layers not a list", [](nn::Json& c) { c["layers"] = 7; }, "'layers' must be a list"},
      {"the config a number", [](nn::Json& c) { c = 12; }, "Sequential config: must be a JSON object, got 12"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.what);
    model.save(path);
    rewrite(path, [&](nn::SafetensorsFile& f) {
      nn::Json config = nn::Json::parse(f.metadata["config"]);
      c.edit(config);
      f.metadata["config"] = config.dump();
    });
    // The file is a few kB: 64 MB of headroom is plenty for the checks, and far from the
    // gigabytes the claimed sizes would take.
    const std::string outcome = tests::run_with_memory_limit(64 << 20, [&] { nn::load_model(path); });
    CHECK(outcome.starts_with("ad::Error: load_model: '" + path + "': "));
    CHECK(outcome.find(c.message) != std::string::npos);
    if (outcome.find(c.message) == std::string::npos) MESSAGE(outcome);
  }
}

namespace {

// A user-defined layer whose config holds a string that is not UTF-8: saving must say so.
class Annotated : public nn::Layer {
 public:
  std::string type() const override { return "Annotated"; }
  nn::Shape output_shape(const nn::Shape& input_shape) const override { return input_shape; }
  ad::Var call(const ad::Var& x) override { return x; }
  nn::Json get_config() const override { return {{"type", type()}, {"name", name()}, {"note", "caf\xe9"}}; }

 protected:
  void build_weights(const nn::Shape& /*input_shape*/, ad::Rng& /*rng*/) override {}
};

}  // namespace

TEST_CASE("saving a model whose config holds text that is not UTF-8 is the library's error, naming the field") {
  ScratchFolder folder;
  const std::string path = folder.file("model.model");
  nn::Sequential model({nn::Dense(2, {.input_shape = {3}}), nn::LayerPtr(std::make_shared<Annotated>())});
  model.build({3});
  CHECK_THROWS_WITH_AS(model.save(path),
                       doctest::Contains(("Sequential::save: '" + path + "': the model's config: the string at "
                                         "/layers/1/note is not valid UTF-8 (byte 3 of \"caf\\xe9\")").c_str()),
                       ad::Error);
  CHECK(folder.entries().empty());
}

TEST_CASE("a truncated or missing model file gives an error naming it") {
  ScratchFolder folder;
  nn::Sequential model = classifier("adam");
  model.build({4}, 1);
  const std::string path = folder.file("model.model");
  model.save(path);
  const std::string whole = tests::read_text(path);
  tests::write_text(path, whole.substr(0, whole.size() / 2));
  CHECK_THROWS_WITH_AS(nn::load_model(path), doctest::Contains(path.c_str()), ad::Error);
  CHECK_THROWS_WITH_AS(nn::load_model(folder.file("absent.model")),
                       doctest::Contains("absent.model': no such file"), ad::Error);
}

TEST_CASE("saving over an earlier model replaces it whole") {
  ScratchFolder folder;
  const std::string path = folder.file("model.model");
  nn::Sequential small = classifier("sgd", 2);
  small.build({4}, 1);
  small.save(path);
  nn::Sequential big = classifier("sgd", 16);
  big.build({4}, 1);
  big.save(path);
  CHECK(nn::load_model(path).parameter_count() == big.parameter_count());
  CHECK(folder.entries() == std::vector<std::string>{"model.model"});
}

TEST_CASE("what a temporary loaded model hands out outlives it") {
  ScratchFolder folder;
  const std::string path = folder.file("model.model");
  nn::Sequential model = classifier("adam");
  model.build({4}, 1);
  model.save(path);
  // Handles and copies, not references into the temporary model.
  static_assert(std::is_same_v<decltype(nn::load_model(path).optimizer()), nn::OptimizerPtr>);
  static_assert(std::is_same_v<decltype(nn::load_model(path).layers()), std::vector<nn::LayerPtr>>);
  static_assert(std::is_same_v<decltype(nn::load_model(path).metrics()), std::vector<std::string>>);
  const nn::OptimizerPtr optimizer = nn::load_model(path).optimizer();
  CHECK(optimizer->get_config()["type"] == "Adam");
  std::vector<std::string> names;
  for (const nn::LayerPtr& layer : nn::load_model(path).layers()) names.push_back(layer->name());
  CHECK(names == std::vector<std::string>{"dense", "dense_1"});
}

TEST_CASE("save refuses layer names that load_model could not find the weights by") {
  ScratchFolder folder;
  nn::Sequential model({nn::Dense(2, {.input_shape = {3}}), nn::Dense(1)});
  model.layer(0).set_name("");
  CHECK_THROWS_WITH_AS(model.save(folder.file("m.model")), doctest::Contains("a Dense layer has an empty name"), ad::Error);
  model.layer(0).set_name("dense_1");
  CHECK_THROWS_WITH_AS(model.save(folder.file("m.model")), doctest::Contains("two layers are named 'dense_1'"), ad::Error);
  model.layer(0).set_name("first");
  model.save(folder.file("m.model"));
  CHECK(nn::load_model(folder.file("m.model")).layer(0)->name() == "first");
}
