#include "tapegrad/interop/keras.h"

#include <doctest/doctest.h>
#include <sys/stat.h>

#include <hdf5.h>

#include <cmath>
#include <fstream>
#include <functional>
#include <iterator>

#include "tapegrad/interop/hdf5_image.h"
#include "tapegrad/interop/zip_archive.h"
#include "tapegrad/nn/atomic_file.h"
#include "tapegrad/nn/layers/all.h"
#include "tests/nn/scratch_folder.h"

namespace {

using nlohmann::json;
using tests::ScratchFolder;

nn::Sequential trained_classifier() {
  nn::Sequential model({nn::Flatten({2, 3}), nn::Dense(5, "relu"), nn::Dense(3, "softmax")});
  ad::Rng rng(3);
  ad::Tensor x = ad::Tensor::uniform({40, 2, 3}, -1, 1, rng), y = ad::Tensor::zeros({40});
  for (int64_t i = 0; i < 40; ++i) y[i] = static_cast<float>(i % 3);
  model.compile({.loss = "sparse_categorical_crossentropy", .optimizer = "adam"});
  model.fit(x, y, {.epochs = 2, .batch_size = 8, .verbose = 0});
  return model;
}

void check_same_predictions(nn::Sequential& a, nn::Sequential& b, const ad::Shape& sample) {
  ad::Rng rng(9);
  ad::Shape shape{7};
  shape.insert(shape.end(), sample.begin(), sample.end());
  ad::Tensor x = ad::Tensor::uniform(shape, -2, 2, rng);
  ad::Tensor pa = a.predict(x), pb = b.predict(x);
  REQUIRE(pa.shape() == pb.shape());
  for (int64_t i = 0; i < pa.size(); ++i) CHECK(pa[i] == pb[i]);
}

// A .keras archive with the given entries, as a file in `folder`.
std::string archive(ScratchFolder& folder, const std::vector<std::pair<std::string, std::string>>& entries) {
  interop::ZipWriter zip;
  for (const auto& [name, bytes] : entries) zip.add(name, bytes);
  std::string path = folder.file("crafted.keras");
  nn::write_file_atomically(path, zip.finish());
  return path;
}

// The entries of a saved model, to be altered one at a time.
struct Saved {
  json config;
  std::string metadata, weights;
};

Saved saved_parts(ScratchFolder& folder, nn::Sequential& model) {
  std::string path = folder.file("original.keras");
  interop::save_keras(model, path);
  interop::ZipReader zip(path);
  return {json::parse(zip.read("config.json", 1 << 20)), zip.read("metadata.json", 1 << 20),
          zip.read("model.weights.h5", 1 << 20)};
}

// model.weights.h5 for a Dense(3) on 4 inputs whose kernel dataset is `kernel`.
std::string dense_weights(const ad::Tensor& kernel) {
  interop::Hdf5Writer h5;
  h5.group("layers/dense/vars", "dense");
  h5.write_floats("layers/dense/vars/0", kernel);
  h5.write_floats("layers/dense/vars/1", ad::Tensor::zeros({3}));
  return h5.finish();
}

json dense_config(int64_t units = 3, const std::string& activation = "relu") {
  return {{"module", "keras"},
          {"class_name", "Sequential"},
          {"config",
           {{"name", "sequential"},
            {"layers", json::array({{{"class_name", "InputLayer"}, {"config", {{"batch_shape", {nullptr, 4}}}}},
                                    {{"class_name", "Dense"},
                                     {"config", {{"name", "d"}, {"units", units}, {"activation", activation}}}}})}}}};
}

}  // namespace

