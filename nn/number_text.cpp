#include "tapegrad/nn/number_text.h"

#include <fmt/format.h>

#include <cmath>
#include <optional>

namespace nn {

namespace {

std::optional<std::string> special(double value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  return std::nullopt;
}

}  // namespace

std::string fixed_text(double value, int decimals) {
  return special(value).value_or(fmt::format("{:.{}f}", value, decimals));
}

std::string scientific_text(double value, int decimals) {
  return special(value).value_or(fmt::format("{:.{}e}", value, decimals));
}

std::string shortest_text(double value) {
  if (auto text = special(value)) return *text;
  // fmt's shortest form is Python's repr but for a whole number, which Python writes as a float
  // ("1.0", where fmt writes "1"); the exponent forms ("1e+16") are the same in both.
  std::string text = fmt::format("{}", value);
  if (text.find_first_not_of("-0123456789") == std::string::npos) text += ".0";
  return text;
}

std::string progress_text(double value) {
  return std::fabs(value) > 1e-3 ? fixed_text(value, 4) : scientific_text(value, 4);
}

}  // namespace nn
