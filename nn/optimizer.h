/// @file
/// Optimizers: SGD (momentum, Nesterov), Adam and RMSprop, with Keras' names and defaults.
/// An optimizer owns its per-parameter state ("slots"), which is saved with the model and which
/// the compiled training step (graph/) updates in place, so eager and compiled training share
/// it. Everyone reaches a slot the same way, the update kernels included: slot(i, name), a
/// handle on the optimizer's own storage.
///
/// @code
/// #include <tapegrad/nn/optimizers/sgd.h>
/// #include <tapegrad/nn/sequential.h>
/// // Given: nn::Sequential& model
/// model.compile({.loss = "mse", .optimizer = nn::SGD(0.01, {.momentum = 0.9})});
/// @endcode
#pragma once
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "tapegrad/nn/layer.h"

namespace nn {

/// The base of the optimizers, as Keras' keras.optimizers.Optimizer: hyper-parameters, the
/// step count and per-parameter slots.
class Optimizer {
 public:
  virtual ~Optimizer() = default;
  virtual std::string type() const = 0;  ///< "SGD", "Adam", "RMSprop"
  /// Creates the slots for these parameters (zeros of their shapes); called by compile/fit.
  virtual void build(const std::vector<Var>& params) = 0;
  /// One update of every parameter from its grad(), in place; increments iterations.
  virtual void apply(const std::vector<Var>& params) = 0;
  /// Hyper-parameters by Keras names: {"type":"SGD","learning_rate":0.01,"momentum":0,...}.
  virtual Json get_config() const = 0;
  /// An independent copy, slots included (copied, not shared).
  virtual std::shared_ptr<Optimizer> clone() const = 0;
  /// The slots that hold running means of squared gradients ({"v"} for Adam, {"velocity"} for
  /// RMSprop): never negative, so load_model refuses a file whose values there are negative
  /// or NaN (the update would take their square root).
  virtual std::vector<std::string> squared_gradient_slots() const { return {}; }

  /// build(params) unless the slots already belong to these parameters: what fit, the step
  /// runners and load_model call before they reach the slots. Throws ad::Error when the slots
  /// belong to another live model's weights (one optimizer shared by two models, which Keras
  /// also refuses); slots of weights that no longer exist are rebuilt.
  void ensure_built(const std::vector<Var>& params);
  /// How many parameters build() made slots for (0 before build()).
  size_t built_parameters() const { return slots_.size(); }
  /// The names of parameter `param`'s slots, sorted: {"m", "v"} for Adam, {"momentum"} for SGD
  /// with momentum, none for plain SGD. Throws ad::Error for a parameter index beyond
  /// built_parameters().
  std::vector<std::string> slot_names(size_t param) const;
  /// Parameter `param`'s slot `name` (in build() order; shaped as the parameter), the
  /// optimizer's own tensor: write its values (data(), assign()) to change the state, as
  /// load_model and the compiled step do; do not re-point the handle (a compiled step keeps
  /// the storage it was bound to). Throws ad::Error naming the optimizer, the index and the
  /// slots it has when there is no such slot.
  /// @{
  Tensor& slot(size_t param, const std::string& name);
  const Tensor& slot(size_t param, const std::string& name) const;
  /// @}

  int64_t iterations = 0;  ///< updates applied so far (Keras' optimizer.iterations; Adam's t)
  /// The number of the next update, iterations + 1 (Adam's t, from 1). Throws ad::Error naming
  /// the optimizer when iterations was set below 0, or learning_rate to a value a float cannot
  /// hold or below 0 (NaN too); every update (eager or compiled) asks it.
  int64_t next_step() const;
  double learning_rate = 0.01;  ///< the step size; callbacks may change it between steps

 protected:
  /// Throws unless build() was called for parameters of these shapes and iterations is >= 0.
  void check_built(const std::vector<Var>& params) const;
  /// Replaces the slots by copies of their data: a clone must not share storage with the
  /// original (Tensor copies do share it).
  void own_slots();
  template <typename O>
  /// clone() for a subclass O: a copy of *this with slots of its own.
  std::shared_ptr<Optimizer> clone_as() const {
    auto copy = std::make_shared<O>(static_cast<const O&>(*this));
    copy->own_slots();
    return copy;
  }
  /// One slot per parameter, zeros of its shape, under each of `names` (none: built, no state).
  void make_slots(const std::vector<Var>& params, std::initializer_list<const char*> names);

 private:
  std::vector<std::map<std::string, Tensor>> slots_;  ///< per parameter, by slot name
  std::vector<std::weak_ptr<ad::VarState>> owners_;  ///< the weights ensure_built() met the slots with
  void remember_owners(const std::vector<Var>& params);
};

/// Optimizers are held by shared pointer (a model's compile settings).
using OptimizerPtr = std::shared_ptr<Optimizer>;

/// Rebuilds an optimizer from get_config() (slots are restored separately).
OptimizerPtr optimizer_from_config(const Json& config);
/// "sgd", "adam" or "rmsprop" (any case) with Keras' defaults; throws listing them.
OptimizerPtr optimizer_by_name(const std::string& name);

/// Accepts a Keras name ("sgd", "adam", "rmsprop", with default settings) or an optimizer.
class OptimizerRef {
 public:
  /// An optimizer by name, see optimizer_by_name().
  /// @{
  OptimizerRef(const char* name);
  OptimizerRef(const std::string& name);
  /// @}
  /// An optimizer object given by value.
  template <typename O>
    requires std::derived_from<O, Optimizer>
  OptimizerRef(O optimizer) : optimizer_(std::make_shared<O>(std::move(optimizer))) {}
  /// An optimizer shared with the caller (its slots are then shared too).
  OptimizerRef(OptimizerPtr optimizer) : optimizer_(std::move(optimizer)) {}
  /// The optimizer.
  const OptimizerPtr& get() const { return optimizer_; }

 private:
  OptimizerPtr optimizer_;
};

}  // namespace nn
