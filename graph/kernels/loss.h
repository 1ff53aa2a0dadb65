/// @file
/// The unfused losses' values and gradients, computed as the eager ops compute them
/// (autodiff/ops/losses.cpp), probability clip included, so that both steps agree.
#pragma once
#include "tapegrad/graph/graph.h"

namespace graph::kernels {

/// The mean loss of predictions p against targets t (labels for the sparse cross-entropy).
float loss_value(const Node& n, const Shape& shape, const float* p, const float* t);
/// Its gradient with respect to p, times the incoming gradient g, into d.
void loss_grad(const Node& n, const Shape& shape, const float* p, const float* t, float g, float* d);

}  // namespace graph::kernels