TEST_CASE("a saved .keras archive holds Keras' three entries in Keras' layout") {
  ScratchFolder folder;
  nn::Sequential model = trained_classifier();
  Saved parts = saved_parts(folder, model);
  CHECK(parts.config["class_name"] == "Sequential");
  CHECK(parts.config["module"] == "keras");
  const json& layers = parts.config["config"]["layers"];
  REQUIRE(layers.size() == 4);  // the input shape becomes an InputLayer, as Keras' own configs have
  CHECK(layers[0]["class_name"] == "InputLayer");
  CHECK(layers[0]["config"]["batch_shape"] == json::array({nullptr, 2, 3}));
  CHECK(layers[1]["class_name"] == "Flatten");
  CHECK(layers[2]["config"]["units"] == 5);
  CHECK(layers[2]["config"]["activation"] == "relu");
  CHECK(layers[2]["build_config"]["input_shape"] == json::array({nullptr, 6}));
  CHECK(layers[3]["config"]["activation"] == "softmax");
  CHECK(json::parse(parts.metadata)["keras_version"].get<std::string>().rfind("3.", 0) == 0);

  // Weights by class name and repeat, as Keras names them: dense, dense_1.
  interop::Hdf5Reader h5(parts.weights, "weights");
  CHECK(h5.members("layers") == std::vector<std::string>{"dense", "dense_1", "flatten"});
  auto& first = dynamic_cast<nn::Dense&>(model.layer(1));
  ad::Tensor kernel = h5.read_floats("layers/dense/vars/0", {6, 5});
  for (int64_t i = 0; i < kernel.size(); ++i) CHECK(kernel[i] == first.kernel().value()[i]);
  CHECK(h5.members("layers/dense_1/vars") == std::vector<std::string>{"0", "1"});
}

TEST_CASE("save_keras then load_keras predicts exactly as the original") {
  ScratchFolder folder;
  SUBCASE("classifier with Flatten") {
    nn::Sequential model = trained_classifier();
    interop::save_keras(model, folder.file("m.keras"));
    nn::Sequential again = interop::load_keras(folder.file("m.keras"));
    // Keras' config always starts with an InputLayer, which comes back as the model's
    // input_layer() (layers() leaves it out, as Keras' model.layers does).
    std::vector<std::string> types;
    for (const nn::LayerPtr& layer : again.layers()) types.push_back(layer->type());
    CHECK(types == std::vector<std::string>{"Flatten", "Dense", "Dense"});
    REQUIRE(again.input_layer() != nullptr);
    CHECK(again.input_layer()->type() == "InputLayer");
    CHECK(again.layer(1).name() == model.layer(1).name());
    check_same_predictions(model, again, {2, 3});
  }
  SUBCASE("regression with an InputLayer, tanh, sigmoid, softplus, an Activation layer, no bias") {
    nn::Sequential model({nn::InputLayer({4}), nn::Dense(6, "tanh"), nn::Dense(5, "sigmoid"),
                          nn::Dense(4, {.activation = "softplus", .use_bias = false}), nn::Dense(2),
                          nn::Activation("relu")});
    model.build({4}, 5);
    interop::save_keras(model, folder.file("r.keras"));
    nn::Sequential again = interop::load_keras(folder.file("r.keras"));
    REQUIRE(again.input_layer() != nullptr);
    CHECK(again.input_layer()->name() == model.input_layer()->name());
    CHECK(!dynamic_cast<nn::Dense&>(again.layer(2)).use_bias());
    check_same_predictions(model, again, {4});
  }
}

TEST_CASE("a Keras Dropout loads as the identity under its own name") {
  ScratchFolder folder;
  json config = dense_config();
  config["config"]["layers"].push_back({{"class_name", "Dropout"}, {"config", {{"name", "drop"}, {"rate", 0.5}}}});
  ad::Rng rng(1);
  ad::Tensor kernel = ad::Tensor::uniform({4, 3}, -1, 1, rng);
  nn::Sequential model = interop::load_keras(archive(folder, {{"config.json", config.dump()},
                                                              {"model.weights.h5", dense_weights(kernel)}}));
  REQUIRE(model.layers().size() == 2);  // Dense, Dropout (the InputLayer is input_layer())
  CHECK(model.layer(1).name() == "drop");
  CHECK(model.layer(1).output_activation() == "linear");
  ad::Tensor x = ad::Tensor::uniform({2, 4}, -1, 1, rng);
  ad::Tensor y = model.predict(x);
  for (int64_t r = 0; r < 2; ++r)
    for (int64_t c = 0; c < 3; ++c) {
      float z = 0;
      for (int64_t k = 0; k < 4; ++k) z += x[r * 4 + k] * kernel[k * 3 + c];
      CHECK(y[r * 3 + c] == doctest::Approx(std::max(z, 0.f)).epsilon(1e-6));
    }
}

