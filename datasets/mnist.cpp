#include "tapegrad/datasets/mnist.h"

#include <filesystem>

#include "tapegrad/autodiff/error.h"

namespace datasets {

namespace {

std::string find_file(const std::string& folder, const std::string& stem, const std::string& who) {
  std::filesystem::path plain = std::filesystem::path(folder) / stem;
  std::filesystem::path gz = std::filesystem::path(folder) / (stem + ".gz");
  std::error_code error;
  if (std::filesystem::exists(plain, error)) return plain.string();
  if (std::filesystem::exists(gz, error)) return gz.string();
  ad::fail("{}: {}: neither {} nor {}.gz is there", who, folder, stem, stem);
}

LabeledImages load_split(const std::string& folder, const std::string& prefix, const ImageFolderOptions& options) {
  LabeledImages split;
  split.images = load_idx(find_file(folder, prefix + "-images-idx3-ubyte", options.who), {.rank = 3});
  std::string labels_path = find_file(folder, prefix + "-labels-idx1-ubyte", options.who);
  split.labels = load_idx(labels_path, {.rank = 1});
  TG_CHECK(split.labels.count() == split.images.count(), "{}: {}: {} labels for {} images", options.who, labels_path,
           split.labels.count(), split.images.count());
  const size_t classes = options.class_names.size();
  for (size_t i = 0; i < split.labels.data.size(); ++i)
    TG_CHECK(split.labels.data[i] < classes, "{}: {}: label {} at index {} is not below the class count {}",
             options.who, labels_path, split.labels.data[i], i, classes);
  return split;
}

}  // namespace

ImageDataset load_image_folder(const std::string& folder, const ImageFolderOptions& options) {
  TG_CHECK(!options.class_names.empty(), "{}: no class names given", options.who);
  std::error_code error;
  TG_CHECK(std::filesystem::is_directory(folder, error), "{}: {}: no such folder", options.who, folder);
  return {.train = load_split(folder, "train", options),
          .test = load_split(folder, "t10k", options),
          .class_names = options.class_names};
}

namespace mnist {

std::vector<std::string> class_names() { return {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}; }

ImageDataset load(const std::string& folder) {
  return load_image_folder(folder, {.class_names = class_names(), .who = "mnist::load"});
}

}  // namespace mnist

}  // namespace datasets
