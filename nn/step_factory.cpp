#include "tapegrad/nn/step_factory.h"

#include "tapegrad/nn/compiled_step.h"
#include "tapegrad/nn/eager_step.h"

namespace nn {

// The compiled step falls back to eager by itself when the graph cannot run the model.
std::unique_ptr<StepRunner> make_step_runner(Model& model, bool eager) {
  if (eager) return std::make_unique<EagerStep>(model);
  return std::make_unique<CompiledStep>(model);
}

}  // namespace nn
