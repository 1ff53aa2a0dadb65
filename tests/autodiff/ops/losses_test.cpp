#include <doctest/doctest.h>

#include <cmath>
#include <functional>

#include "../test_util.h"

using ad::Tensor;
using ad::Var;

namespace {

// The loss value and the gradient of the prediction.
std::pair<float, Tensor> loss_and_gradient(const std::function<Var(const Var&)>& loss, Tensor prediction) {
  ad::Tape tape;
  Var p = ad::param(std::move(prediction));
  Var l = loss(p);
  l.backward();
  return {l.item(), p.grad()};
}

}  // namespace

TEST_CASE("the logits losses give finite, correct values for logits of 1e4") {
  Tensor logits = Tensor::from({2, 2}, {1e4f, 0, -1e4f, 1e4f});
  SUBCASE("sparse categorical cross-entropy") {
    // Row 0 picks its huge logit (loss 0), row 1 the one 2e4 below the other (loss 2e4).
    auto [value, grad] = loss_and_gradient(
        [](const Var& p) {
          return ad::sparse_categorical_crossentropy(p, Tensor::from({2}, {0, 0}), {.from_logits = true});
        },
        logits);
    CHECK(value == doctest::Approx(1e4));
    CHECK(test::close(grad, Tensor::from({2, 2}, {0, 0, -0.5f, 0.5f})));
  }
  SUBCASE("categorical cross-entropy") {
    auto [value, grad] = loss_and_gradient(
        [](const Var& p) {
          return ad::categorical_crossentropy(p, ad::constant(Tensor::from({2, 2}, {0, 1, 0, 1})),
                                              {.from_logits = true});
        },
        logits);
    CHECK(value == doctest::Approx(5e3));  // (1e4 + 0) / 2
    CHECK(test::close(grad, Tensor::from({2, 2}, {0.5f, -0.5f, 0, 0})));
  }
  SUBCASE("binary cross-entropy") {
    auto [value, grad] = loss_and_gradient(
        [](const Var& p) {
          return ad::binary_crossentropy(p, ad::constant(Tensor::from({2, 2}, {1, 1, 0, 1})), {.from_logits = true});
        },
        logits);
    CHECK(value == doctest::Approx((0 + std::log(2.0) + 0 + 0) / 4).epsilon(1e-4));
    CHECK(test::close(grad, Tensor::from({2, 2}, {0, -0.125f, 0, 0})));
    // The other side: a confident wrong answer costs the logit itself.
    auto wrong = loss_and_gradient(
        [](const Var& p) { return ad::binary_crossentropy(p, ad::constant(Tensor::zeros({1})), {.from_logits = true}); },
        Tensor::from({1}, {1e4f}));
    CHECK(wrong.first == doctest::Approx(1e4));
    CHECK(wrong.second[0] == doctest::Approx(1));
  }
}

TEST_CASE("the probability losses clip at 1e-7 so certainty gives a finite loss and a finite gradient") {
  auto [value, grad] = loss_and_gradient(
      [](const Var& p) { return ad::binary_crossentropy(p, ad::constant(Tensor::from({2}, {0, 1}))); },
      Tensor::from({2}, {1, 0}));
  // tf.keras (tf_keras 2.21) gives 15.4249 for p = 0, t = 1 and 15.3332 for p = 1, t = 0: the
  // clip, then 1e-7 again inside each log (1 - 1e-7 rounds in float32).
  CHECK(value == doctest::Approx((15.4249 + 15.3332) / 2).epsilon(1e-4));
  CHECK(test::all_finite(grad));
  auto sparse = loss_and_gradient(
      [](const Var& p) { return ad::sparse_categorical_crossentropy(p, Tensor::from({1}, {1})); },
      Tensor::from({1, 2}, {1, 0}));
  CHECK(sparse.first == doctest::Approx(-std::log(1e-7)).epsilon(1e-3));
  CHECK(test::all_finite(sparse.second));
  auto categorical = loss_and_gradient(
      [](const Var& p) { return ad::categorical_crossentropy(p, ad::constant(Tensor::from({1, 2}, {0, 1}))); },
      Tensor::from({1, 2}, {1, 0}));
  CHECK(categorical.first == doctest::Approx(-std::log(1e-7)).epsilon(1e-3));
  CHECK(test::all_finite(categorical.second));
}

