// Every layer of the library, for code that builds models:
//
//   #include "nn/layers/all.h"
//   nn::Sequential model({nn::Flatten({28, 28}), nn::Dense(300, "relu"), nn::Dense(10, "softmax")});
#pragma once
#include "nn/layers/activation.h"
#include "nn/layers/dense.h"
#include "nn/layers/flatten.h"
#include "nn/layers/input_layer.h"
