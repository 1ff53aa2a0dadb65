// nn::Model's loop serves any kind of model: a model written by subclassing (layers as members,
// call() by hand) trains, evaluates, predicts and saves its weights exactly as the Sequential
// of the same layers, eagerly and through the compiled step.
#include "tapegrad/nn/model.h"

#include <doctest/doctest.h>

#include <cmath>
#include <memory>

#include "tapegrad/nn/compiled_step.h"
#include "tapegrad/nn/layers/dense.h"
#include "tapegrad/nn/optimizers/sgd.h"
#include "tapegrad/nn/sequential.h"
#include "tapegrad/nn/serialization.h"
#include "tests/nn/scratch_folder.h"

namespace {

using ad::Shape;
using ad::Tensor;
using ad::Var;

// Dense(8, tanh) then Dense(1, sigmoid) as members, as Keras' subclassing API writes a model.
class TwoLayers : public nn::Model {
 public:
  TwoLayers() : Model("two_layers") {
    hidden_->set_name("dense");  // the names a Sequential gives, so their weight files match
    output_->set_name("dense_1");
    layers_ = {hidden_, output_};
  }
  std::string type() const override { return "TwoLayers"; }
  Shape input_shape() const override {
    check_built("TwoLayers.input_shape");
    return hidden_->input_shape();
  }
  Shape output_shape() const override {
    check_built("TwoLayers.output_shape");
    return output_->output_shape(output_->input_shape());
  }
  nn::Json get_config() const override { return {{"name", name()}, {"type", type()}}; }

 protected:
  Var call(const Var& x, bool /*training*/) override { return output_->call(hidden_->call(x)); }
  Var call_logits(const Var& x, bool /*training*/) override {
    return output_->call_pre_activation(hidden_->call(x));
  }
  std::string output_activation() const override { return output_->output_activation(); }
  void build_layers(const Shape& input_shape, ad::Rng& rng, bool redraw) override {
    build_layer(*output_, build_layer(*hidden_, input_shape, rng, redraw), rng, redraw);
  }

 private:
  std::shared_ptr<nn::Dense> hidden_ = std::make_shared<nn::Dense>(8, "tanh");
  std::shared_ptr<nn::Dense> output_ = std::make_shared<nn::Dense>(1, "sigmoid");
};

struct Data {
  Tensor x, y;
};

// 40 points in [-1,1]^3, labelled 1 where x0 + x1 > 0.
Data points() {
  ad::Rng rng(3);
  Data d{Tensor::uniform({40, 3}, -1, 1, rng), Tensor({40, 1})};
  for (int64_t i = 0; i < 40; ++i) d.y[i] = d.x.at({i, 0}) + d.x.at({i, 1}) > 0 ? 1.f : 0.f;
  return d;
}

void compile(nn::Model& model) {
  model.compile({.loss = "binary_crossentropy", .optimizer = nn::SGD(0.1), .metrics = {"accuracy"}});
}

}  // namespace

TEST_CASE("a subclassed model trains through Model's loop exactly as the Sequential of its layers") {
  const Data d = points();
  for (bool eager : {true, false}) {
    CAPTURE(eager);
    TwoLayers subclassed;
    nn::Sequential sequential({nn::Dense(8, "tanh"), nn::Dense(1, "sigmoid")});
    compile(subclassed);
    compile(sequential);
    // The output's sigmoid moves into the loss for both: the hook is the Model's, not Sequential's.
    CHECK(subclassed.training_loss().on_logits);
    CHECK(subclassed.training_loss().activation == "sigmoid");

    const nn::FitOptions options{.epochs = 3, .batch_size = 8, .seed = 5, .verbose = 0, .eager = eager};
    nn::History a = subclassed.fit(d.x, d.y, options), b = sequential.fit(d.x, d.y, options);
    // The same draw order gives the same initial weights, so the same training.
    for (size_t e = 0; e < 3; ++e) {
      CHECK(a["loss"][e] == doctest::Approx(b["loss"][e]).epsilon(1e-6));
      CHECK(a["accuracy"][e] == b["accuracy"][e]);
    }
    CHECK(a["loss"][2] < a["loss"][0]);  // it did train
    std::vector<Tensor> wa = subclassed.get_weights(), wb = sequential.get_weights();
    REQUIRE(wa.size() == 4);
    REQUIRE(wb.size() == 4);
    for (size_t i = 0; i < wa.size(); ++i) CHECK(ad::max_abs_difference(wa[i], wb[i]) <= 1e-6f);
    CHECK(subclassed.evaluate(d.x, d.y).at("loss") == doctest::Approx(sequential.evaluate(d.x, d.y).at("loss")).epsilon(1e-6));
    CHECK(ad::max_abs_difference(subclassed.predict(d.x), sequential.predict(d.x)) <= 1e-6f);
  }
}

TEST_CASE("the compiled step runs a subclassed model as a graph, not eagerly") {
  const Data d = points();
  TwoLayers model;
  compile(model);
  model.build({3}, 1);
  nn::CompiledStep step(model);
  Tensor predictions;
  const float loss = step.train(d.x.rows(0, 8), d.y.rows(0, 8), predictions);
  CHECK(step.supported());
  CHECK(std::string(step.kind()) == "compiled");
  CHECK(std::isfinite(loss));
  CHECK(predictions.shape() == Shape{8, 1});
}

TEST_CASE("a subclassed model's weights load into the Sequential of the same layers") {
  const Data d = points();
  tests::ScratchFolder folder;
  TwoLayers model;
  compile(model);
  model.fit(d.x, d.y, {.epochs = 2, .seed = 9, .verbose = 0});
  nn::save_weights(model, folder.file("two.weights"));

  nn::Sequential again({nn::Dense(8, "tanh"), nn::Dense(1, "sigmoid")});
  again.build({3}, 123);  // other initial weights
  REQUIRE(ad::max_abs_difference(again.predict(d.x), model.predict(d.x)) > 1e-3f);
  nn::load_weights(again, folder.file("two.weights"));
  CHECK(ad::max_abs_difference(again.predict(d.x), model.predict(d.x)) == 0.f);
}

TEST_CASE("Model's errors name the kind of model") {
  TwoLayers model;
  CHECK_THROWS_WITH_AS(model.get_weights(), doctest::Contains("TwoLayers.get_weights: model 'two_layers' is not built"),
                       ad::Error);
  CHECK_THROWS_WITH_AS(model.optimizer(), doctest::Contains("TwoLayers.optimizer: model 'two_layers' is not compiled"),
                       ad::Error);
  CHECK_THROWS_WITH_AS(model.save("unused.model"), doctest::Contains("TwoLayers::save: 'unused.model': the model is not built"),
                       ad::Error);
}
