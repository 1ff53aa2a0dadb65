// Replays every committed fuzz input through the same entries as the fuzzers: the seed corpus
// (valid files and the classic broken ones) and every input that ever made a fuzzer fail
// (tests/fuzz/regressions/<target>/). Each must load or be refused with ad::Error, asking for
// no block above the fuzzers' 512 MB (allocation_limit.h); a crash, a sanitizer report or
// another exception fails the suite, in every build (g++ too).
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "tapegrad/autodiff/error.h"
#include "tests/fuzz/allocation_limit.h"
#include "tests/fuzz/entry_points.h"

namespace {

namespace fs = std::filesystem;

std::vector<uint8_t> read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::vector<fs::path> inputs_in(const fs::path& folder) {
  std::vector<fs::path> files;
  if (fs::is_directory(folder))
    for (const auto& entry : fs::directory_iterator(folder))
      if (entry.is_regular_file() && entry.path().filename().string().front() != '.') files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  return files;
}

// Returns how many inputs were replayed; each must load or throw ad::Error, and those named
// valid-* must load.
int replay(const std::string& kind) {
  int count = 0;
  for (const fuzz::Target& target : fuzz::targets()) {
    for (const fs::path& file : inputs_in(fs::path(TAPEGRAD_SOURCE_DIR) / "tests/fuzz" / kind / target.name)) {
      CAPTURE(file.string());
      std::vector<uint8_t> bytes = read_bytes(file);
      const int64_t oversized_before = fuzz::oversized_allocations();
      if (file.filename().string().starts_with("valid")) {
        // A valid seed that the loader refuses would leave the fuzzer exploring error paths only.
        CHECK_NOTHROW(target.run(bytes));
      } else {
        try {
          target.run(bytes);
        } catch (const ad::Error&) {
        }
      }
      // A request above the fuzzers' malloc limit is a fault even when the loader then throws.
      CHECK(fuzz::oversized_allocations() == oversized_before);
      ++count;
    }
  }
  return count;
}

}  // namespace

TEST_CASE("every seed input of the fuzzers loads or is refused with ad::Error") {
  // Seeds exist for every target: an empty corpus would make this test pass vacuously.
  for (const fuzz::Target& target : fuzz::targets()) {
    CAPTURE(target.name);
    CHECK_FALSE(inputs_in(fs::path(TAPEGRAD_SOURCE_DIR) / "tests/fuzz/corpus" / target.name).empty());
  }
  CHECK(replay("corpus") > 0);
}

TEST_CASE("every input that ever failed a fuzzer now loads or is refused with ad::Error") {
  replay("regressions");
}
