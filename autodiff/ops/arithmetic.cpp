// add, sub, mul, div with numpy broadcasting, and neg. Backward sums each operand's gradient
// back down to its own shape.
#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>

#include "tapegrad/autodiff/kernels/elementwise.h"
#include "tapegrad/autodiff/ops.h"

namespace ad {

Shape broadcast_shape(const Shape& a, const Shape& b, const char* op) {
  if (a == b) return a;
  size_t rank = std::max(a.size(), b.size());
  Shape out(rank);
  for (size_t i = 0; i < rank; ++i) {
    int64_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
    int64_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
    if (da != db && da != 1 && db != 1)
      fail("{}: shapes {} and {} cannot be broadcast together", op, to_string(a), to_string(b));
    out[i] = da == 1 ? db : da;
  }
  return out;
}

namespace {

// Strides of `shape` seen as `target` (rank-aligned from the right): 0 along stretched axes.
std::vector<int64_t> broadcast_strides(const Shape& shape, const Shape& target) {
  std::vector<int64_t> strides(target.size(), 0);
  int64_t stride = 1;
  for (size_t i = shape.size(); i-- > 0;) {
    size_t t = i + (target.size() - shape.size());
    strides[t] = shape[i] == 1 ? 0 : stride;
    stride *= shape[i];
  }
  return strides;
}

// Visits every element of `target` with the flat offset of the corresponding element of a
// tensor of `shape` broadcast to it.
template <typename F>
void for_each_broadcast(const Shape& shape, const Shape& target, F f) {
  int64_t count = element_count(target);
  if (count == 0) return;
  std::vector<int64_t> strides = broadcast_strides(shape, target), index(target.size(), 0);
  int64_t offset = 0;
  for (int64_t flat = 0; flat < count; ++flat) {
    f(flat, offset);
    for (size_t axis = target.size(); axis-- > 0;) {
      offset += strides[axis];
      if (++index[axis] < target[axis]) break;
      offset -= strides[axis] * target[axis];
      index[axis] = 0;
    }
  }
}

// The common case of a bias: b has the size of a's last axis and repeats over its rows.
bool is_row_broadcast(const Shape& a, const Shape& b) {
  if (a.empty() || b.empty() || b.size() > a.size() || b.back() != a.back()) return false;
  for (size_t i = 0; i + 1 < b.size(); ++i)
    if (b[i] != 1) return false;
  return true;
}

template <typename F>
Tensor broadcast_binary(const Tensor& a, const Tensor& b, const Shape& shape, F f) {
  if (a.shape() == shape && b.shape() == shape) return kernels::map2(a, b, f);
  if (a.shape() == shape && b.size() == 1) {
    float s = b[0];
    return kernels::map(a, [&](float x) { return f(x, s); });
  }
  if (b.shape() == shape && a.size() == 1) {
    float s = a[0];
    return kernels::map(b, [&](float y) { return f(s, y); });
  }
  Tensor out = Tensor::empty(shape);
  if (a.shape() == shape && is_row_broadcast(shape, b.shape())) {
    int64_t n = b.size(), rows = n ? a.size() / n : 0;
    const float *x = a.data(), *y = b.data();
    float* o = out.data();
    parallel_range(rows, [&](int64_t lo, int64_t hi) {
      for (int64_t r = lo; r < hi; ++r)
        for (int64_t j = 0; j < n; ++j) o[r * n + j] = f(x[r * n + j], y[j]);
    });
    return out;
  }
  Tensor ab = broadcast_to(a, shape), bb = broadcast_to(b, shape);
  return kernels::map2(ab, bb, f);
}

Var binary(Op op, const Var& a, const Var& b, BackwardFn backward) {
  Shape shape = broadcast_shape(a.shape(), b.shape(), op_name(op));
  Tensor out;
  switch (op) {
    case Op::Add: out = broadcast_binary(a.value(), b.value(), shape, [](float x, float y) { return x + y; }); break;
    case Op::Sub: out = broadcast_binary(a.value(), b.value(), shape, [](float x, float y) { return x - y; }); break;
    case Op::Mul: out = broadcast_binary(a.value(), b.value(), shape, [](float x, float y) { return x * y; }); break;
    default: out = broadcast_binary(a.value(), b.value(), shape, [](float x, float y) { return x / y; }); break;
  }
  Node node;
  node.op = op;
  node.backward = backward;
  return make_result(std::move(out), std::move(node), {&a, &b});
}

const Tensor& grad(const Node& n) { return n.output->grad; }
const Tensor& value(const Node& n, int i) { return n.inputs[static_cast<size_t>(i)]->value; }
const Shape& shape(const Node& n, int i) { return value(n, i).shape(); }

// The constant leaf behind `x + 2.f`. A training loop makes the same few constants on every
// step, so each thread keeps its last few: they are never written to, and sharing them saves
// an allocation per op.
Var scalar(float v) {
  struct Recent {
    uint32_t bits = 0;
    Var var;
  };
  constexpr size_t kKept = 8;
  thread_local std::array<Recent, kKept> recent;
  thread_local size_t next = 0;
  uint32_t bits = std::bit_cast<uint32_t>(v);
  for (const Recent& r : recent)
    if (r.var.defined() && r.bits == bits) return r.var;
  Var made = constant(Tensor::scalar(v));
  recent[next++ % kKept] = {bits, made};
  return made;
}

}  // namespace

Tensor broadcast_to(const Tensor& t, const Shape& shape) {
  if (t.shape() == shape) return t;
  broadcast_shape(t.shape(), shape, "broadcast_to");
  Tensor out = Tensor::empty(shape);
  const float* x = t.data();
  float* o = out.data();
  for_each_broadcast(t.shape(), shape, [&](int64_t flat, int64_t offset) { o[flat] = x[offset]; });
  return out;
}

Tensor sum_to_shape(const Tensor& gradient, const Shape& shape) {
  if (gradient.shape() == shape) return gradient;
  Tensor out = Tensor::zeros(shape);
  const float* g = gradient.data();
  float* o = out.data();
  if (is_row_broadcast(gradient.shape(), shape)) {  // bias gradient: column sums
    int64_t n = out.size(), rows = n ? gradient.size() / n : 0;
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t j = 0; j < n; ++j) o[j] += g[r * n + j];
    return out;
  }
  for_each_broadcast(shape, gradient.shape(), [&](int64_t flat, int64_t offset) { o[offset] += g[flat]; });
  return out;
}

