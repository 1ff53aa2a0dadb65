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
