// kill_during_save [kills]: a child process saves a model with its optimizer state (a training
// checkpoint, as ModelCheckpoint writes it) in a loop, and is SIGKILLed at a random moment,
// `kills` times (default 100). After every kill the file must load with nn::load_model and be
// complete: every weight holds the value of one and the same save, never a mix. After a last
// save by this process, no temporary file of any killed writer may remain in the folder.
// Exit status 0 when all holds; each violation is printed. ctest runs it with label "kill"
// (scripts/ci/kill.sh).
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "tapegrad/nn/layers/all.h"
#include "tapegrad/nn/optimizers/sgd.h"
#include "tapegrad/nn/sequential.h"

namespace {

namespace fs = std::filesystem;

// About 2 MB per save (weights and momentum slots): long enough for kills to land mid-write.
nn::Sequential checkpointed_model() {
  nn::Sequential model({nn::Dense(256, {.activation = "relu", .input_shape = {512}}), nn::Dense(10)});
  model.compile({.loss = "mse", .optimizer = nn::SGD(0.01, {.momentum = 0.9})});
  return model;
}

// Every weight of `model` set to `value`: a loaded file shows which save it came from.
void fill_weights(nn::Sequential& model, float value) {
  std::vector<ad::Tensor> weights = model.get_weights();
  for (ad::Tensor& w : weights) w = ad::Tensor::full(w.shape(), value);
  model.set_weights(weights);
}

// The value every weight of the saved model holds, or an error text.
std::string check_complete(const std::string& path, float& value) {
  try {
    nn::Sequential loaded = nn::load_model(path);
    std::vector<ad::Tensor> weights = loaded.get_weights();
    value = weights.at(0)[0];
    for (const ad::Tensor& w : weights)
      for (int64_t i = 0; i < w.size(); ++i)
        if (w[i] != value) return fmt::format("weights of two saves mixed: {} and {}", value, w[i]);
    return "";
  } catch (const std::exception& e) {
    return fmt::format("does not load: {}", e.what());
  }
}

std::vector<std::string> entries(const fs::path& folder) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(folder)) names.push_back(entry.path().filename().string());
  return names;
}

}  // namespace

int main(int argc, char** argv) {
  const int kills = argc > 1 ? std::atoi(argv[1]) : 100;
  const fs::path folder = fs::temp_directory_path() / fmt::format("tapegrad-kill-{}", ::getpid());
  fs::remove_all(folder);
  fs::create_directories(folder);
  const std::string target = "checkpoint.model";
  const std::string path = (folder / target).string();

  nn::Sequential model = checkpointed_model();
  model.build({512}, 1);
  model.optimizer()->build(model.trainable_weights());  // the momentum slots are saved too
  fill_weights(model, 0);
  model.save(path);

  std::mt19937 random(20261201);
  std::uniform_int_distribution<int> pause_us(0, 30'000);
  int failures = 0, after_a_save = 0, with_leftovers = 0;
  for (int kill = 0; kill < kills; ++kill) {
    pid_t child = ::fork();
    if (child < 0) {
      std::perror("fork");
      return 2;
    }
    if (child == 0) {
      for (int round = 1;; ++round) {
        fill_weights(model, static_cast<float>(round));
        model.save(path);
      }
    }
    std::this_thread::sleep_for(std::chrono::microseconds(pause_us(random)));
    ::kill(child, SIGKILL);
    int status = 0;
    ::waitpid(child, &status, 0);
    float value = -1;
    std::string problem = check_complete(path, value);
    if (!problem.empty()) {
      ++failures;
      std::printf("kill %d: %s: %s\n", kill, target.c_str(), problem.c_str());
    }
    after_a_save += value > 0;
    with_leftovers += entries(folder).size() > 1;
  }
  // A later save of the same file must leave nothing of the killed writers behind.
  model.save(path);
  std::vector<std::string> left = entries(folder);
  for (const std::string& name : left)
    if (name != target) {
      ++failures;
      std::printf("after the last save: temporary file left: %s\n", name.c_str());
    }
  std::printf("kill_during_save: %d kills, %d after at least one completed save, %d left a file beside the "
              "target before the next save; %d failures\n",
              kills, after_a_save, with_leftovers, failures);
  fs::remove_all(folder);
  // No kill after a completed save would mean the kills all landed too early to test anything.
  if (after_a_save == 0) {
    std::printf("kill_during_save: no kill came after a completed save: pauses too short for this machine\n");
    ++failures;
  }
  return failures == 0 ? 0 : 1;
}
