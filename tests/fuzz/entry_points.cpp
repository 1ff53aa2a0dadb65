#include "tests/fuzz/entry_points.h"

#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <optional>
#include <stdexcept>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "tapegrad/autodiff/error.h"
#include "tapegrad/datasets/csv.h"
#include "tapegrad/datasets/idx.h"
#include "tapegrad/nn/safetensors.h"
#include "tapegrad/nn/sequential.h"

namespace fuzz {
namespace {

// The input as a file of this process, removed again after the loader has run: the file
// loaders take paths, and a real file also exercises their size checks against the disk.
class InputFile {
 public:
  InputFile(Bytes input, std::string_view suffix)
      : path_((std::filesystem::temp_directory_path() /
               fmt::format("tapegrad-fuzz-{}{}", ::getpid(), suffix)).string()) {
    std::ofstream out(path_, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(input.data()), static_cast<std::streamsize>(input.size()));
    if (!out) throw std::runtime_error("fuzz: cannot write " + path_);
  }
  ~InputFile() {
    std::error_code ignored;
    std::filesystem::remove(path_, ignored);
  }
  InputFile(const InputFile&) = delete;
  InputFile& operator=(const InputFile&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

void safetensors(Bytes input) { nn::load_safetensors(InputFile(input, ".safetensors").path()); }

void model(Bytes input) { nn::load_model(InputFile(input, ".model").path()); }

void model_config(Bytes input) {
  nlohmann::json config = nlohmann::json::parse(input.begin(), input.end(), nullptr, /*allow_exceptions=*/false);
  if (config.is_discarded()) return;  // the JSON parser is not ours to fuzz
  // A config alone cannot justify any size: a model of 3e8 units is a valid config, and building
  // it allocates what it asks for (load_model checks such a config against its file first). So
  // the input shape is held back, as load_model does, and the layers' shape rules count the
  // parameters it would have: parsing and shape arithmetic are fuzzed, never an allocation.
  std::optional<nn::Shape> input_shape;
  if (config.is_object() && config.contains("input_shape")) {
    const nlohmann::json& shape = config["input_shape"];
    if (shape.is_array()) {
      input_shape.emplace();
      for (const auto& d : shape) {
        if (!d.is_number_integer()) { input_shape.reset(); break; }
        input_shape->push_back(d.get<int64_t>());
      }
    }
    config.erase("input_shape");
  }
  nn::Sequential model = nn::Sequential::from_config(config);
  if (!input_shape) return;
  nn::Shape shape = *input_shape;
  for (const nn::LayerPtr& layer : model.layers()) {
    volatile int64_t count = layer->parameter_count_for(shape);
    (void)count;
    shape = layer->output_shape(shape);
  }
}

// The rank the header claims (its 4th byte), so that every rank is explored, not only 3.
datasets::IdxOptions options_for(Bytes idx) {
  datasets::IdxOptions options;
  if (idx.size() >= 4) options.rank = std::max(1, static_cast<int>(idx[3]));
  return options;
}

// What a user reads of a loaded array first: the item count and size (the MNIST readers do).
void use(const datasets::IdxArray& array) {
  volatile int64_t sink = array.count() + array.item_size();
  (void)sink;
}

void idx(Bytes input) {
  // Gzip data carries its own rank inside; 3 then, like the image files.
  bool gzip = input.size() >= 2 && input[0] == 0x1f && input[1] == 0x8b;
  use(datasets::load_idx(InputFile(input, ".idx").path(), gzip ? datasets::IdxOptions{} : options_for(input)));
}

std::vector<uint8_t> gzip_compress(Bytes input) {
  z_stream stream{};
  if (deflateInit2(&stream, 1, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    throw std::runtime_error("fuzz: deflateInit2 failed");
  std::vector<uint8_t> out(deflateBound(&stream, static_cast<uLong>(input.size())) + 64);
  stream.next_in = const_cast<Bytef*>(input.data());
  stream.avail_in = static_cast<uInt>(input.size());
  stream.next_out = out.data();
  stream.avail_out = static_cast<uInt>(out.size());
  int status = deflate(&stream, Z_FINISH);
  deflateEnd(&stream);
  if (status != Z_STREAM_END) throw std::runtime_error("fuzz: deflate failed");
  out.resize(stream.total_out);
  return out;
}

void idx_gzip(Bytes input) {
  std::vector<uint8_t> compressed = gzip_compress(input);
  use(datasets::load_idx(InputFile(compressed, ".idx.gz").path(), options_for(input)));
}

void csv(Bytes input) {
  std::string_view text(reinterpret_cast<const char*>(input.data()), input.size());
  datasets::CsvTable all = datasets::parse_csv(text);
  // With a target column the split into features and target runs too.
  const auto& names = all.feature_names;
  if (std::find(names.begin(), names.end(), "y") != names.end()) datasets::parse_csv(text, {.target = "y"});
}

}  // namespace

const std::vector<Target>& targets() {
  static const std::vector<Target> all = {{"safetensors", safetensors}, {"model", model},
                                          {"model_config", model_config}, {"idx", idx},
                                          {"idx_gzip", idx_gzip}, {"csv", csv}};
  return all;
}

void run(std::string_view target, Bytes input) {
  for (const Target& t : targets())
    if (target == t.name) return t.run(input);
  throw std::invalid_argument(fmt::format("fuzz::run: no target '{}'", target));
}

}  // namespace fuzz
