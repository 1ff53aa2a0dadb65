#include "tapegrad/datasets/mnist.h"

#include <doctest/doctest.h>

#include <filesystem>

#include "tapegrad/autodiff/error.h"
#include "files.h"

using namespace datasets_test;

namespace {

std::string error_of(const std::string& folder) {
  try {
    datasets::mnist::load(folder);
  } catch (const ad::Error& error) {
    return error.what();
  }
  return "no error";
}

}  // namespace

TEST_CASE("mnist::load reads the four files of a folder, plain or gzip") {
  for (bool compressed : {false, true}) {
    CAPTURE(compressed);
    TempFolder folder;
    write_mnist_folder(folder, {5, 0, 4, 1, 9}, {7, 2, 1}, compressed);
    datasets::ImageDataset data = datasets::mnist::load(folder.path().string());
    CHECK(data.train.size() == 5);
    CHECK(data.test.size() == 3);
    CHECK(data.train.images.shape == std::vector<int64_t>{5, 28, 28});
    CHECK(data.train.labels.data == Bytes{5, 0, 4, 1, 9});
    CHECK(data.test.labels.data == Bytes{7, 2, 1});
    CHECK(data.train.images.data[4 * 784] == 5);  // the fifth image's pixels are all 5
    CHECK(data.class_names.size() == 10);
    CHECK(data.class_names[7] == "7");
  }
}

TEST_CASE("mnist::load prefers the plain file when a .gz copy lies beside it") {
  TempFolder folder;
  write_mnist_folder(folder, {1, 2}, {3}, true);
  // A plain training-label file that differs from the .gz one shows which was read.
  write_file(folder.file("train-labels-idx1-ubyte"), idx_bytes({2}, {8, 8}));
  CHECK(datasets::mnist::load(folder.path().string()).train.labels.data == Bytes{8, 8});
}

TEST_CASE("mnist::load checks labels against the images and the class count") {
  TempFolder folder;
  SUBCASE("fewer labels than images") {
    write_mnist_folder(folder, {1, 2, 3}, {4}, false);
    write_file(folder.file("train-labels-idx1-ubyte"), idx_bytes({2}, {1, 2}));
    CHECK(error_of(folder.path().string()) ==
          "mnist::load: " + folder.file("train-labels-idx1-ubyte") + ": 2 labels for 3 images");
  }
  SUBCASE("a label at the class count") {
    write_mnist_folder(folder, {1, 2, 3}, {4, 10, 0}, true);
    CHECK(error_of(folder.path().string()) == "mnist::load: " + folder.file("t10k-labels-idx1-ubyte.gz") +
                                                  ": label 10 at index 1 is not below the class count 10");
  }
  SUBCASE("a label far above it") {
    write_mnist_folder(folder, {255}, {0}, false);
    CHECK(error_of(folder.path().string()) == "mnist::load: " + folder.file("train-labels-idx1-ubyte") +
                                                  ": label 255 at index 0 is not below the class count 10");
  }
}

TEST_CASE("mnist::load says which file or folder is missing") {
  TempFolder folder;
  SUBCASE("a missing file") {
    write_mnist_folder(folder, {1}, {2}, false);
    std::filesystem::remove(folder.file("t10k-images-idx3-ubyte"));
    CHECK(error_of(folder.path().string()) ==
          "mnist::load: " + folder.path().string() +
              ": neither t10k-images-idx3-ubyte nor t10k-images-idx3-ubyte.gz is there");
  }
  SUBCASE("a missing folder") {
    std::string absent = folder.file("nothing-here");
    CHECK(error_of(absent) == "mnist::load: " + absent + ": no such folder");
  }
}

TEST_CASE("a broken file inside the folder is reported by the IDX reader with its path") {
  TempFolder folder;
  write_mnist_folder(folder, {1, 2}, {3}, false);
  write_file(folder.file("train-images-idx3-ubyte"), idx_bytes({2, 28, 28}, Bytes(100)));
  CHECK(error_of(folder.path().string()) ==
        "load_idx: " + folder.file("train-images-idx3-ubyte") + ": file has 116 bytes, header says 1584");
}
