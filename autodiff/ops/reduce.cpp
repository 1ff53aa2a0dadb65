// sum and mean over all elements or along one axis. Backward spreads the output gradient
// back over the reduced elements (divided by their count for mean).
#include <utility>

#include "tapegrad/autodiff/ops.h"
#include "tapegrad/autodiff/threading.h"

namespace ad {

namespace {

// The tensor seen as [outer, length, inner] around the reduced axis.
struct Split {
  int64_t outer = 1, length = 1, inner = 1;
};

Split split_at(const Shape& shape, int64_t axis) {
  Split s;
  for (int64_t i = 0; i < static_cast<int64_t>(shape.size()); ++i) {
    if (i < axis) s.outer *= shape[static_cast<size_t>(i)];
    else if (i == axis) s.length = shape[static_cast<size_t>(i)];
    else s.inner *= shape[static_cast<size_t>(i)];
  }
  return s;
}

int64_t normalize_axis(const Var& a, int64_t axis, const char* op) {
  int64_t r = a.value().rank();
  TG_CHECK(axis >= -r && axis < r, "{}: axis {} out of range for shape {}", op, axis, to_string(a.shape()));
  return axis < 0 ? axis + r : axis;
}

Shape reduced_shape(const Shape& shape, int64_t axis, bool keepdims) {
  Shape out = shape;
  if (keepdims) out[static_cast<size_t>(axis)] = 1;
  else out.erase(out.begin() + axis);
  return out;
}

Tensor reduce_axis(const Tensor& x, int64_t axis, bool keepdims, float factor) {
  Split s = split_at(x.shape(), axis);
  Tensor out = Tensor::zeros(reduced_shape(x.shape(), axis, keepdims));
  const float* in = x.data();
  float* o = out.data();
  parallel_rows(s.outer, s.length * s.inner, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i)
      for (int64_t l = 0; l < s.length; ++l)
        for (int64_t j = 0; j < s.inner; ++j) o[i * s.inner + j] += in[(i * s.length + l) * s.inner + j];
  });
  if (factor != 1.f)
    for (float& v : out.values()) v *= factor;
  return out;
}

Var reduce_all(Op op, const Var& a) {
  double total = 0;
  for (float v : a.value().values()) total += v;
  int64_t n = a.size();
  if (op == Op::Mean) {
    TG_CHECK(n > 0, "mean: the mean of an empty tensor {} is undefined", to_string(a.shape()));
    total /= static_cast<double>(n);
  }
  Node node;
  node.op = op;
  node.axis = -1;
  node.backward = [](const Node& nd) {
    const Tensor& x = nd.inputs[0]->value;
    float g = nd.output->grad[0];
    if (nd.op == Op::Mean) g /= static_cast<float>(x.size());
    accumulate_grad(nd, 0, Tensor::full(x.shape(), g));
  };
  return make_result(Tensor::scalar(static_cast<float>(total)), std::move(node), {&a});
}

Var reduce(Op op, const Var& a, int64_t axis, bool keepdims) {
  axis = normalize_axis(a, axis, op_name(op));
  int64_t length = a.shape()[static_cast<size_t>(axis)];
  TG_CHECK(op != Op::Mean || length > 0, "mean: axis {} of shape {} is empty", axis, to_string(a.shape()));
  float factor = op == Op::Mean ? 1.f / static_cast<float>(length) : 1.f;
  Node node;
  node.op = op;
  node.axis = axis;
  node.keepdims = keepdims;
  node.attrs[0] = factor;
  node.backward = [](const Node& nd) {
    const Tensor& x = nd.inputs[0]->value;
    Split s = split_at(x.shape(), nd.axis);
    const float* g = nd.output->grad.data();
    float f = static_cast<float>(nd.attrs[0]);
    Tensor d = Tensor::empty(x.shape());
    float* o = d.data();
    for (int64_t i = 0; i < s.outer; ++i)
      for (int64_t l = 0; l < s.length; ++l)
        for (int64_t j = 0; j < s.inner; ++j) o[(i * s.length + l) * s.inner + j] = g[i * s.inner + j] * f;
    accumulate_grad(nd, 0, std::move(d));
  };
  return make_result(reduce_axis(a.value(), axis, keepdims, factor), std::move(node), {&a});
}

}  // namespace

Var sum(const Var& a) { return reduce_all(Op::Sum, a); }
Var mean(const Var& a) { return reduce_all(Op::Mean, a); }
Var sum(const Var& a, int64_t axis, bool keepdims) { return reduce(Op::Sum, a, axis, keepdims); }
Var mean(const Var& a, int64_t axis, bool keepdims) { return reduce(Op::Mean, a, axis, keepdims); }

}  // namespace ad
