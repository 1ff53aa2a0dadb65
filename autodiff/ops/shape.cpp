// reshape, flatten and 2-D transpose. reshape shares the input's storage; its backward
// reshapes the gradient back.
#include "tapegrad/autodiff/ops.h"

namespace ad {

Var reshape(const Var& a, Shape shape) {
  Tensor out = a.value().reshape(std::move(shape));
  Node node;
  node.op = Op::Reshape;
  node.backward = [](const Node& n) { accumulate_grad(n, 0, n.output->grad.reshape(n.inputs[0]->value.shape())); };
  return make_result(std::move(out), std::move(node), {&a});
}

Var flatten(const Var& a) {
  TG_CHECK(a.value().rank() >= 1, "flatten: needs a batch axis, got a scalar");
  int64_t batch = a.shape()[0];
  int64_t features = batch ? a.size() / batch : element_count(Shape(a.shape().begin() + 1, a.shape().end()));
  return reshape(a, {batch, features});
}

namespace {
Tensor transposed(const Tensor& x) {
  int64_t r = x.shape()[0], c = x.shape()[1];
  Tensor out = Tensor::empty({c, r});
  for (int64_t i = 0; i < r; ++i)
    for (int64_t j = 0; j < c; ++j) out[j * r + i] = x[i * c + j];
  return out;
}
}  // namespace

Var transpose(const Var& a) {
  TG_CHECK(a.value().rank() == 2, "transpose: needs a 2-D operand, got shape {}", to_string(a.shape()));
  Node node;
  node.op = Op::Transpose;
  node.backward = [](const Node& n) { accumulate_grad(n, 0, transposed(n.output->grad)); };
  return make_result(transposed(a.value()), std::move(node), {&a});
}

}  // namespace ad
