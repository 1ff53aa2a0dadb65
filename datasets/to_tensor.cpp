#include "tapegrad/datasets/to_tensor.h"

#include <array>

namespace datasets {

namespace {

ad::Tensor convert(const IdxArray& array, const std::array<float, 256>& table, const char* who) {
  ad::Shape shape(array.shape.begin(), array.shape.end());
  TG_CHECK(ad::element_count(shape, who) == static_cast<int64_t>(array.data.size()),
           "{}: shape {} needs {} bytes, the array holds {}", who, ad::to_string(shape), ad::element_count(shape, who),
           array.data.size());
  ad::Tensor out = ad::Tensor::empty(std::move(shape));
  float* values = out.data();
  for (size_t i = 0; i < array.data.size(); ++i) values[i] = table[array.data[i]];
  return out;
}

}  // namespace

ad::Tensor images_to_tensor(const IdxArray& images) {
  // A table rather than a division per pixel: the same values, and the loop vectorises.
  static const std::array<float, 256> scaled = [] {
    std::array<float, 256> table{};
    for (int b = 0; b < 256; ++b) table[b] = static_cast<float>(b) / 255.f;
    return table;
  }();
  return convert(images, scaled, "images_to_tensor");
}

ad::Tensor labels_to_tensor(const IdxArray& labels) {
  TG_CHECK(labels.shape.size() == 1, "labels_to_tensor: labels must have rank 1, got shape {}",
           ad::to_string(ad::Shape(labels.shape.begin(), labels.shape.end())));
  static const std::array<float, 256> identity = [] {
    std::array<float, 256> table{};
    for (int b = 0; b < 256; ++b) table[b] = static_cast<float>(b);
    return table;
  }();
  return convert(labels, identity, "labels_to_tensor");
}

}  // namespace datasets
