/// @file
/// MNIST-style image classification datasets: four IDX files in one folder, named as the
/// original MNIST distribution names them (train-images-idx3-ubyte, train-labels-idx1-ubyte,
/// t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte), each plain or with a .gz suffix. Fashion
/// MNIST (datasets/fashion_mnist.h) uses the same layout.
///
/// @code
/// #include <tapegrad/datasets/to_tensor.h>
/// auto mnist = datasets::mnist::load("data/mnist");
/// mnist.train.images.shape;             // {60000, 28, 28}, uint8 pixels
/// mnist.train.labels.data[0];           // 5
/// ad::Tensor X = datasets::images_to_tensor(mnist.train.images);   // datasets/to_tensor.h
/// @endcode
///
/// Images stay uint8 (47 MB for 60,000 images rather than 188 MB as floats) until converted.
#pragma once
#include <string>
#include <vector>

#include "tapegrad/datasets/idx.h"

namespace datasets {

/// Images [n, rows, cols] and their labels [n], checked to agree in count and class range.
struct LabeledImages {
  IdxArray images;  ///< [n, rows, cols] grey levels 0-255
  IdxArray labels;  ///< [n] class indices
  /// Number of images.
  int64_t size() const { return images.count(); }
};

/// A training and a test set of labelled images with the names of their classes.
struct ImageDataset {
  LabeledImages train;  ///< the training files (train-images-idx3-ubyte, train-labels-idx1-ubyte)
  LabeledImages test;  ///< the test files (t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte)
  std::vector<std::string> class_names;  ///< index -> name, for printing predictions
};

/// What load_image_folder() checks labels against and whom its errors name.
struct ImageFolderOptions {
  std::vector<std::string> class_names = {};  ///< their count bounds every label
  std::string who = "load_image_folder";      ///< the function named in error messages
};

/// Loads the four files from `folder`; each may be plain or .gz (plain is used if both exist).
ImageDataset load_image_folder(const std::string& folder, const ImageFolderOptions& options);

namespace mnist {

/// The digits "0" to "9".
std::vector<std::string> class_names();

/// MNIST from a folder the user gives (no copy is installed by default).
ImageDataset load(const std::string& folder);

}  // namespace mnist

}  // namespace datasets