// Keras divides each row of probabilities by its sum before it clips and takes the log in
// categorical_crossentropy; a row that is already a distribution is unchanged.
TEST_CASE("categorical_crossentropy from probabilities divides each row by its sum, then clips, as Keras does") {
  Tensor unnormalised = Tensor::from({2, 2}, {0.2f, 0.6f, 1, 3});  // sums 0.8 and 4
  Tensor onehot = Tensor::from({2, 2}, {0, 1, 1, 0});
  auto categorical = [&](const Var& p) { return ad::categorical_crossentropy(p, ad::constant(onehot)); };
  double expected = (-std::log(0.75) - std::log(0.25)) / 2;
  // d/dp_j of -log(p_l / Σp) / rows: (1/Σp - [j = l]/p_l) / 2.
  Tensor expected_grad = Tensor::from({2, 2}, {1.25f / 2, (1.25f - 1 / 0.6f) / 2, (0.25f - 1) / 2, 0.25f / 2});
  auto [value, grad] = loss_and_gradient(categorical, unnormalised);
  CHECK(value == doctest::Approx(expected).epsilon(1e-6));
  for (int64_t i = 0; i < 4; ++i) CHECK(grad[i] == doctest::Approx(expected_grad[i]).epsilon(1e-5));
  // Scaling a row changes neither the loss nor, beyond the scale, the gradient.
  Tensor scaled = Tensor::from({2, 2}, {1, 3, 5, 15});
  auto [scaled_value, scaled_grad] = loss_and_gradient(categorical, scaled);
  CHECK(scaled_value == doctest::Approx(value).epsilon(1e-6));
  for (int64_t i = 0; i < 4; ++i) CHECK(scaled_grad[i] * 5 == doctest::Approx(grad[i]).epsilon(1e-5));
  // A row of zeros is no distribution: NaN, as in Keras.
  auto [zero_value, zero_grad] = loss_and_gradient(categorical, Tensor::zeros({2, 2}));
  CHECK(std::isnan(zero_value));
  CHECK(std::isnan(zero_grad[1]));
  // Keras' CategoricalCrossentropy example (rows that sum to 1, a 0 clipped to 1e-7).
  auto keras = loss_and_gradient(
      [](const Var& p) { return ad::categorical_crossentropy(p, ad::constant(Tensor::from({2, 3}, {0, 1, 0, 0, 0, 1}))); },
      Tensor::from({2, 3}, {0.05f, 0.95f, 0, 0.1f, 0.8f, 0.1f}));
  CHECK(keras.first == doctest::Approx(1.1769392).epsilon(1e-6));
}

// tf.keras' sparse_categorical_crossentropy takes the log of the clipped probabilities and
// then a softmax of those logs: each value clipped to [1e-7, 1 - 1e-7], the row then divided by
// its clipped sum. Expected values from tf_keras 2.21 (the same in Keras 3 on TensorFlow).
TEST_CASE("sparse_categorical_crossentropy from probabilities clips each value, then divides by the clipped sum, as Keras does") {
  auto sparse = [](Tensor labels) {
    return [labels](const Var& p) { return ad::sparse_categorical_crossentropy(p, labels); };
  };
  // Unclipped rows are read as distributions: scaling a row changes nothing but the gradient's scale.
  auto [value, grad] = loss_and_gradient(sparse(Tensor::from({2}, {1, 0})), Tensor::from({2, 2}, {0.2f, 0.6f, 0.1f, 0.3f}));
  CHECK(value == doctest::Approx((-std::log(0.75) - std::log(0.25)) / 2).epsilon(1e-6));
  Tensor expected_grad = Tensor::from({2, 2}, {1.25f / 2, (1.25f - 1 / 0.6f) / 2, (2.5f - 10) / 2, 2.5f / 2});
  for (int64_t i = 0; i < 4; ++i) CHECK(grad[i] == doctest::Approx(expected_grad[i]).epsilon(1e-5));
  // Values above 1 are clipped first: a row [2, 1, 1] is uniform (Keras: log 3, gradient 0).
  auto [above, above_grad] = loss_and_gradient(sparse(Tensor::from({1}, {0})), Tensor::from({1, 3}, {2, 1, 1}));
  CHECK(above == doctest::Approx(1.098612).epsilon(1e-6));
  for (int64_t i = 0; i < 3; ++i) CHECK(above_grad[i] == 0.f);
  // A negative value counts as 1e-7 (Keras: 0.10536).
  auto [negative, negative_grad] = loss_and_gradient(sparse(Tensor::from({1}, {0})), Tensor::from({1, 3}, {0.9f, -0.5f, 0.1f}));
  CHECK(negative == doctest::Approx(0.10536).epsilon(1e-4));
  CHECK(negative_grad[1] == 0.f);
  CHECK(test::all_finite(negative_grad));
  // A row of zeros, as relu outputs give, is uniform too: log 3 and no gradient, not NaN.
  auto [zero, zero_grad] = loss_and_gradient(sparse(Tensor::from({1}, {2})), Tensor::zeros({1, 3}));
  CHECK(zero == doctest::Approx(1.098612).epsilon(1e-6));
  for (int64_t i = 0; i < 3; ++i) CHECK(zero_grad[i] == 0.f);
  // NaN stays NaN.
  auto [nan_value, nan_grad] = loss_and_gradient(sparse(Tensor::from({1}, {0})), Tensor::from({1, 2}, {NAN, 0.5f}));
  CHECK(std::isnan(nan_value));
  CHECK(std::isnan(nan_grad[1]));
}

