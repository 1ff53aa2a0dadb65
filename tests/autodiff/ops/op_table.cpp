// The op table and its plain-loop references. The references are written from the
// definitions (numpy broadcasting, the loss formulas), not from the library's kernels.
#include "op_table.h"

#include "../test_util.h"

#include <algorithm>
#include <cmath>

namespace test {

using ad::Shape;
using ad::Tensor;
using ad::Var;
using Inputs = std::vector<Tensor>;
using Vars = std::span<const Var>;

std::vector<Tensor> OpCase::make_inputs(uint64_t seed) const {
  std::vector<Tensor> inputs;
  ad::Rng rng(seed);
  for (const Shape& shape : shapes) {
    Tensor t = Tensor::uniform(shape, low, high, rng);
    if (random_sign)
      for (float& v : t.values()) v = rng.next() % 2 ? v : -v;
    if (no_ties)  // multiples of 0.05 plus 0.01 per input: values of two inputs differ by >= 0.01
      for (float& v : t.values()) v = std::round(v / 0.05f) * 0.05f + 0.01f * float(inputs.size() + 1);
    inputs.push_back(t);
  }
  return inputs;
}

namespace {

// ---- plain-loop references ----

// The multi-index of flat position `flat` in `shape`, row-major.
std::vector<int64_t> unravel(int64_t flat, const Shape& shape) {
  std::vector<int64_t> index(shape.size());
  for (size_t i = shape.size(); i-- > 0;) {
    index[i] = flat % shape[i];
    flat /= shape[i];
  }
  return index;
}

// The element of `t` that broadcasting maps to out-index `index` (aligned from the right).
float broadcast_element(const Tensor& t, const std::vector<int64_t>& index) {
  int64_t flat = 0;
  size_t offset = index.size() - t.shape().size();
  for (size_t i = 0; i < t.shape().size(); ++i) {
    int64_t d = t.shape()[i];
    flat = flat * d + (d == 1 ? 0 : index[i + offset]);
  }
  return t[flat];
}

Tensor ref_binary(const Tensor& a, const Tensor& b, float (*f)(float, float)) {
  size_t rank = std::max(a.shape().size(), b.shape().size());
  Shape out(rank, 1);
  for (size_t i = 0; i < rank; ++i) {
    int64_t da = i < rank - a.shape().size() ? 1 : a.shape()[i - (rank - a.shape().size())];
    int64_t db = i < rank - b.shape().size() ? 1 : b.shape()[i - (rank - b.shape().size())];
    out[i] = std::max(da, db);
  }
  Tensor r(out);
  for (int64_t i = 0; i < r.size(); ++i) {
    auto index = unravel(i, out);
    r[i] = f(broadcast_element(a, index), broadcast_element(b, index));
  }
  return r;
}

Tensor ref_unary(const Tensor& a, float (*f)(float)) {
  Tensor r(a.shape());
  for (int64_t i = 0; i < a.size(); ++i) r[i] = f(a[i]);
  return r;
}

Tensor ref_matmul(const Tensor& a, const Tensor& b) {
  int64_t m = a.shape()[0], k = a.shape()[1], n = b.shape()[1];
  Tensor r({m, n});
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double s = 0;
      for (int64_t p = 0; p < k; ++p) s += double(a[i * k + p]) * b[p * n + j];
      r[i * n + j] = float(s);
    }
  return r;
}

Tensor ref_log_softmax(const Tensor& x) {
  int64_t w = x.shape().back(), rows = x.size() / w;
  Tensor r(x.shape());
  for (int64_t i = 0; i < rows; ++i) {
    double total = 0;
    for (int64_t j = 0; j < w; ++j) total += std::exp(double(x[i * w + j]));
    for (int64_t j = 0; j < w; ++j) r[i * w + j] = float(x[i * w + j] - std::log(total));
  }
  return r;
}

Tensor ref_softmax(const Tensor& x) {
  Tensor r = ref_log_softmax(x);
  for (float& v : r.values()) v = std::exp(v);
  return r;
}

Tensor ref_reduce(const Tensor& x, int64_t axis, bool keepdims, bool mean) {
  Shape out = x.shape();
  out[size_t(axis)] = 1;
  Tensor r(out);
  for (int64_t i = 0; i < x.size(); ++i) {
    auto index = unravel(i, x.shape());
    index[size_t(axis)] = 0;
    int64_t flat = 0;
    for (size_t d = 0; d < out.size(); ++d) flat = flat * out[d] + index[d];
    r[flat] += x[i] / (mean ? float(x.shape()[size_t(axis)]) : 1.f);
  }
  if (!keepdims) out.erase(out.begin() + axis);
  return r.reshape(out);
}

Tensor ref_total(const Tensor& x, bool mean) {
  double s = 0;
  for (float v : x.values()) s += v;
  return Tensor::scalar(float(mean ? s / double(x.size()) : s));
}

Tensor ref_transpose(const Tensor& x) {
  int64_t r = x.shape()[0], c = x.shape()[1];
  Tensor t({c, r});
  for (int64_t i = 0; i < r; ++i)
    for (int64_t j = 0; j < c; ++j) t[j * r + i] = x[i * c + j];
  return t;
}

// mean over elements of f(prediction, target), the target read in flat order.
Tensor ref_pointwise_loss(const Tensor& p, const Tensor& t, const std::function<double(double, double)>& f) {
  double s = 0;
  for (int64_t i = 0; i < p.size(); ++i) s += f(p[i], t[i]);
  return Tensor::scalar(float(s / double(p.size())));
}

double ref_logistic(double x) { return 1 / (1 + std::exp(-x)); }

// From probabilities, each row divided by its sum first (Keras); the table's probabilities stay
// far from the clipping bounds.
Tensor ref_categorical(const Tensor& p, const Tensor& onehot, bool logits) {
  Tensor q = logits ? ref_log_softmax(p) : p;
  int64_t n = p.shape()[0], w = p.shape()[1];
  double s = 0;
  for (int64_t i = 0; i < n; ++i) {
    double row_sum = 0;
    for (int64_t j = 0; j < w; ++j) row_sum += p[i * w + j];
    for (int64_t j = 0; j < w; ++j)
      s -= onehot[i * w + j] * (logits ? double(q[i * w + j]) : std::log(double(q[i * w + j]) / row_sum));
  }
  return Tensor::scalar(float(s / double(n)));
}

Tensor one_hot(const Tensor& labels, int64_t classes) {
  Tensor t({labels.size(), classes});
  for (int64_t i = 0; i < labels.size(); ++i) t[i * classes + int64_t(labels[i])] = 1;
  return t;
}

// ---- the table ----

struct BinaryOp {
  const char* name;
  Var (*op)(const Var&, const Var&);
  float (*f)(float, float);
};

struct Broadcast {
  const char* what;
  Shape a, b;
};

void add_arithmetic(std::vector<OpCase>& cases) {
  const BinaryOp ops[] = {
      {"add", ad::add, [](float x, float y) { return x + y; }},
      {"sub", ad::sub, [](float x, float y) { return x - y; }},
      {"mul", ad::mul, [](float x, float y) { return x * y; }},
      {"div", ad::div, [](float x, float y) { return x / y; }},
      {"maximum", ad::maximum, [](float x, float y) { return std::max(x, y); }},
      {"minimum", ad::minimum, [](float x, float y) { return std::min(x, y); }},
  };
  const Broadcast broadcasts[] = {
      {"same shape", {3, 4}, {3, 4}},      {"scalar right", {3, 4}, {}},      {"scalar left", {}, {3, 4}},
      {"row-vector bias", {3, 4}, {4}},    {"bias first", {4}, {3, 4}},       {"[1,n] row", {3, 4}, {1, 4}},
      {"[n,1] column", {3, 4}, {3, 1}},    {"column times row", {3, 1}, {1, 4}},
      {"rank 3 with matrix", {2, 3, 4}, {3, 4}}, {"rank 3 with column", {2, 3, 4}, {3, 1}},
      {"rank 3 both stretched", {2, 1, 4}, {1, 3, 1}}, {"one element", {1}, {2, 2}},
  };
  for (const BinaryOp& op : ops)
    for (const Broadcast& b : broadcasts) {
      OpCase c;
      c.name = fmt::format("{} {} {} ({})", op.name, ad::to_string(b.a), ad::to_string(b.b), b.what);
      c.shapes = {b.a, b.b};
      c.op = [f = op.op](Vars x) { return f(x[0], x[1]); };
      c.reference = [f = op.f](const Inputs& x) { return ref_binary(x[0], x[1], f); };
      c.no_ties = std::string(op.name) == "maximum" || std::string(op.name) == "minimum";
      if (std::string(op.name) == "div") {  // a denominator far from 0
        c.low = 0.5f;
        c.high = 1.5f;
        c.random_sign = true;
      }
      cases.push_back(c);
    }
  auto scalar_case = [&](const char* name, std::function<Var(const Var&)> op, float (*f)(float)) {
    OpCase c;
    c.name = name;
    c.shapes = {{2, 3}};
    c.op = [op](Vars x) { return op(x[0]); };
    c.reference = [f](const Inputs& x) { return ref_unary(x[0], f); };
    c.low = 0.5f;
    c.high = 2.f;
    c.random_sign = true;
    cases.push_back(c);
  };
  scalar_case("x + 2", [](const Var& x) { return x + 2.f; }, [](float x) { return x + 2; });
  scalar_case("2 + x", [](const Var& x) { return 2.f + x; }, [](float x) { return 2 + x; });
  scalar_case("x - 2", [](const Var& x) { return x - 2.f; }, [](float x) { return x - 2; });
  scalar_case("2 - x", [](const Var& x) { return 2.f - x; }, [](float x) { return 2 - x; });
  scalar_case("x * 3", [](const Var& x) { return x * 3.f; }, [](float x) { return x * 3; });
  scalar_case("3 * x", [](const Var& x) { return 3.f * x; }, [](float x) { return 3 * x; });
  scalar_case("x / 4", [](const Var& x) { return x / 4.f; }, [](float x) { return x / 4; });
  scalar_case("3 / x", [](const Var& x) { return 3.f / x; }, [](float x) { return 3 / x; });
  scalar_case("neg", [](const Var& x) { return ad::neg(x); }, [](float x) { return -x; });
  scalar_case("unary minus", [](const Var& x) { return -x; }, [](float x) { return -x; });
}

struct UnaryOp {
  const char* name;
  Var (*op)(const Var&);
  float (*f)(float);
  float low, high;
  bool random_sign;
};

void add_elementwise(std::vector<OpCase>& cases) {
  const UnaryOp ops[] = {
      {"exp", ad::exp, [](float x) { return float(std::exp(double(x))); }, -2, 2, false},
      {"log", ad::log, [](float x) { return float(std::log(double(x))); }, 0.2f, 3, false},
      {"square", ad::square, [](float x) { return x * x; }, -2, 2, false},
      {"sqrt", ad::sqrt, [](float x) { return float(std::sqrt(double(x))); }, 0.2f, 3, false},
      {"abs", ad::abs, [](float x) { return x < 0 ? -x : x; }, 0.05f, 2, true},
      {"relu", ad::relu, [](float x) { return x > 0 ? x : 0; }, 0.05f, 2, true},
      {"sigmoid", ad::sigmoid, [](float x) { return float(ref_logistic(x)); }, -4, 4, false},
      {"tanh", ad::tanh, [](float x) { return float(std::tanh(double(x))); }, -2, 2, false},
      {"softplus", ad::softplus, [](float x) { return float(std::log1p(std::exp(double(x)))); }, -4, 4, false},
      {"heaviside", ad::heaviside, [](float x) { return x >= 0 ? 1.f : 0.f; }, 0.05f, 2, true},
      {"sign", ad::sign, [](float x) { return x > 0 ? 1.f : -1.f; }, 0.05f, 2, true},
  };
  for (const UnaryOp& u : ops)
    for (const Shape& shape : {Shape{3, 4}, Shape{2, 3, 2}, Shape{}}) {
      OpCase c;
      c.name = fmt::format("{} {}", u.name, ad::to_string(shape));
      c.shapes = {shape};
      c.op = [f = u.op](Vars x) { return f(x[0]); };
      c.reference = [f = u.f](const Inputs& x) { return ref_unary(x[0], f); };
      c.low = u.low;
      c.high = u.high;
      c.random_sign = u.random_sign;
      cases.push_back(c);
    }
  for (auto bounds : {std::pair{-0.5f, 0.5f}, std::pair{0.f, 2.f}, std::pair{-0.3f, -0.3f}}) {
    // Plain variables: clang 14 cannot capture structured bindings in a lambda (C++20 allows it).
    const float low = bounds.first, high = bounds.second;
    OpCase c;
    c.name = fmt::format("clip to [{}, {}]", low, high);
    c.shapes = {{4, 5}};
    // Copied by name: clang 14 cannot capture structured bindings.
    c.op = [low = low, high = high](Vars x) { return ad::clip(x[0], low, high); };
    c.reference = [low = low, high = high](const Inputs& x) {
      Tensor r(x[0].shape());
      for (int64_t i = 0; i < r.size(); ++i) r[i] = std::min(std::max(x[0][i], low), high);
      return r;
    };
    cases.push_back(c);
  }
}

void add_matmul(std::vector<OpCase>& cases) {
  struct Mm {
    const char* what;
    int64_t m, k, n;
  };
  const Mm shapes[] = {{"square", 4, 4, 4}, {"rectangular", 3, 5, 2}, {"1xk row", 1, 6, 3}, {"kx1 column", 4, 6, 1},
                       {"k = 1 outer product", 3, 1, 4}, {"1x1", 1, 1, 1}, {"larger than the small-size path", 24, 40, 32}};
  for (const Mm& s : shapes) {
    OpCase c;
    c.name = fmt::format("matmul [{},{}] x [{},{}] ({})", s.m, s.k, s.k, s.n, s.what);
    c.shapes = {{s.m, s.k}, {s.k, s.n}};
    c.op = [](Vars x) { return ad::matmul(x[0], x[1]); };
    c.reference = [](const Inputs& x) { return ref_matmul(x[0], x[1]); };
    cases.push_back(c);
  }
  OpCase t;
  t.name = "matmul of a transpose [4,3]^T x [4,2]";
  t.shapes = {{4, 3}, {4, 2}};
  t.op = [](Vars x) { return ad::matmul(ad::transpose(x[0]), x[1]); };
  t.reference = [](const Inputs& x) { return ref_matmul(ref_transpose(x[0]), x[1]); };
  cases.push_back(t);
}

void add_softmax(std::vector<OpCase>& cases) {
  for (const Shape& shape : {Shape{3, 5}, Shape{2, 3, 4}, Shape{6}, Shape{4, 1}}) {
    OpCase s;
    s.name = fmt::format("softmax {}", ad::to_string(shape));
    s.shapes = {shape};
    s.op = [](Vars x) { return ad::softmax(x[0]); };
    s.reference = [](const Inputs& x) { return ref_softmax(x[0]); };
    s.low = -3;
    s.high = 3;
    cases.push_back(s);
    OpCase l = s;
    l.name = fmt::format("log_softmax {}", ad::to_string(shape));
    l.op = [](Vars x) { return ad::log_softmax(x[0]); };
    l.reference = [](const Inputs& x) { return ref_log_softmax(x[0]); };
    cases.push_back(l);
  }
}

void add_reductions(std::vector<OpCase>& cases) {
  for (bool mean : {false, true}) {
    const char* name = mean ? "mean" : "sum";
    for (const Shape& shape : {Shape{3, 4}, Shape{2, 3, 4}, Shape{5}, Shape{}}) {
      OpCase c;
      c.name = fmt::format("{} of all of {}", name, ad::to_string(shape));
      c.shapes = {shape};
      c.op = [mean](Vars x) { return mean ? ad::mean(x[0]) : ad::sum(x[0]); };
      c.reference = [mean](const Inputs& x) { return ref_total(x[0], mean); };
      cases.push_back(c);
    }
    struct Axis {
      Shape shape;
      int64_t axis;
    };
    for (const Axis& a : {Axis{{3, 4}, 0}, Axis{{3, 4}, 1}, Axis{{3, 4}, -1}, Axis{{2, 3, 4}, 1}, Axis{{2, 3, 4}, -3},
                          Axis{{5}, 0}, Axis{{3, 1}, 1}})
      for (bool keepdims : {false, true}) {
        OpCase c;
        c.name = fmt::format("{} of {} along axis {}{}", name, ad::to_string(a.shape), a.axis,
                             keepdims ? " keepdims" : "");
        c.shapes = {a.shape};
        int64_t axis = a.axis;
        c.op = [mean, axis, keepdims](Vars x) { return mean ? ad::mean(x[0], axis, keepdims) : ad::sum(x[0], axis, keepdims); };
        c.reference = [mean, axis, keepdims](const Inputs& x) {
          int64_t positive = axis < 0 ? axis + x[0].rank() : axis;
          return ref_reduce(x[0], positive, keepdims, mean);
        };
        cases.push_back(c);
      }
  }
}

void add_shape_ops(std::vector<OpCase>& cases) {
  OpCase r;
  r.name = "reshape [3,4] to [2,6]";
  r.shapes = {{3, 4}};
  r.op = [](Vars x) { return ad::reshape(x[0], {2, 6}); };
  r.reference = [](const Inputs& x) { return x[0].clone().reshape({2, 6}); };
  cases.push_back(r);
  r.name = "reshape [3,4] to [-1]";
  r.op = [](Vars x) { return ad::reshape(x[0], {-1}); };
  r.reference = [](const Inputs& x) { return x[0].clone().reshape({12}); };
  cases.push_back(r);
  r.name = "reshape [3,4] to [2,-1,3] then square";  // the gradient flows through a reshape
  r.op = [](Vars x) { return ad::square(ad::reshape(x[0], {2, -1, 3})); };
  r.reference = [](const Inputs& x) { return ref_unary(x[0], [](float v) { return v * v; }).reshape({2, 2, 3}); };
  cases.push_back(r);
  OpCase twice;
  twice.name = "a value used twice, tanh(x) * x";  // its gradient is the sum of two contributions
  twice.shapes = {{3, 4}};
  twice.op = [](Vars x) { return ad::tanh(x[0]) * x[0]; };
  twice.reference = [](const Inputs& x) { return ref_unary(x[0], [](float v) { return std::tanh(v) * v; }); };
  cases.push_back(twice);
  OpCase f;
  f.name = "flatten [2,3,4]";
  f.shapes = {{2, 3, 4}};
  f.op = [](Vars x) { return ad::flatten(x[0]); };
  f.reference = [](const Inputs& x) { return x[0].clone().reshape({2, 12}); };
  cases.push_back(f);
  for (const Shape& shape : {Shape{3, 4}, Shape{1, 5}, Shape{4, 1}}) {
    OpCase t;
    t.name = fmt::format("transpose {}", ad::to_string(shape));
    t.shapes = {shape};
    t.op = [](Vars x) { return ad::transpose(x[0]); };
    t.reference = [](const Inputs& x) { return ref_transpose(x[0]); };
    cases.push_back(t);
  }
}

void add_losses(std::vector<OpCase>& cases) {
  Tensor target = random({4, 3}, -1, 1, 101);
  Tensor target_column = random({4, 1}, -1, 1, 102);
  Tensor probability_target = random({4, 3}, 0, 1, 103);
  Tensor labels = Tensor::from({4}, {2, 0, 1, 2});
  Tensor onehot = one_hot(labels, 3);
  Tensor soft = ref_softmax(random({4, 3}, -1, 1, 104));  // rows that sum to 1, not one-hot

  auto pointwise = [&](std::string name, Shape shape, Tensor t, std::function<Var(const Var&, const Var&)> loss,
                       std::function<double(double, double)> f, float low = -1, float high = 1) {
    OpCase c;
    c.name = std::move(name);
    c.shapes = {std::move(shape)};
    c.op = [t, loss](Vars x) { return loss(x[0], ad::constant(t)); };
    c.reference = [t, f](const Inputs& x) { return ref_pointwise_loss(x[0], t, f); };
    c.low = low;
    c.high = high;
    cases.push_back(c);
  };
  auto huber = [](double d, double delta) {
    return std::fabs(d) <= delta ? 0.5 * d * d : delta * (std::fabs(d) - 0.5 * delta);
  };
  // tf.keras' form from probabilities: eps again inside each log; from logits the exact one.
  auto bce = [](double p, double y) { return -(y * std::log(p + 1e-7) + (1 - y) * std::log(1 - p + 1e-7)); };
  auto bce_exact = [](double p, double y) { return -(y * std::log(p) + (1 - y) * std::log(1 - p)); };
  pointwise("mse_loss [4,3]", {4, 3}, target, ad::mse_loss, [](double p, double t) { return (p - t) * (p - t); });
  pointwise("mse_loss [4] against a [4,1] target", {4}, target_column, ad::mse_loss,
            [](double p, double t) { return (p - t) * (p - t); });
  pointwise("mae_loss [4,3]", {4, 3}, target, ad::mae_loss, [](double p, double t) { return std::fabs(p - t); });
  pointwise("huber_loss [4,3] delta 1", {4, 3}, target,
            [](const Var& p, const Var& t) { return ad::huber_loss(p, t); },
            [huber](double p, double t) { return huber(p - t, 1.0); }, -2, 2);
  pointwise("huber_loss [4,3] delta 0.3", {4, 3}, target,
            [](const Var& p, const Var& t) { return ad::huber_loss(p, t, 0.3f); },
            [huber](double p, double t) { return huber(p - t, 0.3); });
  pointwise("binary_crossentropy [4,3] from probabilities", {4, 3}, probability_target,
            [](const Var& p, const Var& t) { return ad::binary_crossentropy(p, t); }, bce, 0.05f, 0.95f);
  pointwise("binary_crossentropy [4,3] from logits", {4, 3}, probability_target,
            [](const Var& p, const Var& t) { return ad::binary_crossentropy(p, t, {.from_logits = true}); },
            [bce_exact](double x, double y) { return bce_exact(ref_logistic(x), y); }, -3, 3);

  auto categorical = [&](std::string name, Tensor t, bool logits) {
    OpCase c;
    c.name = std::move(name);
    c.shapes = {{4, 3}};
    c.op = [t, logits](Vars x) { return ad::categorical_crossentropy(x[0], ad::constant(t), {.from_logits = logits}); };
    c.reference = [t, logits](const Inputs& x) { return ref_categorical(x[0], t, logits); };
    c.low = logits ? -3.f : 0.1f;
    c.high = logits ? 3.f : 1.f;
    cases.push_back(c);
  };
  categorical("categorical_crossentropy from probabilities, one-hot", onehot, false);
  categorical("categorical_crossentropy from probabilities, soft targets", soft, false);
  categorical("categorical_crossentropy from logits, one-hot", onehot, true);
  categorical("categorical_crossentropy from logits, soft targets", soft, true);

  for (bool logits : {false, true})
    for (const Tensor& l : {labels, labels.reshape({4, 1})}) {
      OpCase c;
      c.name = fmt::format("sparse_categorical_crossentropy from {}, labels {}", logits ? "logits" : "probabilities",
                           ad::to_string(l.shape()));
      c.shapes = {{4, 3}};
      c.op = [l, logits](Vars x) { return ad::sparse_categorical_crossentropy(x[0], l, {.from_logits = logits}); };
      c.reference = [onehot, logits](const Inputs& x) { return ref_categorical(x[0], onehot, logits); };
      c.low = logits ? -3.f : 0.1f;
      c.high = logits ? 3.f : 1.f;
      cases.push_back(c);
    }
}

}  // namespace

const std::vector<OpCase>& op_cases() {
  static const std::vector<OpCase> cases = [] {
    std::vector<OpCase> all;
    add_arithmetic(all);
    add_elementwise(all);
    add_matmul(all);
    add_softmax(all);
    add_reductions(all);
    add_shape_ops(all);
    add_losses(all);
    return all;
  }();
  return cases;
}

}  // namespace test
