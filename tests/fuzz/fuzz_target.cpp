// One libFuzzer program per loader: TAPEGRAD_FUZZ_TARGET names the entry (entry_points.h).
// The library's own ad::Error is the expected answer to a bad input; any other exception
// escapes, ends in std::terminate and is reported by libFuzzer as a crash, with the input saved.
#include <cstddef>
#include <cstdint>

#include "tapegrad/autodiff/error.h"
#include "tests/fuzz/entry_points.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    fuzz::run(TAPEGRAD_FUZZ_TARGET, fuzz::Bytes(data, size));
  } catch (const ad::Error&) {
  }
  return 0;
}
