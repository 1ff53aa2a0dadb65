#include "tapegrad/autodiff/var.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <set>

#include "tapegrad/autodiff/op_defs.h"

#include <memory>

#include "tapegrad/autodiff/ops.h"
#include "short_backward_op.h"
#include "test_util.h"

using ad::Shape;
using ad::Tensor;
using ad::Var;
using test::contains;
using test::error_of;

TEST_CASE("ops record nodes only while a tape is active and gradients are enabled") {
  Var x = ad::param(Tensor::ones({2, 2}));
  Var c = ad::constant(Tensor::ones({2, 2}));
  SUBCASE("no tape: nothing recorded, the result needs no gradient") {
    CHECK(ad::Tape::active() == nullptr);
    Var y = x * c;
    CHECK_FALSE(y.requires_grad());
    CHECK(y.value()[0] == 1.f);
  }
  SUBCASE("an active tape records one node per op, with inputs and output") {
    ad::Tape tape;
    CHECK(ad::Tape::active() == &tape);
    Var y = ad::exp(x * c);
    REQUIRE(tape.size() == 2);
    CHECK(tape.nodes()[0].op == &ad::defs::mul);
    CHECK(std::string(tape.nodes()[0].name()) == "mul");
    CHECK(tape.nodes()[0].num_inputs == 2);
    CHECK(tape.nodes()[0].inputs[0].ref() == x.ref());
    CHECK(tape.nodes()[1].op == &ad::defs::exp);
    CHECK(tape.nodes()[1].output.ref() == y.ref());
    CHECK(y.requires_grad());
  }
  SUBCASE("ops on constants only are not recorded") {
    ad::Tape tape;
    Var y = c + c;
    CHECK(tape.size() == 0);
    CHECK_FALSE(y.requires_grad());
  }
  SUBCASE("NoGrad suspends recording and restores it when it ends") {
    ad::Tape tape;
    {
      ad::NoGrad no_grad;
      CHECK_FALSE(ad::grad_enabled());
      {
        ad::NoGrad nested;
      }
      CHECK_FALSE(ad::grad_enabled());
      Var y = x + c;
      CHECK_FALSE(y.requires_grad());
    }
    CHECK(ad::grad_enabled());
    CHECK(tape.size() == 0);
    Var z = x + c;
    CHECK(tape.size() == 1);
  }
  SUBCASE("a tape that ends before a newer one is unlinked, not left active") {
    auto early = std::make_unique<ad::Tape>();
    {
      ad::Tape later;
      early.reset();
      CHECK(ad::Tape::active() == &later);
      Var y = x + c;
      CHECK(later.size() == 1);
    }
    CHECK(ad::Tape::active() == nullptr);  // not the ended tape
  }
  SUBCASE("a nested tape records while alive and hands back to the outer one") {
    ad::Tape outer;
    {
      ad::Tape inner;
      Var y = x + c;
      CHECK(inner.size() == 1);
    }
    CHECK(ad::Tape::active() == &outer);
    Var z = x + c;
    CHECK(outer.size() == 1);
  }
  CHECK(ad::Tape::active() == nullptr);
}

TEST_CASE("backward from a scalar gives each leaf its gradient") {
  ad::Tape tape;
  Var x = ad::param(Tensor::from({3}, {1, 2, 3}));
  Var loss = ad::sum(ad::square(x));  // d/dx = 2x
  loss.backward();
  CHECK(test::close(x.grad(), Tensor::from({3}, {2, 4, 6})));
  CHECK(x.grad().shape() == x.shape());
}

TEST_CASE("backward with a given output gradient weights each output element") {
  ad::Tape tape;
  Var x = ad::param(Tensor::from({2}, {1, 2}));
  Var y = x * x;
  y.backward(Tensor::from({2}, {10, -1}));
  CHECK(test::close(x.grad(), Tensor::from({2}, {20, -4})));
  SUBCASE("a gradient of the wrong shape is an error naming both shapes") {
    std::string message = error_of([&] { y.backward(Tensor::ones({3})); });
    CHECK(contains(message, "backward"));
    CHECK(contains(message, "[3]"));
    CHECK(contains(message, "[2]"));
  }
  SUBCASE("backward() without a gradient needs one element") {
    CHECK(contains(error_of([&] { y.backward(); }), "shape [2]"));
  }
  SUBCASE("backward of a value no parameter leads to is an error") {
    Var c = ad::constant(Tensor::ones({1}));
    CHECK(contains(error_of([&] { (c * c).backward(); }), "does not require a gradient"));
  }
}

