#include "tapegrad/version.h"

#include <doctest/doctest.h>
#include <fmt/format.h>

#include <string>

TEST_CASE("TAPEGRAD_VERSION spells the numeric version parts and is the project's version") {
  std::string parts = fmt::format("{}.{}.{}", TAPEGRAD_VERSION_MAJOR, TAPEGRAD_VERSION_MINOR, TAPEGRAD_VERSION_PATCH);
  CHECK(std::string(TAPEGRAD_VERSION) == parts);
  CHECK(std::string(TAPEGRAD_VERSION) == TAPEGRAD_TEST_PROJECT_VERSION);
}
