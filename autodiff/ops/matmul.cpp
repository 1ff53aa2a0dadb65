// matmul: op(a) · op(b), [m,k] x [k,n] -> [m,n], op transposing an operand when MatmulAttrs
// asks, through kernels::matmul (a cached oneDNN primitive, or plain loops for products too
// small to pay for a oneDNN call). The transposes are memory layouts, not copies.
// Backward, with C = op(A) op(B): d op(A) = dC op(B)ᵀ and d op(B) = op(A)ᵀ dC, and where an
// operand is stored transposed its gradient is the transpose of that (Xᵀ's gradient, transposed):
//   plain:        dA = dC Bᵀ            dB = Aᵀ dC
//   trans_b:      C = A Bᵀ,   dA = dC B            dB = (Aᵀ dC)ᵀ = dCᵀ A
//   trans_a:      C = Aᵀ B,   dA = (dC Bᵀ)ᵀ = B dCᵀ  dB = A dC
//   both:         C = Aᵀ Bᵀ,  dA = (dC B)ᵀ = Bᵀ dCᵀ  dB = (A dC)ᵀ = dCᵀ Aᵀ
// each a matmul with the transposes as attributes.
#include <string>

#include "tapegrad/autodiff/kernels/matmul.h"
#include "tapegrad/autodiff/op_defs.h"
#include "tapegrad/autodiff/ops.h"

namespace ad {

namespace {

const MatmulAttrs& matmul_attrs(const Attrs& attrs) { return attrs_as<MatmulAttrs>(attrs, "matmul"); }

// An operand's shape in messages, marked ᵀ when it is read transposed.
std::string operand(const Shape& shape, bool transposed) { return to_string(shape) + (transposed ? "ᵀ" : ""); }

// The product's dimensions: op(a) [m,k], op(b) [k,n].
kernels::MatmulSpec spec_of(const Shape& a, const Shape& b, const MatmulAttrs& t) {
  return {.m = t.trans_a ? a[1] : a[0],
          .k = t.trans_a ? a[0] : a[1],
          .n = t.trans_b ? b[0] : b[1],
          .trans_a = t.trans_a,
          .trans_b = t.trans_b};
}

Var product(const Var& a, const Var& b, bool trans_a, bool trans_b) {
  return apply(defs::matmul, {a, b}, MatmulAttrs{.trans_a = trans_a, .trans_b = trans_b});
}

}  // namespace

namespace defs {

const OpDef matmul{
    .name = "matmul",
    .num_inputs = 2,
    .infer =
        [](ShapeArgs s) {
          const Shape &a = *s.inputs[0], &b = *s.inputs[1];
          const MatmulAttrs& t = matmul_attrs(s.attrs);
          TG_CHECK(a.size() == 2 && b.size() == 2, "matmul: needs two 2-D operands, got {} x {}",
                   operand(a, t.trans_a), operand(b, t.trans_b));
          kernels::MatmulSpec spec = spec_of(a, b, t);
          TG_CHECK((t.trans_b ? b[1] : b[0]) == spec.k, "matmul: inner dimensions differ: {} x {}",
                   operand(a, t.trans_a), operand(b, t.trans_b));
          return Shape{spec.m, spec.n};
        },
    .forward =
        [](const KernelArgs& k) {
          kernels::matmul(spec_of(*k.in[0].shape, *k.in[1].shape, matmul_attrs(k.attrs)), k.in[0].data,
                          k.in[1].data, k.out[0].data);
        },
    // See the file's description for the four cases.
    .backward = [](const BackwardArgs& b) -> Gradients {
      const Var &A = b.inputs[0], &B = b.inputs[1], &dC = b.grad;
      const MatmulAttrs& t = matmul_attrs(b.attrs);
      Var dA, dB;
      if (b.needs[0]) dA = t.trans_a ? product(B, dC, t.trans_b, true) : product(dC, B, false, !t.trans_b);
      if (b.needs[1]) dB = t.trans_b ? product(dC, A, true, t.trans_a) : product(A, dC, !t.trans_a, false);
      return {dA, dB};
    }};

}  // namespace defs

Var matmul(const Var& a, const Var& b) { return apply(defs::matmul, {a, b}, MatmulAttrs{}); }

}  // namespace ad