TEST_CASE("a variable used twice gets the sum of both contributions") {
  ad::Tape tape;
  Var x = ad::param(Tensor::from({2}, {3, -1}));
  Var y = ad::sum(x * x + x);  // d/dx = 2x + 1
  y.backward();
  CHECK(test::close(x.grad(), Tensor::from({2}, {7, -1})));
  Var z = ad::param(Tensor::from({1}, {2}));
  Var w = ad::sum(ad::exp(z) + ad::exp(z) * z);  // e^z + e^z + z e^z = e^z (2 + z)
  w.backward();
  CHECK(z.grad()[0] == doctest::Approx(std::exp(2.0) * 4));
}

TEST_CASE("leaf gradients accumulate across backward calls until zero_grad") {
  ad::Tape tape;
  Var x = ad::param(Tensor::from({2}, {1, 2}));
  Var loss = ad::sum(x * 3.f);
  loss.backward();
  loss.backward();
  CHECK(test::close(x.grad(), Tensor::full({2}, 6)));
  x.zero_grad();
  CHECK_FALSE(x.has_grad());
  loss.backward();
  CHECK(test::close(x.grad(), Tensor::full({2}, 3)));
}

TEST_CASE("running backward twice with zero_grad between gives identical gradients of the inputs' shapes") {
  ad::Rng rng(3);
  Var W = ad::param(Tensor::uniform({3, 4}, -1, 1, rng)), b = ad::param(Tensor::uniform({4}, -1, 1, rng));
  Var x = ad::constant(Tensor::uniform({5, 3}, -1, 1, rng));
  ad::Tape tape;
  Var loss = ad::mean(ad::square(ad::tanh(ad::matmul(x, W) + b)));
  loss.backward();
  Tensor gW = W.grad().clone(), gb = b.grad().clone();
  CHECK(gW.shape() == W.shape());
  CHECK(gb.shape() == b.shape());
  W.zero_grad();
  b.zero_grad();
  loss.backward();
  CHECK(ad::max_abs_difference(W.grad(), gW) == 0.f);
  CHECK(ad::max_abs_difference(b.grad(), gb) == 0.f);
}

TEST_CASE("backward from an intermediate value reaches only what lies below it") {
  ad::Tape tape;
  Var x = ad::param(Tensor::from({1}, {2}));
  Var y = ad::param(Tensor::from({1}, {5}));
  Var h = x * x;
  Var out = ad::sum(h * y);
  h.backward(Tensor::ones({1}));
  CHECK(x.grad()[0] == doctest::Approx(4));
  CHECK_FALSE(y.has_grad());
  out.backward();
  CHECK(x.grad()[0] == doctest::Approx(4 + 20));
  CHECK(y.grad()[0] == doctest::Approx(4));
}

TEST_CASE("backward from a leaf sets its own gradient") {
  Var x = ad::param(Tensor::from({2}, {1, 2}));
  x.backward(Tensor::from({2}, {3, 4}));
  x.backward(Tensor::from({2}, {1, 1}));
  CHECK(test::close(x.grad(), Tensor::from({2}, {4, 5})));
}

TEST_CASE("detach keeps the value but cuts the history") {
  ad::Tape tape;
  Var x = ad::param(Tensor::from({1}, {3}));
  Var y = x * x;
  Var d = y.detach();
  CHECK_FALSE(d.requires_grad());
  CHECK(d.value().shares_storage_with(y.value()));
  Var loss = ad::sum(d * x);  // only the direct path through x: d/dx = d = 9
  loss.backward();
  CHECK(x.grad()[0] == doctest::Approx(9));
}

