// Element-wise functions: forward kernels and backward rules side by side.
// NaN propagates as IEEE arithmetic says: every op whose value or derivative is chosen by a
// comparison (relu, abs, sign, heaviside, clip, maximum, minimum) gives NaN where its input
// is NaN, in the value and in the gradient (a comparison with NaN is false, so a plain
// `x > 0 ? x : 0` would turn NaN into 0 and hide it from fit's NaN check).
#include <cmath>
#include <limits>

#include "tapegrad/autodiff/kernels/broadcast.h"
#include "tapegrad/autodiff/kernels/vector_math.h"
#include "tapegrad/autodiff/op_defs.h"
#include "tapegrad/autodiff/ops.h"

namespace ad {

namespace {

// The value for NaN inputs of a comparison-based function: the NaN itself.
float nan_or(float x, float value) { return std::isnan(x) ? x : value; }
float nan_if_either(float x, float y, float value) {
  return std::isnan(x) || std::isnan(y) ? std::numeric_limits<float>::quiet_NaN() : value;
}

float relu_value(float x) { return x <= 0 ? 0.f : x; }
float heaviside_value(float x) { return x >= 0 ? 1.f : nan_or(x, 0.f); }
float sign_value(float x) { return x > 0 ? 1.f : (x < 0 ? -1.f : nan_or(x, 0.f)); }
float log_value(float x) { return std::log(x); }
float square_value(float x) { return x * x; }
float sqrt_value(float x) { return std::sqrt(x); }
float abs_value(float x) { return std::fabs(x); }
// The zero derivative of a step, NaN where the input is NaN.
float step_derivative(float x) { return nan_or(x, 0.f); }

Shape same_shape_as_input(ShapeArgs s) { return *s.inputs[0]; }

// The inputs of a gradient op (y, dy) must agree.
template <const char* Name>
Shape same_shapes(ShapeArgs s) {
  TG_CHECK(*s.inputs[0] == *s.inputs[1], "{}: shapes {} and {} differ", Name, to_string(*s.inputs[0]),
           to_string(*s.inputs[1]));
  return *s.inputs[0];
}

constexpr char kReluGrad[] = "relu_grad", kSigmoidGrad[] = "sigmoid_grad", kTanhGrad[] = "tanh_grad",
               kSoftplusGrad[] = "softplus_grad", kClipGrad[] = "clip_grad";

template <float (*F)(float)>
void unary_kernel(const KernelArgs& k) {
  const float* x = k.in[0].data;
  float* o = k.out[0].data;
  parallel_range(k.out[0].size, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) o[i] = F(x[i]);
  });
}

// tanh, exp, sigmoid and softplus through libmvec's vector functions, the same call for every
// element (kernels/vector_math.h).
template <void (*F)(const float*, float*, int64_t)>
void vector_kernel(const KernelArgs& k) {
  const float* x = k.in[0].data;
  float* o = k.out[0].data;
  parallel_range(k.out[0].size, [&](int64_t lo, int64_t hi) { F(x + lo, o + lo, hi - lo); });
}

template <float (*F)(float, float)>
void pair_kernel(const KernelArgs& k) {
  const float *x = k.in[0].data, *y = k.in[1].data;
  float* o = k.out[0].data;
  parallel_range(k.out[0].size, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) o[i] = F(x[i], y[i]);
  });
}

// Gradients from the output y and the output gradient dy.
float relu_derivative(float y, float g) { return y > 0 ? g : nan_or(y, 0.f); }
float sigmoid_derivative(float y, float g) { return g * y * (1 - y); }
float tanh_derivative(float y, float g) { return g * (1 - y * y); }

const ClipAttrs& clip_attrs(const Attrs& a) { return attrs_as<ClipAttrs>(a, "clip"); }

// maximum/minimum: the gradient goes to the chosen operand (ties: to the first). Where either
// operand is NaN the value is NaN (as numpy's and PyTorch's maximum, not fmax), and so are
// both gradients: max(x, y) = (x + y + |x - y|) / 2 has derivative (1 + sign(x - y)) / 2.
template <bool Max>
float extreme_value(float x, float y) {
  if (std::isnan(y)) return y;
  return Max ? (x >= y ? x : nan_or(x, y)) : (x <= y ? x : nan_or(x, y));
}

template <bool Max>
Gradients extreme_backward(const BackwardArgs& b) {
  Gradients grads(2, Var());
  for (int i = 0; i < 2; ++i) {
    if (!b.needs[static_cast<size_t>(i)]) continue;
    Var g = apply(defs::extreme_grad, {b.inputs[0], b.inputs[1], b.grad}, ExtremeGradAttrs{.maximum = Max, .operand = i});
    grads[static_cast<size_t>(i)] = g.shape() == b.inputs[static_cast<size_t>(i)].shape()
                                        ? g
                                        : apply(defs::sum_to, {g}, ShapeAttrs{b.inputs[static_cast<size_t>(i)].shape()});
  }
  return grads;
}

Var grad_op(const OpDef& op, const BackwardArgs& b) { return apply(op, {b.output, b.grad}); }

}  // namespace

