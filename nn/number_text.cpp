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

std::string shortest_text(double value) { return special(value).value_or(fmt::format("{}", value)); }

std::string progress_text(double value) {
  return std::fabs(value) > 1e-3 ? fixed_text(value, 4) : scientific_text(value, 4);
}

}  // namespace nn
