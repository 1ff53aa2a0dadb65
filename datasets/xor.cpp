#include "tapegrad/datasets/xor.h"

namespace datasets {

Xor load_xor() {
  return {.inputs = ad::Tensor::from({4, 2}, {0, 0, 0, 1, 1, 0, 1, 1}),
          .targets = ad::Tensor::from({4, 1}, {0, 1, 1, 0})};
}

}  // namespace datasets