Var add(const Var& a, const Var& b) {
  return binary(Op::Add, a, b, [](const Node& n) {
    if (needs_grad(n, 0)) accumulate_grad(n, 0, sum_to_shape(grad(n), shape(n, 0)));
    if (needs_grad(n, 1)) accumulate_grad(n, 1, sum_to_shape(grad(n), shape(n, 1)));
  });
}

Var sub(const Var& a, const Var& b) {
  return binary(Op::Sub, a, b, [](const Node& n) {
    if (needs_grad(n, 0)) accumulate_grad(n, 0, sum_to_shape(grad(n), shape(n, 0)));
    if (needs_grad(n, 1))
      accumulate_grad(n, 1, sum_to_shape(kernels::map(grad(n), [](float g) { return -g; }), shape(n, 1)));
  });
}

Var mul(const Var& a, const Var& b) {
  return binary(Op::Mul, a, b, [](const Node& n) {
    const Shape& out = grad(n).shape();
    auto times = [](float g, float y) { return g * y; };
    if (needs_grad(n, 0))
      accumulate_grad(n, 0, sum_to_shape(broadcast_binary(grad(n), value(n, 1), out, times), shape(n, 0)));
    if (needs_grad(n, 1))
      accumulate_grad(n, 1, sum_to_shape(broadcast_binary(grad(n), value(n, 0), out, times), shape(n, 1)));
  });
}

Var div(const Var& a, const Var& b) {
  // d(a/b)/da = 1/b, d(a/b)/db = -a/b^2 = -out/b
  return binary(Op::Div, a, b, [](const Node& n) {
    const Shape& out = grad(n).shape();
    if (needs_grad(n, 0))
      accumulate_grad(n, 0, sum_to_shape(broadcast_binary(grad(n), value(n, 1), out,
                                                          [](float g, float y) { return g / y; }),
                                         shape(n, 0)));
    if (needs_grad(n, 1)) {
      Tensor g_over_b = broadcast_binary(grad(n), value(n, 1), out, [](float g, float y) { return g / y; });
      Tensor d = kernels::map2(g_over_b, n.output->value, [](float gb, float q) { return -gb * q; });
      accumulate_grad(n, 1, sum_to_shape(d, shape(n, 1)));
    }
  });
}

Var neg(const Var& a) {
  Node node;
  node.op = Op::Neg;
  node.backward = [](const Node& n) { accumulate_grad(n, 0, kernels::map(grad(n), [](float g) { return -g; })); };
  return make_result(kernels::map(a.value(), [](float x) { return -x; }), std::move(node), {&a});
}

Var operator+(const Var& a, const Var& b) { return add(a, b); }
Var operator-(const Var& a, const Var& b) { return sub(a, b); }
Var operator*(const Var& a, const Var& b) { return mul(a, b); }
Var operator/(const Var& a, const Var& b) { return div(a, b); }
Var operator-(const Var& a) { return neg(a); }
Var operator+(const Var& a, float b) { return add(a, scalar(b)); }
Var operator-(const Var& a, float b) { return sub(a, scalar(b)); }
Var operator*(const Var& a, float b) { return mul(a, scalar(b)); }
Var operator/(const Var& a, float b) { return div(a, scalar(b)); }
Var operator+(float a, const Var& b) { return add(scalar(a), b); }
Var operator-(float a, const Var& b) { return sub(scalar(a), b); }
Var operator*(float a, const Var& b) { return mul(scalar(a), b); }
Var operator/(float a, const Var& b) { return div(scalar(a), b); }

}  // namespace ad
