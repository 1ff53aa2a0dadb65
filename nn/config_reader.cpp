#include "tapegrad/nn/config_reader.h"

#include <cmath>
#include <cstdint>

namespace nn {

nlohmann::json parse_json(const std::string& text, const std::string& where) {
  // The parser is iterative, but what walks its result may recurse: refuse deep nesting here,
  // at the one entry of JSON from files, while the parser reports its depth.
  auto limit_depth = [&](int depth, nlohmann::json::parse_event_t event, nlohmann::json&) {
    if ((event == nlohmann::json::parse_event_t::object_start ||
         event == nlohmann::json::parse_event_t::array_start) && depth >= kMaxJsonDepth)
      ad::fail("{} nests arrays and objects deeper than {} levels", where, kMaxJsonDepth);
    return true;
  };
  try {
    return nlohmann::json::parse(text, limit_depth);
  } catch (const nlohmann::json::exception& e) {
    ad::fail("{} is not valid JSON: {}", where, e.what());
  }
}

ConfigReader::ConfigReader(const nlohmann::json& config, std::string who) : config_(config), who_(std::move(who)) {
  TG_CHECK(config_.is_object(), "{} config: must be a JSON object, got {}", who_, config_.dump());
}

bool ConfigReader::has(const char* key) const { return config_.contains(key) && !config_.at(key).is_null(); }

const nlohmann::json& ConfigReader::field(const char* key) const {
  TG_CHECK(has(key), "{} config: missing field '{}' in {}", who_, key, config_.dump());
  return config_.at(key);
}

namespace {

// A JSON integer within int64 (nlohmann keeps those above it as uint64, which get<int64_t>()
// would wrap to negative values).
bool fits_int64(const nlohmann::json& v) {
  return v.is_number_integer() && (!v.is_number_unsigned() || v.get<uint64_t>() <= uint64_t{INT64_MAX});
}

}  // namespace

int64_t ConfigReader::integer(const char* key) const {
  const auto& v = field(key);
  TG_CHECK(v.is_number_integer(), "{} config: field '{}' must be an integer, got {}", who_, key, v.dump());
  TG_CHECK(fits_int64(v), "{} config: field '{}' is {}, beyond the int64 range", who_, key, v.dump());
  return v.get<int64_t>();
}

double ConfigReader::number(const char* key) const {
  const auto& v = field(key);
  TG_CHECK(v.is_number(), "{} config: field '{}' must be a number, got {}", who_, key, v.dump());
  TG_CHECK(std::isfinite(v.get<double>()), "{} config: field '{}' must be finite, got {}", who_, key, v.dump());
  return v.get<double>();
}

double ConfigReader::number(const char* key, double fallback) const { return has(key) ? number(key) : fallback; }

bool ConfigReader::boolean(const char* key, bool fallback) const {
  if (!has(key)) return fallback;
  const auto& v = config_.at(key);
  TG_CHECK(v.is_boolean(), "{} config: field '{}' must be true or false, got {}", who_, key, v.dump());
  return v.get<bool>();
}

std::string ConfigReader::text(const char* key) const {
  const auto& v = field(key);
  TG_CHECK(v.is_string(), "{} config: field '{}' must be a string, got {}", who_, key, v.dump());
  return v.get<std::string>();
}

std::string ConfigReader::text(const char* key, const std::string& fallback) const {
  return has(key) ? text(key) : fallback;
}

ad::Shape ConfigReader::shape(const char* key) const {
  if (!has(key)) return {};
  const auto& v = config_.at(key);
  TG_CHECK(v.is_array(), "{} config: field '{}' must be a list of dimensions, got {}", who_, key, v.dump());
  ad::Shape out;
  for (const auto& d : v) {
    TG_CHECK(fits_int64(d) && d.get<int64_t>() > 0,
             "{} config: field '{}' must hold positive integers, got {}", who_, key, v.dump());
    out.push_back(d.get<int64_t>());
  }
  return out;
}

std::vector<std::string> ConfigReader::texts(const char* key) const {
  if (!has(key)) return {};
  const auto& v = config_.at(key);
  TG_CHECK(v.is_array(), "{} config: field '{}' must be a list of strings, got {}", who_, key, v.dump());
  std::vector<std::string> out;
  for (const auto& s : v) {
    TG_CHECK(s.is_string(), "{} config: field '{}' must hold strings, got {}", who_, key, v.dump());
    out.push_back(s.get<std::string>());
  }
  return out;
}

}  // namespace nn
