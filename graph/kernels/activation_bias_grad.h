/// @file
/// The fused dense layer's backward outside its GEMMs: the activation's derivative from the
/// saved output and the bias gradient (or the bias update, when fold_sgd folded SGD in).
#pragma once
#include "tapegrad/autodiff/kernels/matmul.h"
#include "tapegrad/graph/graph.h"

namespace graph::kernels {

/// y: the layer's output; dy: the gradient arriving at it. dz = dy * f'(y) (may be dy's own
/// memory), and db = the column sums of dz, or bias += update_scale * those sums when
/// update_scale is not 0 (db then points at the bias). db may be null: no bias.
void activation_bias_grad(ad::kernels::Activation activation, const Shape& shape, const float* y, const float* dy, float* dz, float* db,
                          float update_scale);

}  // namespace graph::kernels
