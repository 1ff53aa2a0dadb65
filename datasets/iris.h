/// @file
/// The iris flower data set: 150 flowers, 50 of each of three species, four measurements each,
/// embedded in the library (it is small and public domain, so no file or download is needed).
///
/// @code
/// datasets::Iris iris = datasets::load_iris();
/// iris.features.shape();           // [150,4]: sepal length, sepal width, petal length, petal width (cm)
/// iris.labels[0];                  // 0 (setosa); 1 is versicolor, 2 virginica
/// iris.class_names[2];             // "virginica"
/// @endcode
#pragma once
#include <string>
#include <vector>

#include "tapegrad/autodiff/tensor.h"

namespace datasets {

/// Fisher's iris data set: 150 flowers, 4 measurements, 3 species.
struct Iris {
  ad::Tensor features;  ///< [150,4], in cm
  ad::Tensor labels;    ///< [150], class indices as floats, rows 0-49 setosa, 50-99 versicolor, 100-149 virginica
  std::vector<std::string> feature_names;  ///< sepal length, sepal width, petal length, petal width (cm)
  std::vector<std::string> class_names;  ///< setosa, versicolor, virginica
};

/// The 150 rows as published by Fisher (1936), held in the library: no file is read.
Iris load_iris();

}  // namespace datasets