TEST_CASE("set_requires_grad turns a constant leaf into a parameter and refuses op results") {
  ad::Tape tape;
  Var c = ad::constant(Tensor::ones({1}));
  c.set_requires_grad(true);
  Var loss = ad::sum(c * 2.f);
  loss.backward();
  CHECK(c.grad()[0] == 2.f);
  CHECK(contains(error_of([&] { loss.set_requires_grad(false); }), "only leaves"));
}

TEST_CASE("an empty Var is an error when used, not a crash") {
  Var v;
  CHECK_FALSE(v.defined());
  CHECK_FALSE(v.requires_grad());
  CHECK(contains(error_of([&] { (void)v.shape(); }), "Var: used before it was given a value"));
  CHECK(contains(error_of([&] { ad::exp(v); }), "Var: used before"));
}

TEST_CASE("tape.clear() keeps the node storage for the next step") {
  Var x = ad::param(Tensor::ones({2, 2}));
  ad::Tape tape;
  auto step = [&] {
    Var y = x;
    for (int i = 0; i < 100; ++i) y = y * 1.01f;
    ad::sum(y).backward();
  };
  step();
  size_t capacity = tape.nodes().capacity();
  CHECK(tape.size() == 101);
  CHECK(capacity >= 101);
  tape.clear();
  CHECK(tape.size() == 0);
  CHECK(tape.nodes().capacity() == capacity);
  step();
  CHECK(tape.nodes().capacity() == capacity);
  tape.clear();
  CHECK(tape.nodes().capacity() == capacity);
}

TEST_CASE("backward after the tape was cleared or destroyed is an error") {
  Var x = ad::param(Tensor::ones({1}));
  Var loss;
  SUBCASE("cleared") {
    ad::Tape tape;
    loss = ad::sum(x * 2.f);
    tape.clear();
    std::string message = error_of([&] { loss.backward(); });
    CHECK(contains(message, "backward"));
    CHECK(contains(message, "cleared or destroyed"));
  }
  SUBCASE("destroyed") {
    {
      ad::Tape tape;
      loss = ad::sum(x * 2.f);
    }
    CHECK(contains(error_of([&] { loss.backward(); }), "cleared or destroyed"));
  }
  CHECK_FALSE(x.has_grad());
}

// Each tape walks only its own nodes: a gradient reaching a value recorded on another tape
// stopped there, and the parameters behind it silently got none.
TEST_CASE("a gradient that would have to cross to another tape is an error naming the op") {
  Var w = ad::param(Tensor::ones({2}));
  SUBCASE("an outer tape, still active") {
    ad::Tape outer;
    Var l = ad::sum(ad::square(w));
    ad::Tape inner;
    Var m = ad::sum(w * l);
    std::string message = error_of([&] { m.backward(); });
    CHECK(contains(message, "backward: input 1 of mul (shape [])"));
    CHECK(contains(message, "another tape, still active"));
  }
  SUBCASE("a tape since destroyed") {
    ad::Tape outer;
    Var l;
    {
      ad::Tape inner;
      l = ad::sum(ad::square(w));
    }
    std::string message = error_of([&] { (l * 2.f).backward(); });
    CHECK(contains(message, "a tape since cleared or destroyed"));
  }
  SUBCASE("a tape since cleared") {
    ad::Tape tape;
    Var h = ad::square(w);
    tape.clear();
    CHECK(contains(error_of([&] { ad::sum(h).backward(); }), "input 0 of sum"));
  }
  // What still works: the same computation on one tape, and a detached value from another.
  SUBCASE("one tape") {
    ad::Tape tape;
    Var l = ad::sum(ad::square(w));
    ad::sum(w * l).backward();
    CHECK(w.grad().to_vector() == std::vector<float>{6, 6});
  }
  SUBCASE("detached") {
    ad::Tape outer;
    Var l = ad::sum(ad::square(w));
    ad::Tape inner;
    ad::sum(w * l.detach()).backward();
    CHECK(w.grad().to_vector() == std::vector<float>{2, 2});
  }
}

