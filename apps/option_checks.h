// Checks of the apps' command-line values, each refusing a bad value in words that name what
// the option accepts: CLI11 prefixes the option, so a user reads
//
//   --batch-size: must be a positive integer, got 0
//   --lr: must be a positive number, got abc
//
// instead of CLI11's own "Value 0 not in range 0.000000 to 1797693...". The value is checked
// as text, before CLI11 converts it, so a word, a fraction given to an integer option, NaN,
// infinity or a number too large for the option's type are all refused with the same message.
//
//   app.add_option("--epochs", epochs)->check(apps::integer_from(1));
//   app.add_option("--outliers", share)->check(apps::number_in({.low = 0, .high = 0.99}));
//   app.add_option("--data", folder)->check(apps::existing_folder());
#pragma once
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <system_error>
#include <unistd.h>

namespace apps {

// An integer from `low` to `high` (both allowed) that fits T.
template <typename T = int>
CLI::Validator integer_from(T low, T high = std::numeric_limits<T>::max()) {
  std::string words;
  if (high == std::numeric_limits<T>::max())
    words = low == 1 ? "a positive integer" : low == 0 ? "an integer of 0 or more" : fmt::format("an integer of {} or more", low);
  else
    words = fmt::format("an integer from {} to {}", low, high);
  return CLI::Validator(
      [=](std::string& text) -> std::string {
        T value{};
        const char* end = text.data() + text.size();
        auto [stop, error] = std::from_chars(text.data(), end, value);
        if (text.empty() || error != std::errc() || stop != end || value < low || value > high)
          return fmt::format("must be {}, got {}", words, text.empty() ? "nothing" : "'" + text + "'");
        return "";
      },
      words, "INTEGER");
}

struct NumberRange {
  double low = -std::numeric_limits<double>::infinity();
  double high = std::numeric_limits<double>::infinity();
  bool low_excluded = false, high_excluded = false;
};

// A finite number in `range`.
inline CLI::Validator number_in(NumberRange range) {
  const bool no_high = std::isinf(range.high);
  std::string words;
  if (range.low == 0 && no_high)
    words = range.low_excluded ? "a positive number" : "a number of 0 or more";
  else if (no_high)
    words = fmt::format("a number {} {}", range.low_excluded ? "above" : "of at least", range.low);
  else if (range.low_excluded && range.high_excluded)
    words = fmt::format("a number between {} and {}, both excluded", range.low, range.high);
  else if (range.low_excluded || range.high_excluded)
    words = fmt::format("a number from {} to {}, {} excluded", range.low, range.high,
                        range.low_excluded ? fmt::format("{}", range.low) : fmt::format("{}", range.high));
  else
    words = fmt::format("a number from {} to {}", range.low, range.high);
  return CLI::Validator(
      [=](std::string& text) -> std::string {
        double value = 0;
        const char* end = text.data() + text.size();
        auto [stop, error] = std::from_chars(text.data(), end, value);
        const bool inside = error == std::errc() && stop == end && !text.empty() && std::isfinite(value) &&
                            (range.low_excluded ? value > range.low : value >= range.low) &&
                            (range.high_excluded ? value < range.high : value <= range.high);
        if (!inside) return fmt::format("must be {}, got {}", words, text.empty() ? "nothing" : "'" + text + "'");
        return "";
      },
      words, "NUMBER");
}

// Why the app cannot write its outputs into `folder` ("" when it can): the folder is created
// when missing, then a probe file is written and removed. Apps call it before any work, so
// that a run is not lost to an unwritable folder found only when the results are saved.
inline std::string unwritable_folder_reason(const std::string& folder_name) {
  if (folder_name.empty()) return "must name a folder, got nothing";
  const std::filesystem::path folder(folder_name);
  std::error_code error;
  std::filesystem::create_directories(folder, error);
  if (error) return fmt::format("cannot create the folder '{}': {}", folder_name, error.message());
  if (!std::filesystem::is_directory(folder, error)) return fmt::format("'{}' is not a folder", folder_name);
  const std::filesystem::path probe = folder / fmt::format(".write-probe-{}", ::getpid());
  bool written = false;
  {
    std::ofstream file(probe, std::ios::binary);
    written = file.is_open() && static_cast<bool>(file << "probe" << std::flush);
  }
  std::filesystem::remove(probe, error);
  if (!written) return fmt::format("cannot write files into the folder '{}' (no permission, or the disk is full)", folder_name);
  return "";
}

// An existing folder (a dataset's, say).
inline CLI::Validator existing_folder() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        std::error_code error;
        if (!std::filesystem::is_directory(text, error))
          return fmt::format("must be an existing folder, got '{}' ({})", text,
                             std::filesystem::exists(text, error) ? "not a folder" : "no such folder");
        return "";
      },
      "an existing folder", "FOLDER");
}

}  // namespace apps