namespace defs {

const OpDef exp{.name = "exp", .infer = same_shape_as_input, .forward = vector_kernel<kernels::exp_values>,
                .backward = [](const BackwardArgs& b) -> Gradients { return {ad::mul(b.grad, b.output)}; }};

const OpDef log{.name = "log", .infer = same_shape_as_input, .forward = unary_kernel<log_value>,
                .backward = [](const BackwardArgs& b) -> Gradients { return {ad::div(b.grad, b.inputs[0])}; }};

const OpDef square{.name = "square", .infer = same_shape_as_input, .forward = unary_kernel<square_value>,
                   .backward = [](const BackwardArgs& b) -> Gradients { return {ad::mul(b.grad, b.inputs[0] * 2.f)}; }};

const OpDef sqrt{.name = "sqrt", .infer = same_shape_as_input, .forward = unary_kernel<sqrt_value>,
                 .backward = [](const BackwardArgs& b) -> Gradients { return {ad::div(b.grad * 0.5f, b.output)}; }};

// |a|' = sign(a): 0 at 0, NaN at NaN.
const OpDef abs{.name = "abs", .infer = same_shape_as_input, .forward = unary_kernel<abs_value>,
                .backward = [](const BackwardArgs& b) -> Gradients { return {ad::mul(b.grad, ad::sign(b.inputs[0]))}; }};

// relu' = 1 where the output is positive, else 0 (0 at 0, as PyTorch).
const OpDef relu{.name = "relu", .infer = same_shape_as_input, .forward = unary_kernel<relu_value>,
                 .backward = [](const BackwardArgs& b) -> Gradients { return {grad_op(defs::relu_grad, b)}; }};

// σ' = σ(1 - σ): the output is all backward needs.
const OpDef sigmoid{.name = "sigmoid", .infer = same_shape_as_input, .forward = vector_kernel<kernels::sigmoid_values>,
                    .backward = [](const BackwardArgs& b) -> Gradients { return {grad_op(defs::sigmoid_grad, b)}; }};

const OpDef tanh{.name = "tanh", .infer = same_shape_as_input, .forward = vector_kernel<kernels::tanh_values>,
                 .backward = [](const BackwardArgs& b) -> Gradients { return {grad_op(defs::tanh_grad, b)}; }};

// softplus' = sigmoid = 1 - exp(-softplus): from the output, as relu's, sigmoid's and tanh's, so
// that the graph fuses softplus into a dense layer like them (graph/fuse_dense.cpp).
const OpDef softplus{.name = "softplus", .infer = same_shape_as_input, .forward = vector_kernel<kernels::softplus_values>,
                     .backward = [](const BackwardArgs& b) -> Gradients { return {grad_op(defs::softplus_grad, b)}; }};

// Steps: their derivative is zero wherever it exists (NaN at NaN), so no gradient flows back.
const OpDef heaviside{.name = "heaviside", .infer = same_shape_as_input, .forward = unary_kernel<heaviside_value>,
                      .backward = [](const BackwardArgs& b) -> Gradients { return {apply(defs::step_grad, {b.inputs[0]})}; }};

const OpDef sign{.name = "sign", .infer = same_shape_as_input, .forward = unary_kernel<sign_value>,
                 .backward = [](const BackwardArgs& b) -> Gradients { return {apply(defs::step_grad, {b.inputs[0]})}; }};

const OpDef clip{
    .name = "clip",
    .infer =
        [](ShapeArgs s) {
          const ClipAttrs& c = clip_attrs(s.attrs);
          TG_CHECK(!std::isnan(c.low) && !std::isnan(c.high), "clip: the bounds must be numbers, got low {} and high {}",
                   c.low, c.high);
          TG_CHECK(c.low <= c.high, "clip: low {} is above high {}", c.low, c.high);
          return *s.inputs[0];
        },
    .forward =
        [](const KernelArgs& k) {
          const ClipAttrs& c = clip_attrs(k.attrs);
          float low = c.low, high = c.high;
          const float* x = k.in[0].data;
          float* o = k.out[0].data;
          parallel_range(k.out[0].size, [&](int64_t lo, int64_t hi) {
            for (int64_t i = lo; i < hi; ++i) o[i] = x[i] < low ? low : (x[i] > high ? high : x[i]);
          });
        },
    .backward = [](const BackwardArgs& b) -> Gradients {
      return {apply(defs::clip_grad, {b.inputs[0], b.grad}, b.attrs)};
    }};

const OpDef maximum{
    .name = "maximum",
    .num_inputs = 2,
    .infer = [](ShapeArgs s) { return broadcast_shape(*s.inputs[0], *s.inputs[1], "maximum"); },
    .forward = [](const KernelArgs& k) { kernels::binary_broadcast(k.in[0], k.in[1], k.out[0], extreme_value<true>); },
    .backward = extreme_backward<true>};

const OpDef minimum{
    .name = "minimum",
    .num_inputs = 2,
    .infer = [](ShapeArgs s) { return broadcast_shape(*s.inputs[0], *s.inputs[1], "minimum"); },
    .forward = [](const KernelArgs& k) { kernels::binary_broadcast(k.in[0], k.in[1], k.out[0], extreme_value<false>); },
    .backward = extreme_backward<false>};

// ---- The gradient ops of the rules above (no gradient of their own) ----

const OpDef relu_grad{.name = "relu_grad", .num_inputs = 2, .infer = same_shapes<kReluGrad>, .forward = pair_kernel<relu_derivative>};
const OpDef sigmoid_grad{.name = "sigmoid_grad", .num_inputs = 2, .infer = same_shapes<kSigmoidGrad>, .forward = pair_kernel<sigmoid_derivative>};
const OpDef tanh_grad{.name = "tanh_grad", .num_inputs = 2, .infer = same_shapes<kTanhGrad>, .forward = pair_kernel<tanh_derivative>};
const OpDef softplus_grad{.name = "softplus_grad", .num_inputs = 2, .infer = same_shapes<kSoftplusGrad>,
                          .forward = [](const KernelArgs& k) {
                            const float *y = k.in[0].data, *g = k.in[1].data;
                            float* o = k.out[0].data;
                            parallel_range(k.out[0].size, [&](int64_t lo, int64_t hi) {
                              kernels::softplus_derivative_values(y + lo, g + lo, o + lo, hi - lo);
                            });
                          }};
const OpDef step_grad{.name = "step_grad", .infer = same_shape_as_input, .forward = unary_kernel<step_derivative>};

// clip_grad(x, dy): dy inside [low, high] (bounds included), 0 outside, NaN where x is NaN.
const OpDef clip_grad{
    .name = "clip_grad",
    .num_inputs = 2,
    .infer = same_shapes<kClipGrad>,
    .forward = [](const KernelArgs& k) {
      const ClipAttrs& c = clip_attrs(k.attrs);
      float low = c.low, high = c.high;
      const float *x = k.in[0].data, *g = k.in[1].data;
      float* o = k.out[0].data;
      parallel_range(k.out[0].size, [&](int64_t lo, int64_t hi) {
        for (int64_t i = lo; i < hi; ++i) o[i] = (x[i] >= low && x[i] <= high) ? g[i] : nan_or(x[i], 0.f);
      });
    }};

// extreme_grad(a, b, dy): dy's share for operand 0 or 1 of maximum/minimum, in dy's shape.
const OpDef extreme_grad{
    .name = "extreme_grad",
    .num_inputs = 3,
    .infer =
        [](ShapeArgs s) {
          const auto& e = attrs_as<ExtremeGradAttrs>(s.attrs, "extreme_grad");
          TG_CHECK(e.operand == 0 || e.operand == 1, "extreme_grad: operand must be 0 or 1, got {}", e.operand);
          TG_CHECK(broadcast_shape(*s.inputs[0], *s.inputs[1], "extreme_grad") == *s.inputs[2],
                   "extreme_grad: operands {} and {} do not broadcast to the gradient's shape {}",
                   to_string(*s.inputs[0]), to_string(*s.inputs[1]), to_string(*s.inputs[2]));
          return *s.inputs[2];
        },
    .forward = [](const KernelArgs& k) {
      const ExtremeGradAttrs& e = attrs_as<ExtremeGradAttrs>(k.attrs, "extreme_grad");
      const float *x = k.in[0].data, *y = k.in[1].data, *g = k.in[2].data;
      float* o = k.out[0].data;
      bool mx = e.maximum, first = e.operand == 0;
      kernels::for_each_broadcast(*k.in[0].shape, *k.in[1].shape, *k.out[0].shape, [&](int64_t i, int64_t ia, int64_t ib) {
        float p = x[ia], q = y[ib];
        bool chosen = mx ? p >= q : p <= q;
        o[i] = first ? (chosen ? g[i] : nan_if_either(p, q, 0.f)) : (chosen ? 0.f : nan_if_either(p, q, g[i]));
      });
    }};

}  // namespace defs

Var exp(const Var& a) { return apply(defs::exp, {a}); }
Var log(const Var& a) { return apply(defs::log, {a}); }
Var square(const Var& a) { return apply(defs::square, {a}); }
Var sqrt(const Var& a) { return apply(defs::sqrt, {a}); }
Var abs(const Var& a) { return apply(defs::abs, {a}); }
Var relu(const Var& a) { return apply(defs::relu, {a}); }
Var sigmoid(const Var& a) { return apply(defs::sigmoid, {a}); }
Var tanh(const Var& a) { return apply(defs::tanh, {a}); }
Var softplus(const Var& a) { return apply(defs::softplus, {a}); }
Var heaviside(const Var& a) { return apply(defs::heaviside, {a}); }
Var sign(const Var& a) { return apply(defs::sign, {a}); }
Var clip(const Var& a, float low, float high) { return apply(defs::clip, {a}, ClipAttrs{.low = low, .high = high}); }
Var maximum(const Var& a, const Var& b) { return apply(defs::maximum, {a, b}); }
Var minimum(const Var& a, const Var& b) { return apply(defs::minimum, {a, b}); }

}  // namespace ad
