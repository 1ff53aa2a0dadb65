// The loaders as fuzz targets: each entry feeds one input, as bytes, to one loader the way a
// user's file would reach it. A rejected input throws the library's own ad::Error; any other
// exception, a crash or a sanitizer report is a fault. The libFuzzer programs (fuzz_target.cpp)
// and the replay test of every committed input (replay_test.cpp) share these entries.
//
//   fuzz::run("csv", bytes);   // throws ad::Error when the CSV is refused
#pragma once
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace fuzz {

using Bytes = std::span<const uint8_t>;

struct Target {
  const char* name;  // also the folder of its inputs: tests/fuzz/corpus/<name>/, regressions/<name>/
  void (*run)(Bytes input);
};

// safetensors      nn::load_safetensors on the bytes as a file
// model            nn::load_model on the bytes as a file (safetensors + config + weights)
// model_config     nn::Sequential::from_config on the bytes as JSON (unparsable JSON is skipped)
// idx              datasets::load_idx on the bytes as a file (plain or gzip, told by content)
// idx_gzip         datasets::load_idx on the bytes gzip-compressed first: the IDX checks behind
//                  the decompressor, which mutations of compressed bytes rarely reach
// csv              datasets::parse_csv on the bytes as text; again with target "y" when a column has that name
const std::vector<Target>& targets();

// Throws std::invalid_argument for an unknown name (a fault of the caller, not of the input).
void run(std::string_view target, Bytes input);

}  // namespace fuzz