TEST_CASE("the losses take the mean over samples and targets get no gradient") {
  ad::Tape tape;
  Var p = ad::param(Tensor::from({2, 2}, {1, 2, 3, 4}));
  Var t = ad::param(Tensor::zeros({2, 2}));
  Var l = ad::mse_loss(p, t);
  CHECK(l.item() == doctest::Approx((1 + 4 + 9 + 16) / 4.0));
  CHECK(l.shape().empty());
  l.backward();
  CHECK(test::close(p.grad(), Tensor::from({2, 2}, {0.5f, 1, 1.5f, 2})));
  CHECK_FALSE(t.has_grad());
  Var huber = ad::huber_loss(p, ad::constant(Tensor::zeros({2, 2})), 2.f);
  CHECK(huber.item() == doctest::Approx((0.5 + 2 + 2 * (3 - 1) + 2 * (4 - 1)) / 4.0));
}

// The case and its kind: rows [m, m] (and [m, m - 1]) for large positive and negative m
// against the exact values, loss and gradient, for both cross-entropies from logits.
TEST_CASE("the cross-entropies from logits keep ln 2 and the gradient [0.5, -0.5] for logits [m, m] at any m") {
  for (float m : {0.f, 1e3f, -1e3f, 65536.f, 16777216.f, -16777216.f, 1e9f, -1e9f}) {
    CAPTURE(m);
    auto sparse = loss_and_gradient(
        [](const Var& p) { return ad::sparse_categorical_crossentropy(p, Tensor::from({1}, {1}), {.from_logits = true}); },
        Tensor::from({1, 2}, {m, m}));
    CHECK(sparse.first == doctest::Approx(std::log(2.0)).epsilon(1e-6));
    CHECK(test::close(sparse.second, Tensor::from({1, 2}, {0.5f, -0.5f}), 1e-7f, 0));
    auto dense = loss_and_gradient(
        [](const Var& p) {
          return ad::categorical_crossentropy(p, ad::constant(Tensor::from({1, 2}, {0, 1})), {.from_logits = true});
        },
        Tensor::from({1, 2}, {m, m}));
    CHECK(dense.first == doctest::Approx(std::log(2.0)).epsilon(1e-6));
    CHECK(test::close(dense.second, Tensor::from({1, 2}, {0.5f, -0.5f}), 1e-7f, 0));
  }
  // One apart where the float spacing allows it: loss log(1 + e) for the smaller logit.
  for (float m : {1e3f, -1e3f, 1e6f, -1e6f}) {
    CAPTURE(m);
    auto [value, grad] = loss_and_gradient(
        [](const Var& p) { return ad::sparse_categorical_crossentropy(p, Tensor::from({1}, {1}), {.from_logits = true}); },
        Tensor::from({1, 2}, {m, m - 1}));
    double p0 = 1 / (1 + std::exp(-1.0));  // softmax [p0, 1 - p0]; the gradient is that minus [0, 1]
    CHECK(value == doctest::Approx(std::log1p(std::exp(1.0))).epsilon(1e-6));
    CHECK(test::close(grad, Tensor::from({1, 2}, {float(p0), float(-p0)}), 1e-6f, 0));
  }
}

TEST_CASE("a NaN prediction gives a NaN loss and a NaN gradient in every loss") {
  Tensor nan_row = Tensor::from({1, 2}, {NAN, 0.5f});
  auto all_nan_at_0 = [](const std::function<Var(const Var&)>& loss, const Tensor& prediction) {
    auto [value, grad] = loss_and_gradient(loss, prediction);
    CHECK(std::isnan(value));
    CHECK(std::isnan(grad[0]));
  };
  Tensor target = Tensor::from({1, 2}, {0, 1});
  all_nan_at_0([&](const Var& p) { return ad::mse_loss(p, ad::constant(target)); }, nan_row);
  all_nan_at_0([&](const Var& p) { return ad::mae_loss(p, ad::constant(target)); }, nan_row);
  all_nan_at_0([&](const Var& p) { return ad::huber_loss(p, ad::constant(target)); }, nan_row);
  for (bool logits : {false, true}) {
    CAPTURE(logits);
    all_nan_at_0([&](const Var& p) { return ad::binary_crossentropy(p, ad::constant(target), {.from_logits = logits}); },
                 nan_row);
    all_nan_at_0(
        [&](const Var& p) { return ad::categorical_crossentropy(p, ad::constant(target), {.from_logits = logits}); },
        nan_row);
    // The sparse loss reads only the label's probability: the NaN sits there.
    all_nan_at_0(
        [&](const Var& p) {
          return ad::sparse_categorical_crossentropy(p, Tensor::from({1}, {0}), {.from_logits = logits});
        },
        nan_row);
  }
}
