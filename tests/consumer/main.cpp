// The consumer's program: a small Sequential fitted on tiny random data, used to predict,
// saved and loaded again. Prints one line; returns non-zero when any step misbehaves.
#include <cmath>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <random>
#include <string>

#include <tapegrad/autodiff/tensor.h>
#include <tapegrad/nn/layers/all.h>
#include <tapegrad/nn/optimizers/sgd.h>
#include <tapegrad/nn/sequential.h>
#include <tapegrad/nn/serialization.h>
#include <tapegrad/version.h>

namespace {

// y = x0 - 2 x1 + 0.5: a linear target that a few SGD steps bring the loss down on.
ad::Tensor target_of(ad::Tensor& x) {
  ad::Tensor y = ad::Tensor::zeros({x.shape()[0], 1});
  for (int64_t i = 0; i < x.shape()[0]; ++i) {
    y.at({i, 0}) = x.at({i, 0}) - 2 * x.at({i, 1}) + 0.5f;
  }
  return y;
}

int run() {
  ad::Rng rng(7);
  ad::Tensor x = ad::Tensor::uniform({64, 2}, -1, 1, rng);
  ad::Tensor y = target_of(x);

  nn::Sequential model({nn::Dense(8, "tanh"), nn::Dense(1)});
  model.compile({.loss = "mse", .optimizer = nn::SGD(0.1)});
  nn::History history = model.fit(x, y, {.epochs = 20, .batch_size = 16, .seed = 1, .verbose = 0});
  const auto& loss = history["loss"];
  if (loss.size() != 20 || !(loss.back() < loss.front())) {
    std::fprintf(stderr, "consumer: the loss did not fall over 20 epochs: %g -> %g\n", loss.front(), loss.back());
    return 1;
  }

  ad::Tensor before = model.predict(x.rows(0, 4));
  auto folder = std::filesystem::temp_directory_path() /
                ("tapegrad_consumer_" + std::to_string(std::random_device{}()));
  std::filesystem::remove_all(folder);
  std::filesystem::create_directories(folder);
  std::string path = (folder / "model").string();
  model.save(path);
  nn::Sequential loaded = nn::load_model(path);
  ad::Tensor after = loaded.predict(x.rows(0, 4));
  std::filesystem::remove_all(folder);
  for (int64_t i = 0; i < 4; ++i) {
    if (before.at({i, 0}) != after.at({i, 0}) || !std::isfinite(after.at({i, 0}))) {
      std::fprintf(stderr, "consumer: prediction %lld differs after load: %g vs %g\n",
                   static_cast<long long>(i), before.at({i, 0}), after.at({i, 0}));
      return 1;
    }
  }
  std::printf("tapegrad %s consumer: loss %.4f -> %.4f in 20 epochs, saved model predicts the same\n",
              TAPEGRAD_VERSION, loss.front(), loss.back());
  return 0;
}

}  // namespace

int main() {
  try {
    return run();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "consumer: %s\n", e.what());
    return 1;
  }
}
