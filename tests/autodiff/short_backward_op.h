// A user's op whose backward rule answers for too few inputs: x * y, with a gradient for x
// only. The eager tape and the graph's differentiation must both refuse it by name.
#pragma once
#include "tapegrad/autodiff/op.h"
#include "tapegrad/autodiff/ops.h"

namespace test {

inline const ad::OpDef short_backward_op{
    .name = "short_backward",
    .num_inputs = 2,
    .infer = [](ad::ShapeArgs s) { return *s.inputs[0]; },
    .forward =
        [](const ad::KernelArgs& k) {
          for (int64_t i = 0; i < k.out[0].size; ++i) k.out[0].data[i] = k.in[0].data[i] * k.in[1].data[i];
        },
    .backward = [](const ad::BackwardArgs& b) -> ad::Gradients { return {b.grad * b.inputs[1]}; }};

}  // namespace test
