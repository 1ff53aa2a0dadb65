/// @file
/// Softmax followed by cross-entropy, fused (fuse_softmax_crossentropy.cpp): the loss from the
/// logits by log-sum-exp, the probabilities for the metrics, and the gradient softmax - onehot.
#pragma once
#include "tapegrad/graph/graph.h"

namespace graph::kernels {

/// Logits z, targets t (labels when `sparse`): the mean loss into *loss, the
/// probabilities into probs.
void softmax_crossentropy(bool sparse, const Shape& shape, const float* z, const float* t, float* loss,
                          float* probs);
/// The logits' gradient for an incoming gradient g, from the probabilities.
void softmax_crossentropy_grad(bool sparse, const Shape& shape, const float* probs, const float* t, float g,
                               float* d);

}  // namespace graph::kernels
