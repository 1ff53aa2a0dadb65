// matmul: [m,k] x [k,n] -> [m,n] through kernels::matmul (a cached oneDNN primitive, or plain loops
// for products too small to pay for a oneDNN call).
// Backward: dA = dC · Bᵀ and dB = Aᵀ · dC, the transposes being memory layouts, not copies.
#include <utility>

#include "tapegrad/autodiff/kernels/matmul.h"
#include "tapegrad/autodiff/ops.h"

namespace ad {

Var matmul(const Var& a, const Var& b) {
  TG_CHECK(a.value().rank() == 2 && b.value().rank() == 2, "matmul: needs two 2-D operands, got {} x {}",
           to_string(a.shape()), to_string(b.shape()));
  int64_t m = a.shape()[0], k = a.shape()[1], n = b.shape()[1];
  TG_CHECK(b.shape()[0] == k, "matmul: inner dimensions differ: {} x {}", to_string(a.shape()), to_string(b.shape()));
  Tensor out = Tensor::empty({m, n});
  kernels::matmul({.m = m, .k = k, .n = n}, a.value().data(), b.value().data(), out.data());
  Node node;
  node.op = Op::Matmul;
  node.backward = [](const Node& nd) {
    const Tensor &A = nd.inputs[0]->value, &B = nd.inputs[1]->value, &dC = nd.output->grad;
    int64_t m = A.shape()[0], k = A.shape()[1], n = B.shape()[1];
    if (needs_grad(nd, 0)) {
      Tensor dA = Tensor::empty({m, k});
      kernels::matmul({.m = m, .k = n, .n = k, .trans_b = true}, dC.data(), B.data(), dA.data());
      accumulate_grad(nd, 0, std::move(dA));
    }
    if (needs_grad(nd, 1)) {
      Tensor dB = Tensor::empty({k, n});
      kernels::matmul({.m = k, .k = m, .n = n, .trans_a = true}, A.data(), dC.data(), dB.data());
      accumulate_grad(nd, 1, std::move(dB));
    }
  };
  return make_result(std::move(out), std::move(node), {&a, &b});
}

}  // namespace ad
