#include "tapegrad/nn/activations.h"

#include <fmt/format.h>

#include <utility>

namespace nn {

namespace {

struct Entry {
  const char* name;
  const char* canonical;
  ActivationFn function;
};

// Aliases point at the canonical name so that saved configs use one spelling.
const Entry kActivations[] = {
    {"linear", "linear", linear},       {"", "linear", linear},           {"none", "linear", linear},
    {"relu", "relu", ad::relu},         {"sigmoid", "sigmoid", ad::sigmoid}, {"logistic", "sigmoid", ad::sigmoid},
    {"tanh", "tanh", ad::tanh},         {"softplus", "softplus", ad::softplus}, {"softmax", "softmax", ad::softmax},
};

const Entry& find(const std::string& name, const char* who) {
  for (const Entry& e : kActivations)
    if (name == e.name) return e;
  ad::fail("{}: unknown activation '{}'; known: {}", who, name, fmt::join(known_activations(), ", "));
}

}  // namespace

ad::Var linear(const ad::Var& x) { return x; }

const std::vector<std::string>& known_activations() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (const Entry& e : kActivations)
      if (*e.name) out.emplace_back(e.name);
    return out;
  }();
  return names;
}

ActivationFn activation_function(const std::string& name) { return find(name, "activation").function; }

std::string canonical_activation(const std::string& name) { return find(name, "activation").canonical; }

ad::Var activation(const std::string& name, const ad::Var& x) { return activation_function(name)(x); }

}  // namespace nn
