// The peer side of the speed comparison: the Fashion MNIST model (784 -> 300 relu -> 100 relu
// -> 10, log_softmax + nll, plain SGD lr 0.01) trained and run by libtorch's C++ API on random
// data of the real size, printing the `RESULT ...` lines that scripts/bench.sh compares with
// ours (format in README.md). Thread settings come from the command line and the environment,
// so that bench.sh can try each and keep libtorch's best.
//
//   torch_mlp --threads 1 --train-batches 32,256 --epochs 3 --predict-repeats 10
//   OPENBLAS_NUM_THREADS=1 torch_mlp --threads 2 --predict-repeats 0
#include <ATen/Parallel.h>
#include <torch/nn.h>
#include <torch/optim/sgd.h>
#include <torch/utils.h>
#include <torch/version.h>

#include <CLI/CLI.hpp>
#include <dlfcn.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace {

constexpr int64_t epoch_size = 55000;  // the book's training split, without its 5,000 validation images
constexpr int64_t test_size = 10000;
constexpr int64_t pixels = 28 * 28;
constexpr int64_t classes = 10;

struct Options {
  int threads = 0;  // 0 keeps libtorch's own default
  std::vector<int64_t> train_batches{32, 256};
  int epochs = 3;             // timed epochs per batch size; 0 skips training
  int64_t train_images = epoch_size;  // fewer makes quick partial epochs, scaled up to a whole one
  int warmup_steps = 100;     // untimed steps first: allocator caches, BLAS thread start-up
  int predict_repeats = 10;   // timed passes over the test images; 0 skips prediction
  int64_t predict_batch = test_size;
  uint64_t seed = 42;
};

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// The line that scripts/bench.sh reads: the median of the timed runs, with their spread.
void print_result(const char* name, int64_t batch, std::vector<double> values, const std::string& extra = "") {
  std::sort(values.begin(), values.end());
  size_t n = values.size();
  double median = n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
  std::printf("RESULT name=%s batch=%lld value=%.4f min=%.4f max=%.4f%s\n", name, static_cast<long long>(batch),
              median, values.front(), values.back(), extra.c_str());
  std::fflush(stdout);
}

std::string cpu_model() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  for (std::string line; std::getline(cpuinfo, line);)
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  return "unknown";
}

const char* env_or_unset(const char* name) {
  const char* value = std::getenv(name);
  return value ? value : "unset";
}

// libtorch reaches OpenBLAS only through the libblas.so.3 alternative; ask the loaded library
// itself what it is and how many threads it will use, rather than trusting the environment.
std::string openblas_description() {
  auto config = reinterpret_cast<char* (*)()>(dlsym(RTLD_DEFAULT, "openblas_get_config"));
  auto threads = reinterpret_cast<int (*)()>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
  if (!config || !threads) return "openblas=not-loaded";
  return "openblas_threads=" + std::to_string(threads()) + " openblas=\"" + config() + "\"";
}

torch::nn::Sequential fashion_mnist_model() {
  return torch::nn::Sequential(torch::nn::Linear(pixels, 300), torch::nn::ReLU(),
                               torch::nn::Linear(300, 100), torch::nn::ReLU(),
                               torch::nn::Linear(100, classes));
}

struct Step {
  torch::nn::Sequential& model;
  torch::optim::SGD& optimizer;
  std::vector<torch::Tensor> parameters = model->parameters();

  torch::Tensor operator()(const torch::Tensor& images, const torch::Tensor& labels) {
    // Dropping the gradients, rather than zeroing them as 1.13's zero_grad() does, lets
    // backward hand over its fresh tensors instead of adding into old ones: PyTorch 2's default.
    for (auto& parameter : parameters) parameter.mutable_grad().reset();
    auto loss = torch::nll_loss(torch::log_softmax(model->forward(images), 1), labels);
    loss.backward();
    optimizer.step();
    return loss;
  }
};

// One epoch is every training image once, in batches taken in order: shuffling and metrics
// are left out on both sides so that the comparison is of the training step alone. A partial
// epoch (for quick tuning runs) is scaled up to the seconds that a whole one would take.
double time_epoch(Step& step, const torch::Tensor& images, const torch::Tensor& labels, int64_t batch) {
  int64_t size = images.size(0);
  auto start = std::chrono::steady_clock::now();
  for (int64_t first = 0; first < size; first += batch) {
    int64_t n = std::min(batch, size - first);
    step(images.narrow(0, first, n), labels.narrow(0, first, n));
  }
  return seconds_since(start) * static_cast<double>(epoch_size) / static_cast<double>(size);
}

