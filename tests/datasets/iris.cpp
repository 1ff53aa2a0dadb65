#include "tapegrad/datasets/iris.h"

#include <doctest/doctest.h>

#include <array>

namespace {

// Mean of one column over the 50 rows of one class.
double class_mean(const datasets::Iris& iris, int species, int64_t column) {
  double sum = 0;
  int count = 0;
  for (int64_t row = 0; row < 150; ++row) {
    if (iris.labels[row] != static_cast<float>(species)) continue;
    sum += iris.features.at({row, column});
    ++count;
  }
  REQUIRE(count == 50);
  return sum / count;
}

}  // namespace

TEST_CASE("iris has 150 rows of 4 measurements, 50 flowers per species") {
  datasets::Iris iris = datasets::load_iris();
  CHECK(iris.features.shape() == ad::Shape{150, 4});
  CHECK(iris.labels.shape() == ad::Shape{150});
  CHECK(iris.class_names == std::vector<std::string>{"setosa", "versicolor", "virginica"});
  CHECK(iris.feature_names ==
        std::vector<std::string>{"sepal length (cm)", "sepal width (cm)", "petal length (cm)", "petal width (cm)"});
  std::array<int, 3> counts{};
  for (float label : iris.labels.values()) {
    REQUIRE((label == 0.f || label == 1.f || label == 2.f));
    ++counts[static_cast<size_t>(label)];
  }
  CHECK(counts == std::array<int, 3>{50, 50, 50});
}

TEST_CASE("iris rows match well-known flowers") {
  datasets::Iris iris = datasets::load_iris();
  struct Row {
    int64_t index;
    std::array<float, 4> values;
    float label;
  };
  const Row known[] = {
      {0, {5.1f, 3.5f, 1.4f, 0.2f}, 0},   {34, {4.9f, 3.1f, 1.5f, 0.2f}, 0},  // as first published
      {37, {4.9f, 3.6f, 1.4f, 0.1f}, 0},  {50, {7.0f, 3.2f, 4.7f, 1.4f}, 1},
      {100, {6.3f, 3.3f, 6.0f, 2.5f}, 2}, {149, {5.9f, 3.0f, 5.1f, 1.8f}, 2},
  };
  for (const Row& row : known) {
    CAPTURE(row.index);
    for (int64_t column = 0; column < 4; ++column)
      CHECK(iris.features.at({row.index, column}) == row.values[static_cast<size_t>(column)]);
    CHECK(iris.labels[row.index] == row.label);
  }
}

TEST_CASE("iris class means equal the published ones for every measurement") {
  datasets::Iris iris = datasets::load_iris();
  // Per species: sepal length, sepal width, petal length, petal width.
  const double published[3][4] = {
      {5.006, 3.428, 1.462, 0.246},
      {5.936, 2.770, 4.260, 1.326},
      {6.588, 2.974, 5.552, 2.026},
  };
  for (int species = 0; species < 3; ++species)
    for (int64_t column = 0; column < 4; ++column) {
      CAPTURE(species);
      CAPTURE(column);
      CHECK(class_mean(iris, species, column) == doctest::Approx(published[species][column]).epsilon(1e-6));
    }
}

TEST_CASE("each load_iris call returns its own copy") {
  datasets::Iris first = datasets::load_iris();
  first.features.at({0, 0}) = -1.f;
  CHECK(datasets::load_iris().features.at({0, 0}) == 5.1f);
}
