/// @file
/// Row-wise log-softmax, max-shifted for stability: the kernel behind softmax, log_softmax and
/// the cross-entropy losses.
#pragma once
#include "tapegrad/autodiff/tensor.h"

namespace ad::kernels {

/// log_softmax along the last axis of `logits` (rank >= 1).
Tensor log_softmax(const Tensor& logits);
/// softmax along the last axis.
Tensor softmax(const Tensor& logits);

}  // namespace ad::kernels
