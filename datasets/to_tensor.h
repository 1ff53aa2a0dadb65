/// @file
/// Turns the compact uint8 arrays of the IDX datasets into float tensors for training:
/// pixels scaled to [0, 1] (x / 255, as the book does), labels as float class indices.
///
/// @code
/// #include <tapegrad/datasets/fashion_mnist.h>
/// auto data = datasets::fashion_mnist::load();
/// ad::Tensor X_train = datasets::images_to_tensor(data.train.images);   // [60000,28,28]
/// ad::Tensor y_train = datasets::labels_to_tensor(data.train.labels);   // [60000]
/// @endcode
#pragma once
#include "tapegrad/autodiff/tensor.h"
#include "tapegrad/datasets/idx.h"

namespace datasets {

/// Same shape as the array, each byte b becoming b / 255.
ad::Tensor images_to_tensor(const IdxArray& images);
/// A rank-1 array of class indices as floats, shape [n].
ad::Tensor labels_to_tensor(const IdxArray& labels);

}  // namespace datasets
