// Element-wise functions: forward and the derivative used by backward, side by side.
// NaN propagates as IEEE arithmetic says: every op whose value or derivative is chosen by a
// comparison (relu, abs, sign, heaviside, clip, maximum, minimum) gives NaN where its input
// is NaN, in the value and in the gradient (a comparison with NaN is false, so a plain
// `x > 0 ? x : 0` would turn NaN into 0 and hide it from fit's NaN check).
#include <cmath>
#include <limits>

#include "tapegrad/autodiff/kernels/elementwise.h"
#include "tapegrad/autodiff/ops.h"

namespace ad {

namespace {

using kernels::map;
using kernels::map2;
using kernels::map3;

// The common shape of a unary op: output = f(a); backward multiplies the output gradient
// by a derivative computed from the input (saved[0]) and the output.
Var unary(Op op, const Var& a, Tensor out, BackwardFn backward) {
  Node node;
  node.op = op;
  node.backward = backward;
  return make_result(std::move(out), std::move(node), {&a});
}

const Tensor& input(const Node& n) { return n.inputs[0]->value; }
const Tensor& output(const Node& n) { return n.output->value; }
const Tensor& grad(const Node& n) { return n.output->grad; }

float stable_softplus(float x) { return x > 0 ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x)); }
// The value for NaN inputs of a comparison-based function: the NaN itself.
float nan_or(float x, float value) { return std::isnan(x) ? x : value; }
float nan_if_either(float x, float y, float value) {
  return std::isnan(x) || std::isnan(y) ? std::numeric_limits<float>::quiet_NaN() : value;
}

float logistic(float x) {
  if (x >= 0) return 1.f / (1.f + std::exp(-x));
  float e = std::exp(x);
  return e / (1.f + e);
}

}  // namespace

Var exp(const Var& a) {
  return unary(Op::Exp, a, map(a.value(), [](float x) { return std::exp(x); }), [](const Node& n) {
    accumulate_grad(n, 0, map2(grad(n), output(n), [](float g, float y) { return g * y; }));
  });
}

Var log(const Var& a) {
  return unary(Op::Log, a, map(a.value(), [](float x) { return std::log(x); }), [](const Node& n) {
    accumulate_grad(n, 0, map2(grad(n), input(n), [](float g, float x) { return g / x; }));
  });
}

Var square(const Var& a) {
  return unary(Op::Square, a, map(a.value(), [](float x) { return x * x; }), [](const Node& n) {
    accumulate_grad(n, 0, map2(grad(n), input(n), [](float g, float x) { return 2 * g * x; }));
  });
}

Var sqrt(const Var& a) {
  return unary(Op::Sqrt, a, map(a.value(), [](float x) { return std::sqrt(x); }), [](const Node& n) {
    accumulate_grad(n, 0, map2(grad(n), output(n), [](float g, float y) { return g * 0.5f / y; }));
  });
}

Var abs(const Var& a) {
  return unary(Op::Abs, a, map(a.value(), [](float x) { return std::fabs(x); }), [](const Node& n) {
    accumulate_grad(n, 0, map2(grad(n), input(n), [](float g, float x) {
      return x > 0 ? g : (x < 0 ? -g : nan_or(x, 0.f));
    }));
  });
}

Var relu(const Var& a) {
  return unary(Op::Relu, a, map(a.value(), [](float x) { return x <= 0 ? 0.f : x; }), [](const Node& n) {
    accumulate_grad(n, 0, map2(grad(n), output(n), [](float g, float y) { return y > 0 ? g : nan_or(y, 0.f); }));
  });
}

Var sigmoid(const Var& a) {
  // sigma' = sigma (1 - sigma): the output is all backward needs.
  return unary(Op::Sigmoid, a, map(a.value(), logistic), [](const Node& n) {
    accumulate_grad(n, 0, map2(grad(n), output(n), [](float g, float y) { return g * y * (1 - y); }));
  });
}

Var tanh(const Var& a) {
  return unary(Op::Tanh, a, map(a.value(), [](float x) { return std::tanh(x); }), [](const Node& n) {
    accumulate_grad(n, 0, map2(grad(n), output(n), [](float g, float y) { return g * (1 - y * y); }));
  });
}

