#include <fmt/format.h>
#include <fmt/ranges.h>

#include "tapegrad/nn/model.h"

namespace nn {

const std::vector<double>& History::operator[](const std::string& key) const& {
  auto it = history.find(key);
  if (it == history.end()) {
    std::vector<std::string> keys;
    for (const auto& [k, values] : history) keys.push_back(k);
    ad::fail("History: no figure '{}'; recorded: {}", key, fmt::join(keys, ", "));
  }
  return it->second;
}

void History::append(int epoch, const Logs& logs) {
  epochs.push_back(epoch);
  for (const auto& [key, value] : logs) history[key].push_back(value);
}

}  // namespace nn