TEST_CASE("load_keras refuses bad archives with errors naming the file, layer and problem") {
  ScratchFolder folder;
  ad::Tensor kernel = ad::Tensor::ones({4, 3});
  std::string weights = dense_weights(kernel);
  auto load = [&](const json& config, const std::string& h5) {
    return interop::load_keras(archive(folder, {{"config.json", config.dump()}, {"model.weights.h5", h5}}));
  };
  CHECK_NOTHROW(load(dense_config(), weights));

  CHECK_THROWS_WITH_AS(interop::load_keras(folder.file("missing.keras")), doctest::Contains("no such file"), ad::Error);
  {
    std::ofstream(folder.file("text.keras")) << "not a zip";
    CHECK_THROWS_WITH_AS(interop::load_keras(folder.file("text.keras")),
                         doctest::Contains(("load_keras: '" + folder.file("text.keras") + "': ZipReader").c_str()),
                         ad::Error);
  }
  CHECK_THROWS_WITH_AS(interop::load_keras(archive(folder, {{"config.json", dense_config().dump()}})),
                       doctest::Contains("no model.weights.h5"), ad::Error);
  CHECK_THROWS_WITH_AS(interop::load_keras(archive(folder, {{"config.json", "{oops"}, {"model.weights.h5", weights}})),
                       doctest::Contains("config.json is not valid JSON"), ad::Error);
  json functional = dense_config();
  functional["class_name"] = "Functional";
  CHECK_THROWS_WITH_AS(load(functional, weights), doctest::Contains("only Sequential"), ad::Error);
  json conv = dense_config();
  conv["config"]["layers"].push_back({{"class_name", "Conv2D"}, {"config", {{"name", "c"}}}});
  CHECK_THROWS_WITH_AS(load(conv, weights), doctest::Contains("layer 'c' (Conv2D)"), ad::Error);
  CHECK_THROWS_WITH_AS(load(dense_config(3, "mish"), weights), doctest::Contains("layer 'd' (Dense): activation 'mish'"),
                       ad::Error);
  json no_shape = dense_config();
  no_shape["config"]["layers"].erase(0);
  CHECK_THROWS_WITH_AS(load(no_shape, weights), doctest::Contains("without an input shape"), ad::Error);
  // A layer that refuses its input shape (a Dense after an input of rank 2) is named with the file.
  json rank_two = dense_config();
  rank_two["config"]["layers"][0]["config"]["batch_shape"] = {nullptr, 2, 3};
  CHECK_THROWS_WITH_AS(load(rank_two, weights), doctest::Contains("load_keras: '"), ad::Error);
  json bad_units = dense_config();
  bad_units["config"]["layers"][1]["config"]["units"] = -3;
  CHECK_THROWS_WITH_AS(load(bad_units, weights), doctest::Contains("units -3"), ad::Error);

  // The config's shapes are checked against the file before anything of that size is made.
  CHECK_THROWS_WITH_AS(load(dense_config(1'000'000'000), weights),
                       doctest::Contains("shape [4,3], the model needs [4,1000000000]"), ad::Error);
  CHECK_THROWS_WITH_AS(load(dense_config(), dense_weights(ad::Tensor::ones({3, 4}))),
                       doctest::Contains("'layers/dense/vars/0' has shape [3,4], the model needs [4,3]"), ad::Error);
  {
    interop::Hdf5Writer h5;
    h5.group("layers/dense/vars", "d");
    h5.write_floats("layers/dense/vars/0", kernel);
    CHECK_THROWS_WITH_AS(load(dense_config(), h5.finish()), doctest::Contains("has 2 variables, but model.weights.h5 holds [0]"),
                         ad::Error);
  }
  CHECK_THROWS_WITH_AS(load(dense_config(), "not hdf5"), doctest::Contains("not a readable HDF5 file"), ad::Error);

  // A folder or a FIFO under the name; a layer name that is not text (it was replaced by a
  // default); two layers of one name (the message lacked the file).
  CHECK_THROWS_WITH_AS(interop::load_keras(folder.path().string()), doctest::Contains("is a folder, not a file"),
                       ad::Error);
  REQUIRE(::mkfifo(folder.file("pipe.keras").c_str(), 0600) == 0);
  CHECK_THROWS_WITH_AS(interop::load_keras(folder.file("pipe.keras")), doctest::Contains("not a regular file"), ad::Error);
  json numbered = dense_config();
  numbered["config"]["layers"][1]["config"]["name"] = 7;
  CHECK_THROWS_WITH_AS(load(numbered, weights), doctest::Contains("layer 1: name 7 is not a string"), ad::Error);
  json twice = dense_config();
  twice["config"]["layers"].push_back(twice["config"]["layers"][1]);
  twice["config"]["layers"][2]["config"]["units"] = 3;
  interop::Hdf5Writer two;
  for (const char* group : {"layers/dense", "layers/dense_1"}) {
    two.group(fmt::format("{}/vars", group), "d");
    two.write_floats(fmt::format("{}/vars/0", group), group == std::string("layers/dense") ? kernel : ad::Tensor::ones({3, 3}));
    two.write_floats(fmt::format("{}/vars/1", group), ad::Tensor::zeros({3}));
  }
  CHECK_THROWS_WITH_AS(load(twice, two.finish()),
                       doctest::Contains(("load_keras: '" + folder.file("crafted.keras") +
                                          "': Sequential.add: layer name 'd' is already used").c_str()),
                       ad::Error);
}

TEST_CASE("load_keras reads float64 weights and refuses integer ones and shapes without stored data") {
  ScratchFolder folder;
  // Datasets written with HDF5 directly, as other tools may write them.
  auto weights_with = [](hid_t kernel_type, bool write_kernel) {
    hid_t access = H5Pcreate(H5P_FILE_ACCESS);
    H5Pset_fapl_core(access, 1 << 16, 0);
    hid_t file = H5Fcreate("w.h5", H5F_ACC_TRUNC, H5P_DEFAULT, access);
    hid_t links = H5Pcreate(H5P_LINK_CREATE);
    H5Pset_create_intermediate_group(links, 1);
    H5Gclose(H5Gcreate2(file, "layers/dense/vars", links, H5P_DEFAULT, H5P_DEFAULT));
    hsize_t kernel_dims[2] = {4, 3}, bias_dims[1] = {3};
    hid_t kernel_space = H5Screate_simple(2, kernel_dims, nullptr), bias_space = H5Screate_simple(1, bias_dims, nullptr);
    hid_t k = H5Dcreate2(file, "layers/dense/vars/0", kernel_type, kernel_space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    double values[12];
    for (int i = 0; i < 12; ++i) values[i] = 0.25 * i;
    if (write_kernel) H5Dwrite(k, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, values);
    hid_t b = H5Dcreate2(file, "layers/dense/vars/1", H5T_IEEE_F32LE, bias_space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    float zeros[3] = {0, 0, 0};
    H5Dwrite(b, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, zeros);
    H5Dclose(k), H5Dclose(b), H5Sclose(kernel_space), H5Sclose(bias_space), H5Pclose(links);
    H5Fflush(file, H5F_SCOPE_GLOBAL);
    std::string bytes(static_cast<size_t>(H5Fget_file_image(file, nullptr, 0)), '\0');
    H5Fget_file_image(file, bytes.data(), bytes.size());
    H5Fclose(file), H5Pclose(access);
    return bytes;
  };
  auto load = [&](const std::string& h5) {
    return interop::load_keras(archive(folder, {{"config.json", dense_config(3, "linear").dump()}, {"model.weights.h5", h5}}));
  };
  nn::Sequential model = load(weights_with(H5T_IEEE_F64LE, true));
  ad::Tensor y = model.predict(ad::Tensor::from({1, 4}, {1, 0, 0, 1}));
  CHECK(y[0] == doctest::Approx(0.0 + 2.25));  // kernel rows 0 and 3, column 0: 0 and 9 * 0.25
  CHECK_THROWS_WITH_AS(load(weights_with(H5T_STD_I32LE, true)), doctest::Contains("non-float"), ad::Error);
  CHECK_THROWS_WITH_AS(load(weights_with(H5T_IEEE_F32LE, false)), doctest::Contains("needs 48 bytes but stores 0"),
                       ad::Error);
}

// libzip checks an entry's CRC-32 only when a read reaches the end of its data; reading exactly
// the declared size stopped short of it, so a flipped byte in the weights loaded silently.
TEST_CASE("a byte changed inside an archive entry is caught by its CRC-32, in the reader and in load_keras") {
  ScratchFolder folder;
  auto flip_in_file = [](const std::string& path, const std::string& needle) {
    std::string bytes = tests::read_text(path);
    size_t at = bytes.find(needle);
    REQUIRE(at != std::string::npos);
    bytes[at + needle.size() / 2] ^= 0x01;
    nn::write_file_atomically(path, bytes);
  };
  const std::string payload = "a payload long enough to find again in the archive";
  std::string path = archive(folder, {{"note.txt", payload}});
  CHECK(interop::ZipReader(path).read("note.txt", 1 << 20) == payload);
  flip_in_file(path, payload);
  CHECK_THROWS_WITH_AS(interop::ZipReader(path).read("note.txt", 1 << 20),
                       doctest::Contains("entry 'note.txt': CRC error"), ad::Error);

  nn::Sequential model = trained_classifier();
  Saved parts = saved_parts(folder, model);
  std::string keras = folder.file("m.keras");
  interop::save_keras(model, keras);
  // A stretch of the stored weights (the archive stores entries uncompressed, as Keras does).
  flip_in_file(keras, parts.weights.substr(parts.weights.size() - 64, 32));
  CHECK_THROWS_WITH_AS(interop::load_keras(keras), doctest::Contains("CRC error"), ad::Error);
}

TEST_CASE("an archive entry larger than its limit is refused before it is read") {
  ScratchFolder folder;
  nn::Sequential model = trained_classifier();
  interop::save_keras(model, folder.file("m.keras"));
  CHECK_THROWS_WITH_AS(interop::load_keras(folder.file("m.keras"), {.max_weights_bytes = 100}),
                       doctest::Contains("more than the limit of 100"), ad::Error);
}

TEST_CASE("save_keras refuses an unbuilt model and names Keras cannot read, and replaces a file atomically") {
  ScratchFolder folder;
  nn::Sequential unbuilt({nn::Dense(3)});
  CHECK_THROWS_WITH_AS(interop::save_keras(unbuilt, folder.file("u.keras")), doctest::Contains("not built"), ad::Error);
  CHECK(folder.entries().empty());
  nn::Sequential model = trained_classifier();
  interop::save_keras(model, folder.file("m.keras"));
  interop::save_keras(model, folder.file("m.keras"));
  CHECK(folder.entries() == std::vector<std::string>{"m.keras"});
  std::string missing = folder.file("no/folder/m.keras");
  CHECK_THROWS_WITH_AS(interop::save_keras(model, missing),
                       doctest::Contains(("save_keras: cannot create a temporary file beside '" + missing).c_str()),
                       ad::Error);
  model.layer(1).set_name("block/dense");
  CHECK_THROWS_WITH_AS(interop::save_keras(model, folder.file("n.keras")), doctest::Contains("'block/dense'"),
                       ad::Error);
  model.layer(1).set_name(model.layer(0).name());
  CHECK_THROWS_WITH_AS(interop::save_keras(model, folder.file("n.keras")),
                       doctest::Contains("save_keras: two layers are named"), ad::Error);
  nn::Sequential slash({nn::InputLayer({3}), nn::Dense(2)}, "a/b");
  CHECK_THROWS_WITH_AS(interop::save_keras(slash, folder.file("s.keras")),
                       doctest::Contains("save_keras: the model's name 'a/b' cannot contain '/'"), ad::Error);
  CHECK(folder.entries() == std::vector<std::string>{"m.keras"});
}

TEST_CASE("save_keras names its InputLayer apart from a layer called input_layer, and the archive loads back") {
  // The model has no InputLayer of its own: the one written for Keras takes Keras' next free name.
  ScratchFolder folder;
  nn::Sequential model({nn::Dense(2)});
  model.layers()[0]->set_name("input_layer");
  model.build({3}, 1);
  interop::save_keras(model, folder.file("m.keras"));
  nn::Sequential loaded = interop::load_keras(folder.file("m.keras"));
  ad::Tensor x = ad::Tensor::from({2, 3}, {1, 2, 3, -1, 0.5f, 2});
  CHECK(ad::max_abs_difference(loaded.predict(x), model.predict(x)) == 0.f);
  CHECK(loaded.layer(0).name() == "input_layer");
}

TEST_CASE("a truncated archive or weights file is refused, wherever it was cut") {
  ScratchFolder folder;
  nn::Sequential model = trained_classifier();
  interop::save_keras(model, folder.file("m.keras"));
  std::string whole;
  {
    std::ifstream in(folder.file("m.keras"), std::ios::binary);
    whole.assign(std::istreambuf_iterator<char>(in), {});
  }
  for (size_t cut : {size_t{0}, size_t{10}, whole.size() / 3, whole.size() / 2, whole.size() - 30, whole.size() - 1}) {
    CAPTURE(cut);
    nn::write_file_atomically(folder.file("cut.keras"), whole.substr(0, cut));
    CHECK_THROWS_AS(interop::load_keras(folder.file("cut.keras")), ad::Error);
  }
  // A whole archive around a cut weights file.
  Saved parts = saved_parts(folder, model);
  for (size_t cut : {size_t{0}, size_t{100}, parts.weights.size() / 2, parts.weights.size() - 8}) {
    CAPTURE(cut);
    std::string path = archive(folder, {{"config.json", parts.config.dump()}, {"model.weights.h5", parts.weights.substr(0, cut)}});
    CHECK_THROWS_AS(interop::load_keras(path), ad::Error);
  }
}

TEST_CASE("config fields of the wrong type are refused naming the layer and field") {
  ScratchFolder folder;
  std::string weights = dense_weights(ad::Tensor::ones({4, 3}));
  struct Case {
    const char* what;
    std::function<void(json&)> spoil;
    const char* message;
  };
  const std::vector<Case> cases = {
      {"units as text", [](json& c) { c["config"]["layers"][1]["config"]["units"] = "3"; }, "units \"3\""},
      {"activation as a number", [](json& c) { c["config"]["layers"][1]["config"]["activation"] = 5; }, "activation 5"},
      {"use_bias as text", [](json& c) { c["config"]["layers"][1]["config"]["use_bias"] = "yes"; }, "use_bias \"yes\""},
      {"batch_shape as text", [](json& c) { c["config"]["layers"][0]["config"]["batch_shape"] = "x"; }, "shape \"x\""},
      {"a zero dimension", [](json& c) { c["config"]["layers"][0]["config"]["batch_shape"] = {nullptr, 0}; },
       "dimension 1 = 0"},
      {"layers as an object", [](json& c) { c["config"]["layers"] = json::object(); }, "not a list"},
      {"a layer without class_name", [](json& c) { c["config"]["layers"][1].erase("class_name"); },
       "missing field 'class_name'"},
      {"a layer config as a list", [](json& c) { c["config"]["layers"][1]["config"] = json::array(); },
       "missing field 'units'"},
      {"the whole config as a list", [](json& c) { c = json::array(); }, "not an object"},
      {"channels_first Flatten",
       [](json& c) {
         c["config"]["layers"].push_back(
             {{"class_name", "Flatten"}, {"config", {{"name", "f"}, {"data_format", "channels_first"}}}});
       },
       "layer 'f' (Flatten): data_format"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.what);
    json config = dense_config();
    c.spoil(config);
    std::string path = archive(folder, {{"config.json", config.dump()}, {"model.weights.h5", weights}});
    CHECK_THROWS_WITH_AS(interop::load_keras(path), doctest::Contains(c.message), ad::Error);
  }
}

TEST_CASE("reading a bad weights file leaves HDF5's own error printing as it was") {
  ScratchFolder folder;
  H5E_auto2_t before = nullptr, after = nullptr;
  void* data = nullptr;
  H5Eget_auto2(H5E_DEFAULT, &before, &data);
  bool prints = before != nullptr;
  REQUIRE(prints);  // HDF5 prints its error stack by default
  std::string path = archive(folder, {{"config.json", dense_config().dump()}, {"model.weights.h5", "not hdf5"}});
  CHECK_THROWS_AS(interop::load_keras(path), ad::Error);
  H5Eget_auto2(H5E_DEFAULT, &after, &data);
  bool restored = after == before;
  CHECK(restored);
}
