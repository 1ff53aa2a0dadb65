/// @file
/// The four input pairs of exclusive or and their targets: the smallest problem a single
/// perceptron cannot solve and a two-layer network can.
///
/// @code
/// datasets::Xor xor_data = datasets::load_xor();
/// xor_data.inputs;    // [4,2]: (0,0) (0,1) (1,0) (1,1)
/// xor_data.targets;   // [4,1]:  0     1     1     0
/// @endcode
#pragma once
#include "tapegrad/autodiff/tensor.h"

namespace datasets {

/// The four inputs of XOR and their targets.
struct Xor {
  ad::Tensor inputs;   ///< [4,2]
  ad::Tensor targets;  ///< [4,1]
};

/// Inputs (0,0), (0,1), (1,0), (1,1) and targets 0, 1, 1, 0.
Xor load_xor();

}  // namespace datasets
