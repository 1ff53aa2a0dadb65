#include "tapegrad/datasets/fashion_mnist.h"

#include <doctest/doctest.h>
#include <stdlib.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <filesystem>
#include <optional>

#include "tapegrad/autodiff/error.h"
#include "files.h"

using namespace datasets_test;

// AddressSanitizer builds (scripts/ci/asan.sh), told by the compilers' own macros.
#if defined(__SANITIZE_ADDRESS__)
constexpr bool kSanitized = true;
#elif defined(__has_feature)
constexpr bool kSanitized = __has_feature(address_sanitizer);
#else
constexpr bool kSanitized = false;
#endif

namespace fashion_mnist = datasets::fashion_mnist;

namespace {

// Sets an environment variable for one scope and restores what was there before.
class ScopedVariable {
 public:
  ScopedVariable(const char* name, std::optional<std::string> value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value)
      ::setenv(name, value->c_str(), 1);
    else
      ::unsetenv(name);
  }
  ~ScopedVariable() {
    if (old_)
      ::setenv(name_, old_->c_str(), 1);
    else
      ::unsetenv(name_);
  }
  ScopedVariable(const ScopedVariable&) = delete;
  ScopedVariable& operator=(const ScopedVariable&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

std::array<int64_t, 10> class_counts(const datasets::IdxArray& labels) {
  std::array<int64_t, 10> counts{};
  for (uint8_t label : labels.data) ++counts.at(label);
  return counts;
}

}  // namespace

TEST_CASE("the class names are Fashion MNIST's ten, in label order") {
  std::vector<std::string> names = fashion_mnist::class_names();
  REQUIRE(names.size() == 10);
  CHECK(names.front() == "T-shirt/top");
  CHECK(names[5] == "Sandal");
  CHECK(names.back() == "Ankle boot");
}

TEST_CASE("Fashion MNIST from the Debian package has 60,000 + 10,000 balanced, labelled images") {
  ScopedVariable no_override(fashion_mnist::kFolderVariable, std::nullopt);
  if (!std::filesystem::is_directory(fashion_mnist::kDefaultFolder)) {
    MESSAGE("skipped: the package dataset-fashion-mnist is not installed");
    return;
  }
  auto start = std::chrono::steady_clock::now();
  datasets::ImageDataset data = fashion_mnist::load();
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  MESSAGE("loading Fashion MNIST took " << seconds << " s");
  // Well under a second on the machines here; the bound leaves room for a busy machine but
  // still catches a reader that goes byte by byte (which sanitizer builds slow down 5-fold more).
  CHECK(seconds < (kSanitized ? 15.0 : 3.0));

  CHECK(data.train.images.shape == std::vector<int64_t>{60000, 28, 28});
  CHECK(data.test.images.shape == std::vector<int64_t>{10000, 28, 28});
  CHECK(data.train.images.data.size() == 60000u * 784u);
  CHECK(data.train.labels.shape == std::vector<int64_t>{60000});
  CHECK(data.test.labels.shape == std::vector<int64_t>{10000});
  CHECK(data.class_names == fashion_mnist::class_names());

  // The first training image of Fashion MNIST is an ankle boot.
  CHECK(data.train.labels.data[0] == 9);
  CHECK(data.class_names[data.train.labels.data[0]] == "Ankle boot");
  std::array<int64_t, 10> train = class_counts(data.train.labels), test = class_counts(data.test.labels);
  CHECK(std::all_of(train.begin(), train.end(), [](int64_t n) { return n == 6000; }));
  CHECK(std::all_of(test.begin(), test.end(), [](int64_t n) { return n == 1000; }));
  // Pixels use the whole byte range: a black background and some white.
  auto [darkest, brightest] = std::minmax_element(data.test.images.data.begin(), data.test.images.data.end());
  CHECK(*darkest == 0);
  CHECK(*brightest == 255);
}

TEST_CASE("the folder comes from the argument, then FASHION_MNIST_DIR, then the Debian default") {
  SUBCASE("nothing set") {
    ScopedVariable unset(fashion_mnist::kFolderVariable, std::nullopt);
    CHECK(fashion_mnist::locate().folder == fashion_mnist::kDefaultFolder);
    CHECK(fashion_mnist::locate().source == "the default");
  }
  SUBCASE("the variable beats the default") {
    ScopedVariable set(fashion_mnist::kFolderVariable, "/elsewhere");
    CHECK(fashion_mnist::locate().folder == "/elsewhere");
    CHECK(fashion_mnist::locate().source == "the FASHION_MNIST_DIR variable");
  }
  SUBCASE("an empty variable counts as unset") {
    ScopedVariable empty(fashion_mnist::kFolderVariable, "");
    CHECK(fashion_mnist::locate().folder == fashion_mnist::kDefaultFolder);
  }
  SUBCASE("the argument beats the variable") {
    ScopedVariable set(fashion_mnist::kFolderVariable, "/elsewhere");
    CHECK(fashion_mnist::locate("mine").folder == "mine");
    CHECK(fashion_mnist::locate("mine").source == "the argument to load()");
  }
}

TEST_CASE("FASHION_MNIST_DIR and the argument both redirect load()") {
  TempFolder from_variable, from_argument;
  write_mnist_folder(from_variable, {9, 0, 0}, {9}, true);
  write_mnist_folder(from_argument, {1, 2}, {3, 4}, false);
  ScopedVariable set(fashion_mnist::kFolderVariable, from_variable.path().string());

  datasets::ImageDataset data = fashion_mnist::load();
  CHECK(data.train.labels.data == Bytes{9, 0, 0});
  CHECK(data.class_names.back() == "Ankle boot");
  CHECK(fashion_mnist::load(from_argument.path().string()).test.labels.data == Bytes{3, 4});
}

TEST_CASE("a missing Fashion MNIST folder says which package to install and which variable to set") {
  TempFolder folder;
  std::string absent = folder.file("no-such-folder");
  ScopedVariable set(fashion_mnist::kFolderVariable, absent);
  std::string message;
  try {
    fashion_mnist::load();
  } catch (const ad::Error& error) {
    message = error.what();
  }
  CHECK(message.starts_with("fashion_mnist::load: no dataset in " + absent +
                            " (chosen by the FASHION_MNIST_DIR variable)"));
  CHECK(message.find("apt-get install dataset-fashion-mnist") != std::string::npos);
  CHECK(message.find("set FASHION_MNIST_DIR to a folder holding train-images-idx3-ubyte[.gz]") != std::string::npos);

  std::string from_argument;
  try {
    fashion_mnist::load(absent);
  } catch (const ad::Error& error) {
    from_argument = error.what();
  }
  CHECK(from_argument.find("no dataset in " + absent + " (chosen by the argument to load())") != std::string::npos);
}