void benchmark_training(const Options& options, const torch::Tensor& images, const torch::Tensor& labels) {
  for (int64_t batch : options.train_batches) {
    torch::manual_seed(options.seed);
    auto model = fashion_mnist_model();
    torch::optim::SGD optimizer(model->parameters(), torch::optim::SGDOptions(0.01));
    Step step{model, optimizer};
    for (int i = 0; i < options.warmup_steps; ++i)
      step(images.narrow(0, 0, batch), labels.narrow(0, 0, batch));
    std::vector<double> epochs;
    for (int e = 0; e < options.epochs; ++e) epochs.push_back(time_epoch(step, images, labels, batch));
    // A diverged or silent model would make the timing meaningless; random labels give ln 10.
    double loss = step(images.narrow(0, 0, batch), labels.narrow(0, 0, batch)).item<double>();
    std::printf("# batch %lld: epochs", static_cast<long long>(batch));
    for (double s : epochs) std::printf(" %.3f", s);
    std::printf(" s (%lld steps each), loss %.3f\n", static_cast<long long>((epoch_size + batch - 1) / batch), loss);
    print_result("epoch_seconds", batch, epochs, " images=" + std::to_string(images.size(0)));
  }
}

void benchmark_prediction(const Options& options, const torch::Tensor& images) {
  torch::manual_seed(options.seed);
  auto model = fashion_mnist_model();
  torch::NoGradGuard no_grad;
  auto predict = [&] {  // class probabilities, as Keras' predict returns them
    std::vector<torch::Tensor> parts;
    for (int64_t first = 0; first < test_size; first += options.predict_batch)
      parts.push_back(torch::softmax(
          model->forward(images.narrow(0, first, std::min(options.predict_batch, test_size - first))), 1));
    return torch::cat(parts);
  };
  predict();  // warm-up
  std::vector<double> times;
  for (int r = 0; r < options.predict_repeats; ++r) {
    auto start = std::chrono::steady_clock::now();
    auto probabilities = predict();
    times.push_back(1e3 * seconds_since(start));
  }
  print_result("predict_ms", options.predict_batch, times);
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  CLI::App app{"libtorch's side of the Fashion MNIST speed comparison"};
  app.add_option("--threads", options.threads, "torch::set_num_threads (0: libtorch's default)")
      ->check(CLI::Range(0, 256));
  app.add_option("--train-batches", options.train_batches, "batch sizes to train at")
      ->delimiter(',')->check(CLI::Range(int64_t{1}, epoch_size));
  app.add_option("--epochs", options.epochs, "timed epochs per batch size")->check(CLI::Range(0, 100));
  app.add_option("--train-images", options.train_images, "images per timed epoch, scaled up to 55,000")
      ->check(CLI::Range(int64_t{1}, epoch_size));
  app.add_option("--warmup-steps", options.warmup_steps, "untimed steps first")->check(CLI::Range(0, 100000));
  app.add_option("--predict-repeats", options.predict_repeats, "timed predictions of the test images")
      ->check(CLI::Range(0, 1000));
  app.add_option("--predict-batch", options.predict_batch, "batch size for prediction")
      ->check(CLI::Range(int64_t{1}, test_size));
  app.add_option("--seed", options.seed, "seed for data and weights");
  CLI11_PARSE(app, argc, argv);
  for (int64_t batch : options.train_batches)
    if (batch > options.train_images) {
      std::fprintf(stderr, "torch_mlp: a batch must fit in the training images: batch %lld > %lld images\n",
                   static_cast<long long>(batch), static_cast<long long>(options.train_images));
      return 2;
    }

  int default_threads = at::get_num_threads();
  if (options.threads > 0) torch::set_num_threads(options.threads);
  std::printf("PEER libtorch %s\n", TORCH_VERSION);
  std::printf("CPU model=\"%s\" cores=%d\n", cpu_model().c_str(), static_cast<int>(std::thread::hardware_concurrency()));
  std::printf("SETTING torch_threads=%d default_torch_threads=%d interop_threads=%d OMP_NUM_THREADS=%s "
              "OPENBLAS_NUM_THREADS=%s OPENBLAS_CORETYPE=%s %s\n",
              at::get_num_threads(), default_threads, at::get_num_interop_threads(), env_or_unset("OMP_NUM_THREADS"),
              env_or_unset("OPENBLAS_NUM_THREADS"), env_or_unset("OPENBLAS_CORETYPE"), openblas_description().c_str());
  std::fflush(stdout);

  int64_t parameter_count = 0;
  for (const auto& parameter : fashion_mnist_model()->parameters()) parameter_count += parameter.numel();
  std::printf("# model: 784 -> 300 relu -> 100 relu -> 10, %lld parameters\n", static_cast<long long>(parameter_count));

  torch::manual_seed(options.seed);
  if (options.epochs > 0 && !options.train_batches.empty()) {
    auto images = torch::rand({options.train_images, pixels});
    auto labels = torch::randint(classes, {options.train_images}, torch::kLong);
    benchmark_training(options, images, labels);
  }
  if (options.predict_repeats > 0) benchmark_prediction(options, torch::rand({test_size, pixels}));
  return 0;
}