TEST_CASE("every registered op has a name of its own") {
  std::set<std::string> names;
  for (const ad::OpDef* op : ad::registered_ops()) {
    CAPTURE(op->name);
    CHECK(std::string(op->name).size() > 0);
    CHECK(names.insert(op->name).second);
  }
  CHECK(names.count("matmul") == 1);
}

namespace {

// cube(x) with derivative 3x², defined outside the library: a kernel, and a backward written
// with registered ops.
const ad::OpDef cube_op{
    .name = "cube",
    .infer = [](ad::ShapeArgs s) { return *s.inputs[0]; },
    .forward =
        [](const ad::KernelArgs& k) {
          for (int64_t i = 0; i < k.out[0].size; ++i) k.out[0].data[i] = k.in[0].data[i] * k.in[0].data[i] * k.in[0].data[i];
        },
    .backward = [](const ad::BackwardArgs& b) -> ad::Gradients { return {b.grad * 3.f * ad::square(b.inputs[0])}; }};

// Its backward gives a gradient of the wrong shape.
const ad::OpDef broken_op{
    .name = "broken",
    .infer = [](ad::ShapeArgs s) { return *s.inputs[0]; },
    .forward = [](const ad::KernelArgs& k) { std::copy_n(k.in[0].data, k.in[0].size, k.out[0].data); },
    .backward = [](const ad::BackwardArgs&) -> ad::Gradients { return {ad::constant(Tensor::ones({7}))}; }};

// Identity forward; its backward keeps a copy of its output gradient, runs a backward pass of
// its own on a nested tape, and only then uses the copy (2 dy), and records the inner result.
Tensor nested_inner_grad;
const ad::OpDef nested_backward_op{
    .name = "nested_backward",
    .infer = [](ad::ShapeArgs s) { return *s.inputs[0]; },
    .forward = [](const ad::KernelArgs& k) { std::copy_n(k.in[0].data, k.in[0].size, k.out[0].data); },
    .backward = [](const ad::BackwardArgs& b) -> ad::Gradients {
      Var copy = b.grad;
      {
        ad::EnableGrad on;
        ad::Tape inner;
        Var p = ad::param(Tensor::from({2}, {1, 3}));
        ad::sum(ad::apply(cube_op, {p})).backward();  // 3p² = [3, 27]
        nested_inner_grad = p.grad().clone();
      }
      return {copy * 2.f + b.grad * 0.f};  // b.grad must still be the outer gradient here
    }};

}  // namespace

TEST_CASE("a backward rule may run a backward pass of its own: its gradient stays its own") {
  ad::Tape tape;
  Var x = ad::param(Tensor::from({2}, {5, 7}));
  Var y = ad::sum(ad::apply(nested_backward_op, {x}) * ad::constant(Tensor::from({2}, {1, 4})));
  y.backward();
  CHECK(test::close(x.grad(), Tensor::from({2}, {2, 8})));
  CHECK(test::close(nested_inner_grad, Tensor::from({2}, {3, 27})));
  // The thread's lent state is whole again: a second pass gives the same.
  x.zero_grad();
  y.backward();
  CHECK(test::close(x.grad(), Tensor::from({2}, {2, 8})));
}

TEST_CASE("a custom op defined outside the library records and back-propagates") {
  ad::Tape tape;
  Var x = ad::param(Tensor::from({2}, {2, -1}));
  Var y = ad::sum(ad::apply(cube_op, {x}));
  CHECK(std::string(tape.nodes()[0].name()) == "cube");
  CHECK(tape.nodes()[0].op == &cube_op);
  y.backward();
  CHECK(test::close(x.grad(), Tensor::from({2}, {12, 3})));
}

TEST_CASE("a backward function that returns the wrong shape is reported, naming the op") {
  ad::Tape tape;
  Var x = ad::param(Tensor::ones({2}));
  Var y = ad::sum(ad::apply(broken_op, {x}));
  std::string message = error_of([&] { y.backward(); });
  CHECK(contains(message, "broken"));
  CHECK(contains(message, "[7]"));
  CHECK(contains(message, "[2]"));
}

