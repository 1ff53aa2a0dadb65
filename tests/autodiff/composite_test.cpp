// Whole models on the raw autodiff API: the gradient of a two-layer network, and training one
// on XOR with a hand-written SGD step.
#include <doctest/doctest.h>

#include "tapegrad/autodiff/gradcheck.h"
#include "tapegrad/autodiff/ops.h"
#include "test_util.h"

using ad::Tensor;
using ad::Var;

TEST_CASE("a two-layer MLP with softmax cross-entropy passes gradcheck in every parameter") {
  Tensor x = test::random({5, 4}, -1, 1, 1);
  Tensor labels = Tensor::from({5}, {0, 2, 1, 2, 0});
  Tensor onehot = Tensor::zeros({5, 3});
  for (int64_t i = 0; i < 5; ++i) onehot[i * 3 + int64_t(labels[i])] = 1;
  std::vector<Tensor> params = {test::random({4, 6}, -1, 1, 2), test::random({6}, -0.5f, 0.5f, 3),
                                test::random({6, 3}, -1, 1, 4), test::random({3}, -0.5f, 0.5f, 5)};
  auto hidden = [x](std::span<const Var> p) { return ad::tanh(ad::matmul(ad::constant(x), p[0]) + p[1]); };
  SUBCASE("softmax then cross-entropy on probabilities") {
    auto loss = [&](std::span<const Var> p) {
      Var probabilities = ad::softmax(ad::matmul(hidden(p), p[2]) + p[3]);
      return ad::categorical_crossentropy(probabilities, ad::constant(onehot));
    };
    auto result = ad::gradcheck(loss, params);
    CHECK_MESSAGE(result.ok, result.message);
  }
  SUBCASE("sparse cross-entropy from logits") {
    auto loss = [&](std::span<const Var> p) {
      return ad::sparse_categorical_crossentropy(ad::matmul(hidden(p), p[2]) + p[3], labels, {.from_logits = true});
    };
    auto result = ad::gradcheck(loss, params);
    CHECK_MESSAGE(result.ok, result.message);
  }
}

TEST_CASE("a 2-4-1 MLP trained with the raw autodiff API learns XOR") {
  Var x = ad::constant(Tensor::from({4, 2}, {0, 0, 0, 1, 1, 0, 1, 1}));
  Var y = ad::constant(Tensor::from({4, 1}, {0, 1, 1, 0}));
  ad::Rng rng(3);
  Var W1 = ad::param(Tensor::uniform({2, 4}, -1, 1, rng)), b1 = ad::param(Tensor::zeros({4}));
  Var W2 = ad::param(Tensor::uniform({4, 1}, -1, 1, rng)), b2 = ad::param(Tensor::zeros({1}));
  std::vector<Var*> params = {&W1, &b1, &W2, &b2};
  auto predict = [&] { return ad::sigmoid(ad::matmul(ad::tanh(ad::matmul(x, W1) + b1), W2) + b2); };
  ad::Tape tape;
  float first_loss = 0, loss_value = 0;
  for (int step = 0; step < 2000; ++step) {
    Var loss = ad::binary_crossentropy(predict(), y);
    loss.backward();
    if (step == 0) {
      first_loss = loss.item();
      CHECK(tape.size() == 7);  // matmul, add, tanh, matmul, add, sigmoid, loss
    }
    loss_value = loss.item();
    {
      ad::NoGrad no_grad;
      for (Var* p : params) {
        float* v = p->value().data();
        const float* g = p->grad().data();
        for (int64_t i = 0; i < p->size(); ++i) v[i] -= 0.5f * g[i];
        p->zero_grad();
      }
    }
    tape.clear();
  }
  CHECK(loss_value < first_loss / 10);
  Tensor out = predict().value();
  CHECK(out[0] < 0.5f);
  CHECK(out[1] > 0.5f);
  CHECK(out[2] > 0.5f);
  CHECK(out[3] < 0.5f);
}
