/// @file
/// The compile settings a Sequential keeps (internal to nn/: sequential.cpp and the training loop).
#pragma once
#include "tapegrad/nn/sequential.h"

namespace nn {

struct Sequential::Compiled {
  LossPtr loss;
  OptimizerPtr optimizer;
  std::vector<std::string> metrics;
};

}  // namespace nn
