#include <doctest/doctest.h>

#include "tapegrad/nn/config_reader.h"

TEST_CASE("ConfigReader reads fields with defaults and names the object and field when one is wrong") {
  nlohmann::json config = {{"units", 3}, {"rate", 0.5}, {"on", true}, {"name", "d"}, {"shape", {2, 3}}, {"tags", {"a"}}};
  nn::ConfigReader read(config, "Thing");
  CHECK(read.integer("units") == 3);
  CHECK(read.number("rate") == 0.5);
  CHECK(read.number("missing", 2.0) == 2.0);
  CHECK(read.boolean("on", false));
  CHECK(read.text("name") == "d");
  CHECK(read.shape("shape") == ad::Shape{2, 3});
  CHECK(read.shape("missing").empty());
  CHECK(read.texts("tags") == std::vector<std::string>{"a"});
  CHECK_THROWS_WITH_AS(read.integer("missing"), doctest::Contains("Thing config: missing field 'missing'"), ad::Error);
  CHECK_THROWS_WITH_AS(read.integer("rate"), doctest::Contains("field 'rate' must be an integer, got 0.5"), ad::Error);
  CHECK_THROWS_WITH_AS(read.text("units"), doctest::Contains("field 'units' must be a string"), ad::Error);
  nlohmann::json bad_shape = {{"shape", {2, -1}}};
  CHECK_THROWS_WITH_AS(nn::ConfigReader(bad_shape, "Thing").shape("shape"), doctest::Contains("positive integers"),
                       ad::Error);
}

TEST_CASE("parse_json takes JSON nested up to 64 levels and refuses deeper or broken text by name") {
  auto nested = [](int levels) { return std::string(levels, '[') + std::string(levels, ']'); };
  CHECK(nn::parse_json(nested(64), "test").is_array());
  CHECK_THROWS_WITH_AS(nn::parse_json(nested(65), "load_model: 'm': the saved config"),
                       "load_model: 'm': the saved config nests arrays and objects deeper than 64 levels", ad::Error);
  CHECK_THROWS_WITH_AS(nn::parse_json("{\"units\": " + nested(100000) + "}", "where"),
                       doctest::Contains("deeper than 64 levels"), ad::Error);
  CHECK_THROWS_WITH_AS(nn::parse_json("{\"units\": ", "where"), doctest::Contains("where is not valid JSON"), ad::Error);
}
