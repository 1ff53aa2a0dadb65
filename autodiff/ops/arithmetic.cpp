// add, sub, mul, div with numpy broadcasting, neg, and the moves between a shape and its
// broadcast (sum_to, broadcast_to) that their backward rules use; add_n sums gradients.
#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>

#include "tapegrad/autodiff/kernels/broadcast.h"
#include "tapegrad/autodiff/op_defs.h"
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

using kernels::binary_broadcast;

const Shape& target_shape(const Attrs& attrs, const char* op) { return attrs_as<ShapeAttrs>(attrs, op).shape; }

// Whether `from` broadcasts to `to` (NumPy's rule, rank-aligned from the right), without
// building the broadcast shape: the check runs on every backward of a reduction.
bool broadcasts_to(const Shape& from, const Shape& to) {
  if (from.size() > to.size()) return false;
  size_t offset = to.size() - from.size();
  for (size_t i = 0; i < from.size(); ++i)
    if (from[i] != 1 && from[i] != to[i + offset]) return false;
  return true;
}

// The gradient of an operand broadcast to `grad`'s shape: summed back to its own shape.
Var sum_back(const Var& grad, const Var& operand) {
  if (grad.shape() == operand.shape()) return grad;
  return apply(defs::sum_to, {grad}, ShapeAttrs{operand.shape()});
}

Shape infer_binary_named(ShapeArgs s, const char* op) { return broadcast_shape(*s.inputs[0], *s.inputs[1], op); }

void sum_to_kernel(const View& g, const View& o) {
  std::fill(o.data, o.data + o.size, 0.f);
  if (kernels::is_row_broadcast(*g.shape, *o.shape)) {  // a bias gradient: column sums
    int64_t n = o.size, rows = n ? g.size / n : 0;
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t j = 0; j < n; ++j) o.data[j] += g.data[r * n + j];
    return;
  }
  kernels::for_each_broadcast(*o.shape, *o.shape, *g.shape,
                              [&](int64_t flat, int64_t offset, int64_t) { o.data[offset] += g.data[flat]; });
}

void broadcast_kernel(const View& x, const View& o) {
  kernels::for_each_broadcast(*x.shape, *x.shape, *o.shape,
                              [&](int64_t flat, int64_t offset, int64_t) { o.data[flat] = x.data[offset]; });
}

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

