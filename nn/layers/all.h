/// @file
/// Every layer of the library, for code that builds models:
///
/// @code
/// #include <tapegrad/nn/sequential.h>
/// #include "tapegrad/nn/layers/all.h"
/// nn::Sequential model({nn::Flatten({28, 28}), nn::Dense(300, "relu"), nn::Dense(10, "softmax")});
/// @endcode
#pragma once
#include "tapegrad/nn/layers/activation.h"
#include "tapegrad/nn/layers/dense.h"
#include "tapegrad/nn/layers/flatten.h"
#include "tapegrad/nn/layers/input_layer.h"
