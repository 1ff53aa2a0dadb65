#include "tapegrad/datasets/fashion_mnist.h"

#include <cstdlib>
#include <filesystem>

#include "tapegrad/autodiff/error.h"

namespace datasets::fashion_mnist {

std::vector<std::string> class_names() {
  return {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"};
}

Location locate(std::optional<std::string> folder) {
  if (folder) return {.folder = *folder, .source = "the argument to load()"};
  const char* variable = std::getenv(kFolderVariable);
  if (variable && *variable) return {.folder = variable, .source = fmt::format("the {} variable", kFolderVariable)};
  return {.folder = kDefaultFolder, .source = "the default"};
}

ImageDataset load(std::optional<std::string> folder) {
  Location where = locate(std::move(folder));
  std::error_code error;
  if (!std::filesystem::is_directory(where.folder, error))
    ad::fail(
        "fashion_mnist::load: no dataset in {} (chosen by {}): install Debian's package "
        "dataset-fashion-mnist (apt-get install dataset-fashion-mnist), which fills {}, or set {} to a folder "
        "holding train-images-idx3-ubyte[.gz] and the three other files, or pass that folder to load()",
        where.folder, where.source, kDefaultFolder, kFolderVariable);
  return load_image_folder(where.folder, {.class_names = class_names(), .who = "fashion_mnist::load"});
}

}  // namespace datasets::fashion_mnist
