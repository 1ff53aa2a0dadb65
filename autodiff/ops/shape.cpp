// reshape, flatten and 2-D transpose. Eagerly reshape is a view sharing the input's storage; in
// a graph its kernel copies. Its backward reshapes the gradient back, transpose's transposes it.
#include <cstring>
#include <utility>

#include "tapegrad/autodiff/op_defs.h"
#include "tapegrad/autodiff/ops.h"
#include "tapegrad/autodiff/threading.h"

namespace ad {

namespace defs {

const OpDef reshape{
    .name = "reshape",
    .num_inputs = 1,
    .infer = [](ShapeArgs s) { return ad::reshaped(attrs_as<ShapeAttrs>(s.attrs, "reshape").shape, *s.inputs[0]); },
    .forward =
        [](const KernelArgs& k) {
          if (k.out[0].size > 0)
            std::memcpy(k.out[0].data, k.in[0].data, static_cast<size_t>(k.out[0].size) * sizeof(float));
        },
    .backward = [](const BackwardArgs& b) -> Gradients { return {ad::reshape(b.grad, b.inputs[0].shape())}; },
    .view = [](const Tensor& x, const Attrs& a) { return x.reshape(attrs_as<ShapeAttrs>(a, "reshape").shape); }};

const OpDef transpose{
    .name = "transpose",
    .num_inputs = 1,
    .infer =
        [](ShapeArgs s) {
          const Shape& x = *s.inputs[0];
          TG_CHECK(x.size() == 2, "transpose: needs a 2-D operand, got shape {}", to_string(x));
          return Shape{x[1], x[0]};
        },
    .forward =
        [](const KernelArgs& k) {
          int64_t r = (*k.in[0].shape)[0], c = (*k.in[0].shape)[1];
          const float* x = k.in[0].data;
          float* out = k.out[0].data;
          parallel_rows(r, c, [&](int64_t lo, int64_t hi) {
            for (int64_t i = lo; i < hi; ++i)
              for (int64_t j = 0; j < c; ++j) out[j * r + i] = x[i * c + j];
          });
        },
    .backward = [](const BackwardArgs& b) -> Gradients { return {ad::transpose(b.grad)}; }};

}  // namespace defs

Var reshape(const Var& a, Shape shape) { return apply(defs::reshape, {a}, ShapeAttrs{std::move(shape)}); }

Var flatten(const Var& a) {
  TG_CHECK(a.value().rank() >= 1, "flatten: needs a batch axis, got a scalar");
  int64_t batch = a.shape()[0];
  int64_t features = batch ? a.size() / batch : element_count(Shape(a.shape().begin() + 1, a.shape().end()));
  return reshape(a, {batch, features});
}

Var transpose(const Var& a) { return apply(defs::transpose, {a}); }

}  // namespace ad
