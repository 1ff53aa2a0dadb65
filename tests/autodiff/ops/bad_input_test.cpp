// One table of bad inputs, one or more for every op: each must throw ad::Error whose message
// names the op and the shapes or values involved.
#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <limits>

#include "../test_util.h"

using ad::Tensor;
using ad::Var;

namespace {

Var c(ad::Shape shape) { return ad::constant(Tensor::ones(std::move(shape))); }
Var values(ad::Shape shape, std::initializer_list<float> v) { return ad::constant(Tensor::from(std::move(shape), v)); }
const float nan = std::numeric_limits<float>::quiet_NaN();

struct BadInput {
  const char* what;
  std::function<void()> call;
  std::vector<std::string> message_parts;
};

const std::vector<BadInput>& bad_inputs() {
  static const std::vector<BadInput> table = {
      {"matmul with different inner dimensions", [] { ad::matmul(c({32, 784}), c({300, 100})); },
       {"matmul: inner dimensions differ: [32,784] x [300,100]"}},
      {"matmul of a 3-D operand", [] { ad::matmul(c({2, 3, 4}), c({4, 2})); },
       {"matmul: needs two 2-D operands, got [2,3,4] x [4,2]"}},
      {"matmul of a vector", [] { ad::matmul(c({4}), c({4, 2})); }, {"matmul", "[4] x [4,2]"}},
      {"add of shapes that do not broadcast", [] { ad::add(c({3, 4}), c({3})); },
       {"add: shapes [3,4] and [3] cannot be broadcast together"}},
      {"sub of shapes that do not broadcast", [] { c({2, 3}) - c({3, 2}); }, {"sub", "[2,3] and [3,2]"}},
      {"mul of shapes that do not broadcast", [] { c({4, 1, 2}) * c({3, 3}); }, {"mul", "[4,1,2] and [3,3]"}},
      {"div of shapes that do not broadcast", [] { c({5}) / c({4}); }, {"div", "[5] and [4]"}},
      {"maximum of shapes that do not broadcast", [] { ad::maximum(c({2, 2}), c({3})); }, {"maximum", "[2,2] and [3]"}},
      {"minimum of shapes that do not broadcast", [] { ad::minimum(c({2}), c({3, 3})); }, {"minimum", "[2] and [3,3]"}},
      {"clip with low above high", [] { ad::clip(c({2}), 1.f, 0.f); }, {"clip: low 1 is above high 0"}},
      {"clip with NaN bounds", [] { ad::clip(c({2}), NAN, NAN); }, {"clip: the bounds must be numbers", "low nan"}},
      {"clip with a NaN low bound", [] { ad::clip(c({2}), NAN, 1.f); }, {"clip:", "low nan and high 1"}},
      {"clip with a NaN high bound", [] { ad::clip(c({2}), 0.f, NAN); }, {"clip:", "low 0 and high nan"}},
      {"sum along an axis past the rank", [] { ad::sum(c({3, 4}), 2); }, {"sum: axis 2 out of range for shape [3,4]"}},
      {"mean along a negative axis past the rank", [] { ad::mean(c({3, 4}), -3, true); },
       {"mean: axis -3 out of range for shape [3,4]"}},
      {"sum along an axis of a scalar", [] { ad::sum(c({}), 0); }, {"sum", "axis 0", "[]"}},
      {"mean of an empty tensor", [] { ad::mean(c({0, 3})); }, {"mean", "empty", "[0,3]"}},
      {"mean along an empty axis", [] { ad::mean(c({0, 3}), 0); }, {"mean", "axis 0", "[0,3]", "empty"}},
      {"reshape to another element count", [] { ad::reshape(c({3, 4}), {5, 2}); },
       {"reshape: shape [5,2] has 10 elements, tensor [3,4] has 12"}},
      {"flatten of a scalar", [] { ad::flatten(c({})); }, {"flatten", "scalar"}},
      {"transpose of a rank-3 tensor", [] { ad::transpose(c({2, 3, 4})); },
       {"transpose: needs a 2-D operand, got shape [2,3,4]"}},
      {"softmax of a scalar", [] { ad::softmax(c({})); }, {"softmax", "scalar"}},
      {"log_softmax of a scalar", [] { ad::log_softmax(c({})); }, {"log_softmax", "scalar"}},
      {"an element-wise op on an empty Var", [] { ad::exp(Var()); }, {"Var: used before it was given a value"}},
      {"sparse label above the classes", [] { ad::sparse_categorical_crossentropy(c({2, 3}), Tensor::from({2}, {0, 3})); },
       {"sparse_categorical_crossentropy: label 3 in row 1 is outside [0, 3)"}},
      {"negative sparse label",
       [] { ad::sparse_categorical_crossentropy(c({2, 3}), Tensor::from({2}, {-1, 0}), {.from_logits = true}); },
       {"sparse_categorical_crossentropy", "label -1 in row 0", "[0, 3)"}},
      {"non-integer sparse label", [] { ad::sparse_categorical_crossentropy(c({3, 3}), Tensor::from({3}, {0, 1, 1.5f})); },
       {"sparse_categorical_crossentropy: label 1.5 in row 2 is not a whole number"}},
      {"NaN sparse label", [] { ad::sparse_categorical_crossentropy(c({1, 3}), Tensor::from({1}, {nan})); },
       {"sparse_categorical_crossentropy", "label nan in row 0"}},
      {"wrong sparse label count", [] { ad::sparse_categorical_crossentropy(c({4, 3}), Tensor::zeros({3})); },
       {"sparse_categorical_crossentropy", "3 labels", "[3]", "[4,3]"}},
      {"sparse labels of the wrong shape", [] { ad::sparse_categorical_crossentropy(c({4, 3}), Tensor::zeros({2, 2})); },
       {"sparse_categorical_crossentropy", "[2,2]", "[4,3]"}},
      {"sparse prediction that is not a matrix", [] { ad::sparse_categorical_crossentropy(c({4}), Tensor::zeros({4})); },
       {"sparse_categorical_crossentropy: prediction must be [samples, classes], got [4]"}},
      {"sparse prediction without rows", [] { ad::sparse_categorical_crossentropy(c({0, 3}), Tensor::zeros({0})); },
       {"sparse_categorical_crossentropy: empty prediction [0,3]"}},
      {"mse target with NaN", [] { ad::mse_loss(c({2, 2}), values({2, 2}, {0, 1, nan, 0})); },
       {"mse_loss: target has NaN at flat index 2 (shape [2,2])"}},
      {"mse shapes that differ", [] { ad::mse_loss(c({4, 3}), c({3, 4})); },
       {"mse_loss: prediction [4,3] and target [3,4] have different shapes"}},
      {"mse of an empty prediction", [] { ad::mse_loss(c({0, 2}), c({0, 2})); }, {"mse_loss: empty prediction [0,2]"}},
      {"mae target with NaN", [] { ad::mae_loss(c({2}), values({2}, {nan, 0})); }, {"mae_loss", "NaN", "index 0"}},
      {"mae shapes that differ", [] { ad::mae_loss(c({4}), c({5})); }, {"mae_loss", "[4]", "[5]"}},
      {"huber delta of zero", [] { ad::huber_loss(c({2}), c({2}), 0.f); }, {"huber_loss: delta must be positive, got 0"}},
      {"huber delta below zero", [] { ad::huber_loss(c({2}), c({2}), -1.f); }, {"huber_loss", "got -1"}},
      {"huber of an empty prediction", [] { ad::huber_loss(c({0}), c({0})); }, {"huber_loss", "empty", "[0]"}},
      {"binary target above 1", [] { ad::binary_crossentropy(c({2}), values({2}, {0.5f, 1.5f})); },
       {"binary_crossentropy: target 1.5 at flat index 1 is outside [0, 1]"}},
      {"binary target below 0 with logits",
       [] { ad::binary_crossentropy(c({2}), values({2}, {-0.5f, 1}), {.from_logits = true}); },
       {"binary_crossentropy", "target -0.5", "[0, 1]"}},
      {"binary target with NaN", [] { ad::binary_crossentropy(c({2}), values({2}, {0, nan})); },
       {"binary_crossentropy", "NaN", "index 1"}},
      {"binary of an empty prediction", [] { ad::binary_crossentropy(c({0, 1}), c({0, 1})); },
       {"binary_crossentropy", "empty", "[0,1]"}},
      {"categorical shapes that differ", [] { ad::categorical_crossentropy(c({4, 3}), c({4, 2})); },
       {"categorical_crossentropy", "[4,3]", "[4,2]"}},
      {"categorical target with NaN",
       [] { ad::categorical_crossentropy(c({1, 2}), values({1, 2}, {nan, 1}), {.from_logits = true}); },
       {"categorical_crossentropy", "NaN"}},
      {"categorical target outside [0,1]", [] { ad::categorical_crossentropy(c({1, 2}), values({1, 2}, {2, -1})); },
       {"categorical_crossentropy", "target 2", "[0, 1]"}},
      {"categorical prediction that is not a matrix", [] { ad::categorical_crossentropy(c({3}), c({3})); },
       {"categorical_crossentropy", "[samples, classes]", "[3]"}},
      {"categorical of an empty prediction", [] { ad::categorical_crossentropy(c({0, 3}), c({0, 3})); },
       {"categorical_crossentropy: empty prediction [0,3]"}},
  };
  return table;
}

}  // namespace

TEST_CASE("bad input to any op throws an error naming the op and the shapes or values") {
  for (const BadInput& bad : bad_inputs()) {
    INFO(bad.what);
    std::string message = test::error_of(bad.call);
    for (const std::string& part : bad.message_parts) CHECK_MESSAGE(test::contains(message, part), message);
  }
}

TEST_CASE("bad input is rejected the same way while a tape records") {
  ad::Tape tape;
  Var p = ad::param(Tensor::ones({3, 4}));
  CHECK(test::contains(test::error_of([&] { ad::matmul(p, p); }), "matmul: inner dimensions differ: [3,4] x [3,4]"));
  CHECK(test::contains(test::error_of([&] { ad::add(p, c({3})); }), "add: shapes [3,4] and [3]"));
  CHECK(tape.size() == 0);  // nothing half-recorded
}
