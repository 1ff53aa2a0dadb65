#include "tapegrad/nn/optimizer.h"

#include <algorithm>
#include <cctype>
#include <limits>
#include <utility>

#include <fmt/ranges.h>

#include "tapegrad/nn/config_reader.h"
#include "tapegrad/nn/optimizers/adam.h"
#include "tapegrad/nn/optimizers/rmsprop.h"
#include "tapegrad/nn/optimizers/sgd.h"

namespace nn {

int64_t Optimizer::next_step() const {
  TG_CHECK(iterations >= 0, "{}: iterations is {}; it counts the updates applied so far and cannot be negative",
           type(), iterations);
  // The field is public (callbacks and schedules set it): the constructors' check, again.
  TG_CHECK(learning_rate >= 0 && learning_rate <= std::numeric_limits<float>::max(),
           "{}: learning_rate is {}; it must be a number >= 0 that a float holds (below 3.4e38)", type(),
           learning_rate);
  return iterations + 1;
}

void Optimizer::check_built(const std::vector<Var>& params) const {
  next_step();
  TG_CHECK(slots_.size() == params.size(), "{}.apply: built for {} parameters, given {} (call build() first)", type(),
           slots_.size(), params.size());
  for (size_t i = 0; i < params.size(); ++i)
    for (const auto& [name, slot] : slots_[i])
      TG_CHECK(slot.shape() == params[i].shape(), "{}.apply: parameter {} has shape {} but its '{}' slot has {}",
               type(), i, ad::to_string(params[i].shape()), name, ad::to_string(slot.shape()));
}

void Optimizer::ensure_built(const std::vector<Var>& params) {
  bool same = slots_.size() == params.size() && owners_.size() == params.size();
  for (size_t i = 0; same && i < params.size(); ++i) same = owners_[i].lock() == params[i].ref();
  if (same) return;
  if (owners_.empty() && slots_.size() == params.size()) {  // built by hand (build(), load_model)
    remember_owners(params);
    return;
  }
  // Slots belong to one set of weights: a second model's would silently share the first one's
  // state (Keras raises too). Weights that no longer exist (a model rebuilt) free the slots.
  for (size_t i = 0; i < owners_.size(); ++i) {
    ad::VarRef owner = owners_[i].lock();
    bool elsewhere = owner && std::none_of(params.begin(), params.end(), [&](const Var& p) { return p.ref() == owner; });
    TG_CHECK(!elsewhere, "{}: this optimizer already holds the state of another model's weights (parameter {} of shape "
             "{}); give each model an optimizer of its own", type(), i, ad::to_string(owner->value.shape()));
  }
  build(params);
  remember_owners(params);
}

void Optimizer::remember_owners(const std::vector<Var>& params) {
  owners_.clear();
  for (const Var& p : params) owners_.push_back(p.ref());
}

std::vector<std::string> Optimizer::slot_names(size_t param) const {
  TG_CHECK(param < slots_.size(), "{}.slot_names: parameter {} is beyond the {} the slots were built for", type(),
           param, slots_.size());
  std::vector<std::string> names;
  for (const auto& [name, tensor] : slots_[param]) names.push_back(name);
  return names;
}

const Tensor& Optimizer::slot(size_t param, const std::string& name) const {
  TG_CHECK(param < slots_.size(), "{}.slot: parameter {} is beyond the {} the slots were built for", type(), param,
           slots_.size());
  auto found = slots_[param].find(name);
  TG_CHECK(found != slots_[param].end(), "{}.slot: parameter {} has no slot '{}'; its slots: [{}]", type(), param,
           name, fmt::join(slot_names(param), ", "));
  return found->second;
}

Tensor& Optimizer::slot(size_t param, const std::string& name) {
  return const_cast<Tensor&>(std::as_const(*this).slot(param, name));
}

void Optimizer::own_slots() {
  owners_.clear();  // a copy serves whichever weights it meets next
  for (auto& slots : slots_)
    for (auto& [name, tensor] : slots) tensor = tensor.clone();
}

void Optimizer::make_slots(const std::vector<Var>& params, std::initializer_list<const char*> names) {
  slots_.assign(params.size(), {});
  for (size_t i = 0; i < params.size(); ++i)
    for (const char* name : names) slots_[i][name] = Tensor::zeros(params[i].shape());
}

OptimizerPtr optimizer_by_name(const std::string& name) {
  std::string lower = name;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  if (lower == "sgd") return std::make_shared<SGD>();
  if (lower == "adam") return std::make_shared<Adam>();
  if (lower == "rmsprop") return std::make_shared<RMSprop>();
  ad::fail("optimizer: unknown optimizer '{}'; known: sgd, adam, rmsprop", name);
}

OptimizerPtr optimizer_from_config(const Json& config) {
  ConfigReader read(config, "optimizer");
  std::string type = read.text("type");
  OptimizerPtr optimizer;
  if (type == "SGD") {
    optimizer = std::make_shared<SGD>(read.number("learning_rate", 0.01),
                                      SGDOptions{.momentum = read.number("momentum", 0.0),
                                                 .nesterov = read.boolean("nesterov", false)});
  } else if (type == "Adam") {
    optimizer = std::make_shared<Adam>(read.number("learning_rate", 0.001),
                                       AdamOptions{.beta_1 = read.number("beta_1", 0.9),
                                                   .beta_2 = read.number("beta_2", 0.999),
                                                   .epsilon = read.number("epsilon", 1e-7)});
  } else if (type == "RMSprop") {
    optimizer = std::make_shared<RMSprop>(read.number("learning_rate", 0.001),
                                          RMSpropOptions{.rho = read.number("rho", 0.9),
                                                         .momentum = read.number("momentum", 0.0),
                                                         .epsilon = read.number("epsilon", 1e-7)});
  } else {
    ad::fail("optimizer_from_config: unknown optimizer type '{}'; known: SGD, Adam, RMSprop", type);
  }
  if (read.has("iterations")) {
    optimizer->iterations = read.integer("iterations");
    TG_CHECK(optimizer->iterations >= 0, "{} config: iterations must be >= 0, got {}", type, optimizer->iterations);
  }
  return optimizer;
}

OptimizerRef::OptimizerRef(const char* name)
    : optimizer_(optimizer_by_name(name ? name : throw ad::Error("OptimizerRef: the optimizer name is null"))) {}
OptimizerRef::OptimizerRef(const std::string& name) : optimizer_(optimizer_by_name(name)) {}

}  // namespace nn