TEST_CASE("a backward rule that answers for fewer inputs than the op has is an error, naming the op") {
  ad::Tape tape;
  Var x = ad::param(Tensor::ones({2})), y = ad::param(Tensor::full({2}, 3));
  Var loss = ad::sum(ad::apply(test::short_backward_op, {x, y}));
  std::string message = error_of([&] { loss.backward(); });
  CHECK(contains(message, "short_backward: backward returned 1 gradients for 2 inputs"));
}

TEST_CASE("a zero-size value recorded off the loss's path does not stop the backward pass") {
  // Its node holds no gradient after the pass: it is skipped like any value the loss does not
  // reach (it was run with a gradient of the wrong shape, and failed).
  ad::Tape tape;
  Var w = ad::param(Tensor::from({2}, {1, 2}));
  Var empty = ad::param(Tensor({0, 3}));
  Var unused_relu = ad::relu(empty);
  Var unused_product = ad::matmul(empty, ad::constant(Tensor::ones({3, 2})));
  Var loss = ad::sum(w * w);
  loss.backward();
  CHECK(test::close(w.grad(), Tensor::from({2}, {2, 4})));
  CHECK_FALSE(empty.has_grad());
  // A zero-size value on the path gets its (empty) gradient, and the pass goes on through it.
  Var through = ad::sum(ad::matmul(empty, ad::constant(Tensor::ones({3, 2})))) + ad::sum(w);
  w.zero_grad();
  through.backward();
  CHECK(test::close(w.grad(), Tensor::from({2}, {1, 1})));
  CHECK(empty.grad().shape() == Shape{0, 3});
}

TEST_CASE("an op without a backward refuses a gradient through it, naming it") {
  ad::Tape tape;
  Var y = ad::param(Tensor::ones({2})), dy = ad::param(Tensor::ones({2}));
  Var d = ad::apply(ad::defs::relu_grad, {y, dy});
  std::string message = error_of([&] { ad::sum(d).backward(); });
  CHECK(contains(message, "relu_grad"));
  CHECK(contains(message, "no gradient"));
}

TEST_CASE("gradients of different inputs and of intermediate values never share storage") {
  ad::Tape tape;
  Var a = ad::param(Tensor::ones({2, 2})), b = ad::param(Tensor::ones({2, 2}));
  Var sum = a + b;
  Var loss = ad::sum(ad::reshape(sum, {4}) * 2.f);
  loss.backward();
  CHECK_FALSE(a.grad().shares_storage_with(b.grad()));
  CHECK_FALSE(a.grad().shares_storage_with(sum.grad()));
  CHECK(test::close(sum.grad(), Tensor::full({2, 2}, 2)));
  loss.backward();  // accumulates into a and b in place: sum's gradient must not change with them
  CHECK(test::close(a.grad(), Tensor::full({2, 2}, 4)));
  CHECK(test::close(b.grad(), Tensor::full({2, 2}, 4)));
  CHECK(test::close(sum.grad(), Tensor::full({2, 2}, 2)));
}

TEST_CASE("registry entries check their inputs before any kernel runs") {
  Var a = ad::constant(Tensor::ones({2, 3})), c = ad::constant(Tensor::ones({4, 5})), d = ad::constant(Tensor::ones({1}));
  CHECK(contains(error_of([&] { ad::apply(ad::defs::extreme_grad, {a, c, d}, ad::ExtremeGradAttrs{}); }), "extreme_grad"));
  CHECK(contains(error_of([&] { ad::apply(ad::defs::relu_grad, {a, c}); }), "relu_grad: shapes [2,3] and [4,5]"));
  CHECK(contains(error_of([&] { ad::apply(ad::defs::add_n, std::span<const Var>{}); }), "add_n"));
  ad::Tape tape;
  std::vector<Var> five(5, ad::param(Tensor::ones({2})));
  CHECK(contains(error_of([&] { ad::apply(ad::defs::add_n, five); }), "at most 4 inputs can be recorded"));
}
