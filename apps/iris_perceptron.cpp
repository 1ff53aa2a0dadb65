// iris_perceptron: Rosenblatt's perceptron answers "is it Iris setosa?" from petal length and
// width. Setosa's petals are far smaller than the other two species', so the classes are
// linearly separable and the learning rule must converge.
//
//   ./iris_perceptron                          trains, then classifies a 2 cm x 0.5 cm petal
//   ./iris_perceptron --length 5 --width 1.8   another flower
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "apps/app_support.h"
#include "apps/option_checks.h"
#include "tapegrad/datasets/iris.h"
#include "tapegrad/nn/perceptron.h"

int main(int argc, char** argv) {
  CLI::App app{"Rosenblatt's perceptron on the iris petals: is it Iris setosa?"};
  float length = 2, width = 0.5f;
  nn::PerceptronOptions options;
  const auto size = apps::number_in({.low = 0, .high = 100});  // cm
  app.add_option("--length", length, "Petal length of the flower to classify, in cm")->capture_default_str()->check(size);
  app.add_option("--width", width, "Petal width of the flower to classify, in cm")->capture_default_str()->check(size);
  app.add_option("--eta0", options.eta0, "Learning rate")->capture_default_str()
      ->check(apps::number_in({.low = 0, .high = 1000, .low_excluded = true}));
  app.add_option("--max-iter", options.max_iter, "Epochs at most")->capture_default_str()->check(apps::integer_from(1));
  app.add_option("--seed", options.random_state, "Seed of the order the samples are visited in")
      ->capture_default_str()
      ->check(apps::integer_from<uint64_t>(0));
  CLI11_PARSE(app, argc, argv);

  return apps::run_reporting_errors("iris_perceptron", [&] {
    const datasets::Iris iris = datasets::load_iris();
    const int64_t n = iris.features.dim(0);
    ad::Tensor petals({n, 2}), is_setosa({n});
    for (int64_t i = 0; i < n; ++i) {
      petals.at({i, 0}) = iris.features.at({i, 2});
      petals.at({i, 1}) = iris.features.at({i, 3});
      is_setosa[i] = iris.labels[i] == 0;
    }

    nn::Perceptron perceptron(options);
    perceptron.fit(petals, is_setosa);
    const double accuracy = perceptron.score(petals, is_setosa);
    fmt::print("Rosenblatt's perceptron: is it Iris setosa? Trained on petal length and width of {} flowers.\n", n);
    fmt::print("{}\n", perceptron.report());
    fmt::print("mistakes per epoch: {}\n", fmt::join(perceptron.errors_per_epoch(), " "));
    fmt::print("boundary: setosa when {:.2f} length {:+.2f} width {:+.2f} >= 0 (cm)\n", perceptron.coef()[0],
               perceptron.coef()[1], perceptron.intercept()[0]);
    fmt::print("training accuracy: {:.4f} ({} of {} flowers right)\n", accuracy, n - perceptron.training_errors(), n);

    const ad::Tensor flower = ad::Tensor::from({1, 2}, {length, width});
    const bool setosa = perceptron.predict(flower)[0] == 1;
    fmt::print("petal length {} cm, width {} cm -> Iris setosa? {}\n", length, width, setosa ? "yes" : "no");
  });
}