Var softplus(const Var& a) {
  // softplus' = logistic
  return unary(Op::Softplus, a, map(a.value(), stable_softplus), [](const Node& n) {
    accumulate_grad(n, 0, map2(grad(n), input(n), [](float g, float x) { return g * logistic(x); }));
  });
}

Var heaviside(const Var& a) {
  // A step: its derivative is zero wherever it exists (NaN at NaN), so no gradient flows back.
  return unary(Op::Heaviside, a, map(a.value(), [](float x) { return x >= 0 ? 1.f : nan_or(x, 0.f); }),
               [](const Node& n) { accumulate_grad(n, 0, map(input(n), [](float x) { return nan_or(x, 0.f); })); });
}

Var sign(const Var& a) {
  return unary(Op::Sign, a, map(a.value(), [](float x) { return x > 0 ? 1.f : (x < 0 ? -1.f : nan_or(x, 0.f)); }),
               [](const Node& n) { accumulate_grad(n, 0, map(input(n), [](float x) { return nan_or(x, 0.f); })); });
}

Var clip(const Var& a, float low, float high) {
  TG_CHECK(!std::isnan(low) && !std::isnan(high), "clip: the bounds must be numbers, got low {} and high {}", low,
           high);
  TG_CHECK(low <= high, "clip: low {} is above high {}", low, high);
  Node node;
  node.op = Op::Clip;
  node.attrs = {low, high};
  node.backward = [](const Node& n) {
    float lo = static_cast<float>(n.attrs[0]), hi = static_cast<float>(n.attrs[1]);
    accumulate_grad(n, 0, map2(grad(n), input(n), [lo, hi](float g, float x) {
      return (x >= lo && x <= hi) ? g : nan_or(x, 0.f);
    }));
  };
  Tensor out = map(a.value(), [low, high](float x) { return x < low ? low : (x > high ? high : x); });
  return make_result(std::move(out), std::move(node), {&a});
}

namespace {

// maximum/minimum: the gradient goes to the chosen operand (ties: to the first). Where either
// operand is NaN the value is NaN (as numpy's and PyTorch's maximum, not fmax), and so are
// both gradients: max(x, y) = (x + y + |x - y|) / 2 has derivative (1 + sign(x - y)) / 2.
Var select_extreme(Op op, const Var& a, const Var& b) {
  Shape shape = broadcast_shape(a.shape(), b.shape(), op_name(op));
  Tensor av = broadcast_to(a.value(), shape), bv = broadcast_to(b.value(), shape);
  bool is_max = op == Op::Maximum;
  Tensor out = map2(av, bv, [is_max](float x, float y) {
    if (std::isnan(y)) return y;
    return is_max ? (x >= y ? x : nan_or(x, y)) : (x <= y ? x : nan_or(x, y));
  });
  Node node;
  node.op = op;
  node.saved = {av, bv};
  node.backward = [](const Node& n) {
    bool mx = n.op == Op::Maximum;
    const Tensor &x = n.saved[0], &y = n.saved[1];
    auto first = [mx](float g, float p, float q) { return (mx ? p >= q : p <= q) ? g : nan_if_either(p, q, 0.f); };
    auto second = [mx](float g, float p, float q) { return (mx ? p >= q : p <= q) ? 0.f : nan_if_either(p, q, g); };
    if (needs_grad(n, 0))
      accumulate_grad(n, 0, sum_to_shape(map3(grad(n), x, y, first), n.inputs[0]->value.shape()));
    if (needs_grad(n, 1))
      accumulate_grad(n, 1, sum_to_shape(map3(grad(n), x, y, second), n.inputs[1]->value.shape()));
  };
  return make_result(std::move(out), std::move(node), {&a, &b});
}

}  // namespace

Var maximum(const Var& a, const Var& b) { return select_extreme(Op::Maximum, a, b); }
Var minimum(const Var& a, const Var& b) { return select_extreme(Op::Minimum, a, b); }

}  // namespace ad
