/// @file
/// Fashion MNIST: 70,000 28x28 grey images of clothing in 10 classes, 60,000 for training and
/// 10,000 for testing, read from the four IDX files of the MNIST layout (datasets/mnist.h).
///
/// @code
/// auto data = datasets::fashion_mnist::load();       // Debian's dataset-fashion-mnist
/// data.train.images.shape;                           // {60000, 28, 28}
/// data.class_names[data.train.labels.data[0]];       // "Ankle boot"
/// @endcode
///
/// Where the files are looked for, first match wins: the folder passed to load(), the folder in
/// the FASHION_MNIST_DIR environment variable, then kDefaultFolder, where the Debian package
/// `dataset-fashion-mnist` installs them.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "tapegrad/datasets/mnist.h"

namespace datasets::fashion_mnist {

/// Where Debian's `dataset-fashion-mnist` package installs the four files.
inline constexpr const char* kDefaultFolder = "/usr/share/datasets/fashion-mnist";
/// The environment variable that names another folder.
inline constexpr const char* kFolderVariable = "FASHION_MNIST_DIR";

/// T-shirt/top, Trouser, Pullover, Dress, Coat, Sandal, Shirt, Sneaker, Bag, Ankle boot.
std::vector<std::string> class_names();

/// The folder load() would read, and where that choice came from (for messages and apps).
struct Location {
  std::string folder;  ///< the folder chosen
  std::string source;  ///< "the argument to load()", "the FASHION_MNIST_DIR variable" or "the default"
};
/// Chooses the folder as load() does (argument, then FASHION_MNIST_DIR, then kDefaultFolder)
/// without reading it.
Location locate(std::optional<std::string> folder = {});

/// Reads the 60,000 training and 10,000 test images ([n,28,28] bytes) and labels (0-9) from
/// the folder locate() chooses. Throws ad::Error naming the folder, where it came from and the
/// file when a file is missing or damaged (datasets/idx.h lists the checks).
ImageDataset load(std::optional<std::string> folder = {});

}  // namespace datasets::fashion_mnist
