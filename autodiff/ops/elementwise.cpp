// Element-wise functions: forward and the derivative used by backward, side by side.
#include <cmath>

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
      return x > 0 ? g : (x < 0 ? -g : 0.f);
    }));
  });
}

Var relu(const Var& a) {
  return unary(Op::Relu, a, map(a.value(), [](float x) { return x > 0 ? x : 0.f; }), [](const Node& n) {
    accumulate_grad(n, 0, map2(grad(n), output(n), [](float g, float y) { return y > 0 ? g : 0.f; }));
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
  // A step: its derivative is zero wherever it exists, so no gradient flows back.
  return unary(Op::Heaviside, a, map(a.value(), [](float x) { return x >= 0 ? 1.f : 0.f; }), [](const Node& n) {
    accumulate_grad(n, 0, Tensor::zeros(input(n).shape()));
  });
}

Var sign(const Var& a) {
  return unary(Op::Sign, a, map(a.value(), [](float x) { return x > 0 ? 1.f : (x < 0 ? -1.f : 0.f); }),
               [](const Node& n) { accumulate_grad(n, 0, Tensor::zeros(input(n).shape())); });
}

Var clip(const Var& a, float low, float high) {
  TG_CHECK(!(low > high), "clip: low {} is above high {}", low, high);
  Node node;
  node.op = Op::Clip;
  node.attrs = {low, high};
  node.backward = [](const Node& n) {
    float lo = static_cast<float>(n.attrs[0]), hi = static_cast<float>(n.attrs[1]);
    accumulate_grad(n, 0, map2(grad(n), input(n), [lo, hi](float g, float x) {
      return (x >= lo && x <= hi) ? g : 0.f;
    }));
  };
  Tensor out = map(a.value(), [low, high](float x) { return x < low ? low : (x > high ? high : x); });
  return make_result(std::move(out), std::move(node), {&a});
}

namespace {

// maximum/minimum: the gradient goes to the chosen operand (ties: to the first).
Var select_extreme(Op op, const Var& a, const Var& b) {
  Shape shape = broadcast_shape(a.shape(), b.shape(), op_name(op));
  Tensor av = broadcast_to(a.value(), shape), bv = broadcast_to(b.value(), shape);
  bool is_max = op == Op::Maximum;
  Tensor out = map2(av, bv, [is_max](float x, float y) { return is_max ? (x >= y ? x : y) : (x <= y ? x : y); });
  Node node;
  node.op = op;
  node.saved = {av, bv};
  node.backward = [](const Node& n) {
    bool mx = n.op == Op::Maximum;
    const Tensor &x = n.saved[0], &y = n.saved[1];
    auto first = [mx](float g, float p, float q) { return (mx ? p >= q : p <= q) ? g : 0.f; };
    auto second = [mx](float g, float p, float q) { return (mx ? p >= q : p <= q) ? 0.f : g; };
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
