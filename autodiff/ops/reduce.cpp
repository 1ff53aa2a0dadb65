// sum and mean over all elements or along one axis. Backward spreads the output gradient
// back over the reduced elements (divided by their count for mean), as broadcast_to.
#include <algorithm>

#include "tapegrad/autodiff/op_defs.h"
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

// The public functions' axis (negative counts from the end) as the ops' non-negative one.
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

// ---- Over all elements ----

double total_of(const View& x) {
  double total = 0;
  for (int64_t i = 0; i < x.size; ++i) total += x.data[i];
  return total;
}

Var spread_all(const BackwardArgs& b, const Var& grad) {
  return apply(defs::broadcast_to, {grad}, ShapeAttrs{b.inputs[0].shape()});
}

// ---- Along one axis ----

const AxisAttrs& axis_attrs(const Attrs& attrs, const char* op) { return attrs_as<AxisAttrs>(attrs, op); }

// The output's shape; an empty axis has no mean (the message names mean, the function called).
Shape axis_shape(ShapeArgs s, const char* op, bool mean) {
  const AxisAttrs& a = axis_attrs(s.attrs, op);
  const Shape& x = *s.inputs[0];
  TG_CHECK(a.axis >= 0 && a.axis < static_cast<int64_t>(x.size()), "{}: axis {} out of range for shape {}", op,
           a.axis, to_string(x));
  TG_CHECK(!mean || x[static_cast<size_t>(a.axis)] > 0, "mean: axis {} of shape {} is empty", a.axis, to_string(x));
  return reduced_shape(x, a.axis, a.keepdims);
}

// out = factor * Σ along the axis.
void reduce_axis(const KernelArgs& k, const char* op, bool mean) {
  const View &x = k.in[0], &out = k.out[0];
  Split s = split_at(*x.shape, axis_attrs(k.attrs, op).axis);
  float factor = mean ? 1.f / static_cast<float>(s.length) : 1.f;
  const float* in = x.data;
  float* o = out.data;
  std::fill(o, o + out.size, 0.f);
  parallel_rows(s.outer, s.length * s.inner, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i)
      for (int64_t l = 0; l < s.length; ++l)
        for (int64_t j = 0; j < s.inner; ++j) o[i * s.inner + j] += in[(i * s.length + l) * s.inner + j];
  });
  if (factor != 1.f)
    for (int64_t i = 0; i < out.size; ++i) o[i] *= factor;
}

// The output's gradient back over the input: to the keepdims shape, then broadcast along the axis.
Var spread_axis(const BackwardArgs& b, const char* op, Var grad) {
  const AxisAttrs& a = axis_attrs(b.attrs, op);
  const Shape& x = b.inputs[0].shape();
  if (!a.keepdims) grad = ad::reshape(grad, reduced_shape(x, a.axis, true));
  return apply(defs::broadcast_to, {grad}, ShapeAttrs{x});
}

}  // namespace

namespace defs {

const OpDef sum_all{
    .name = "sum_all",
    .num_inputs = 1,
    .infer = [](ShapeArgs) { return Shape{}; },
    .forward = [](const KernelArgs& k) { k.out[0].data[0] = static_cast<float>(total_of(k.in[0])); },
    .backward = [](const BackwardArgs& b) -> Gradients { return {spread_all(b, b.grad)}; }};

const OpDef mean_all{
    .name = "mean_all",
    .num_inputs = 1,
    .infer =
        [](ShapeArgs s) {
          TG_CHECK(element_count(*s.inputs[0], "mean") > 0, "mean: the mean of an empty tensor {} is undefined",
                   to_string(*s.inputs[0]));
          return Shape{};
        },
    .forward =
        [](const KernelArgs& k) {
          k.out[0].data[0] = static_cast<float>(total_of(k.in[0]) / static_cast<double>(k.in[0].size));
        },
    // Divided, not multiplied by 1/n: the same rounding as the value's mean.
    .backward = [](const BackwardArgs& b) -> Gradients {
      return {spread_all(b, b.grad / static_cast<float>(b.inputs[0].size()))};
    }};

const OpDef sum_axis{
    .name = "sum_axis",
    .num_inputs = 1,
    .infer = [](ShapeArgs s) { return axis_shape(s, "sum_axis", false); },
    .forward = [](const KernelArgs& k) { reduce_axis(k, "sum_axis", false); },
    .backward = [](const BackwardArgs& b) -> Gradients { return {spread_axis(b, "sum_axis", b.grad)}; }};

const OpDef mean_axis{
    .name = "mean_axis",
    .num_inputs = 1,
    .infer = [](ShapeArgs s) { return axis_shape(s, "mean_axis", true); },
    .forward = [](const KernelArgs& k) { reduce_axis(k, "mean_axis", true); },
    .backward = [](const BackwardArgs& b) -> Gradients {
      const Shape& x = b.inputs[0].shape();
      int64_t length = x[static_cast<size_t>(axis_attrs(b.attrs, "mean_axis").axis)];
      return {spread_axis(b, "mean_axis", b.grad * (1.f / static_cast<float>(length)))};
    }};

}  // namespace defs

Var sum(const Var& a) { return apply(defs::sum_all, {a}); }
Var mean(const Var& a) { return apply(defs::mean_all, {a}); }

Var sum(const Var& a, int64_t axis, bool keepdims) {
  return apply(defs::sum_axis, {a}, AxisAttrs{static_cast<int32_t>(normalize_axis(a, axis, "sum")), keepdims});
}

Var mean(const Var& a, int64_t axis, bool keepdims) {
  return apply(defs::mean_axis, {a}, AxisAttrs{static_cast<int32_t>(normalize_axis(a, axis, "mean")), keepdims});
}

}  // namespace ad