namespace defs {

const OpDef add{
    .name = "add",
    .num_inputs = 2,
    .infer = [](ShapeArgs s) { return infer_binary_named(s, "add"); },
    .forward = [](const KernelArgs& k) { binary_broadcast(k.in[0], k.in[1], k.out[0], [](float x, float y) { return x + y; }); },
    .backward = [](const BackwardArgs& b) -> Gradients {
      return {b.needs[0] ? sum_back(b.grad, b.inputs[0]) : Var(), b.needs[1] ? sum_back(b.grad, b.inputs[1]) : Var()};
    }};

const OpDef sub{
    .name = "sub",
    .num_inputs = 2,
    .infer = [](ShapeArgs s) { return infer_binary_named(s, "sub"); },
    .forward = [](const KernelArgs& k) { binary_broadcast(k.in[0], k.in[1], k.out[0], [](float x, float y) { return x - y; }); },
    .backward = [](const BackwardArgs& b) -> Gradients {
      return {b.needs[0] ? sum_back(b.grad, b.inputs[0]) : Var(),
              b.needs[1] ? sum_back(ad::neg(b.grad), b.inputs[1]) : Var()};
    }};

const OpDef mul{
    .name = "mul",
    .num_inputs = 2,
    .infer = [](ShapeArgs s) { return infer_binary_named(s, "mul"); },
    .forward = [](const KernelArgs& k) { binary_broadcast(k.in[0], k.in[1], k.out[0], [](float x, float y) { return x * y; }); },
    .backward = [](const BackwardArgs& b) -> Gradients {
      return {b.needs[0] ? sum_back(ad::mul(b.grad, b.inputs[1]), b.inputs[0]) : Var(),
              b.needs[1] ? sum_back(ad::mul(b.grad, b.inputs[0]), b.inputs[1]) : Var()};
    }};

// d(a/b)/da = 1/b, d(a/b)/db = -a/b² = -out/b
const OpDef div{
    .name = "div",
    .num_inputs = 2,
    .infer = [](ShapeArgs s) { return infer_binary_named(s, "div"); },
    .forward = [](const KernelArgs& k) { binary_broadcast(k.in[0], k.in[1], k.out[0], [](float x, float y) { return x / y; }); },
    .backward = [](const BackwardArgs& b) -> Gradients {
      Var g_over_b = ad::div(b.grad, b.inputs[1]);
      return {b.needs[0] ? sum_back(g_over_b, b.inputs[0]) : Var(),
              b.needs[1] ? sum_back(ad::neg(ad::mul(g_over_b, b.output)), b.inputs[1]) : Var()};
    }};

const OpDef neg{
    .name = "neg",
    .num_inputs = 1,
    .infer = [](ShapeArgs s) { return *s.inputs[0]; },
    .forward =
        [](const KernelArgs& k) {
          const float* x = k.in[0].data;
          float* o = k.out[0].data;
          parallel_range(k.out[0].size, [&](int64_t lo, int64_t hi) {
            for (int64_t i = lo; i < hi; ++i) o[i] = -x[i];
          });
        },
    .backward = [](const BackwardArgs& b) -> Gradients { return {ad::neg(b.grad)}; }};

// Sums a value down to a shape it was broadcast from (the reverse of broadcast_to).
const OpDef sum_to{
    .name = "sum_to",
    .num_inputs = 1,
    .infer =
        [](ShapeArgs s) {
          const Shape& to = target_shape(s.attrs, "sum_to");
          TG_CHECK(broadcasts_to(to, *s.inputs[0]),
                   "sum_to: shape {} does not broadcast to {}", to_string(to), to_string(*s.inputs[0]));
          return to;
        },
    .forward = [](const KernelArgs& k) { sum_to_kernel(k.in[0], k.out[0]); },
    .backward = [](const BackwardArgs& b) -> Gradients {
      return {apply(defs::broadcast_to, {b.grad}, ShapeAttrs{b.inputs[0].shape()})};
    }};

const OpDef broadcast_to{
    .name = "broadcast_to",
    .num_inputs = 1,
    .infer =
        [](ShapeArgs s) {
          const Shape& to = target_shape(s.attrs, "broadcast_to");
          TG_CHECK(broadcasts_to(*s.inputs[0], to), "broadcast_to: shape {} does not broadcast to {}",
                   to_string(*s.inputs[0]), to_string(to));
          return to;
        },
    .forward = [](const KernelArgs& k) { broadcast_kernel(k.in[0], k.out[0]); },
    .backward = [](const BackwardArgs& b) -> Gradients { return {sum_back(b.grad, b.inputs[0])}; }};

// The sum of any number of values of one shape: where a value feeds several ops, a graph's
// gradient of it is the add_n of their contributions.
const OpDef add_n{
    .name = "add_n",
    .num_inputs = -1,
    .infer =
        [](ShapeArgs s) {
          TG_CHECK(!s.inputs.empty(), "add_n: needs at least one input");
          for (const Shape* shape : s.inputs)
            TG_CHECK(*shape == *s.inputs[0], "add_n: inputs of shapes {} and {} differ", to_string(*s.inputs[0]),
                     to_string(*shape));
          return *s.inputs[0];
        },
    .forward =
        [](const KernelArgs& k) {
          float* o = k.out[0].data;
          parallel_range(k.out[0].size, [&](int64_t lo, int64_t hi) {
            for (int64_t i = lo; i < hi; ++i) {
              float s = 0;
              for (const View& v : k.in) s += v.data[i];
              o[i] = s;
            }
          });
        },
    .backward = [](const BackwardArgs& b) -> Gradients { return Gradients(b.inputs.size(), b.grad); }};

}  // namespace defs

Tensor broadcast_to(const Tensor& t, const Shape& shape) {
  if (t.shape() == shape) return t;
  NoGrad values_only;
  return apply(defs::broadcast_to, {constant(t)}, ShapeAttrs{shape}).value();
}

Tensor sum_to_shape(const Tensor& gradient, const Shape& shape) {
  if (gradient.shape() == shape) return gradient;
  NoGrad values_only;
  return apply(defs::sum_to, {constant(gradient)}, ShapeAttrs{shape}).value();
}

Var add(const Var& a, const Var& b) { return apply(defs::add, {a, b}); }
Var sub(const Var& a, const Var& b) { return apply(defs::sub, {a, b}); }
Var mul(const Var& a, const Var& b) { return apply(defs::mul, {a, b}); }
Var div(const Var& a, const Var& b) { return apply(defs::div, {a, b}); }
Var neg(const Var& a) { return apply(defs::neg, {a}); }

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
