// The graph's own ops: their shape rules and kernels (the fused ones in graph/kernels/), and
// the in-place optimizer updates with Keras' formulas.
#include "tapegrad/graph/fused_ops.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "tapegrad/autodiff/kernels/updates.h"
#include "tapegrad/autodiff/op_defs.h"
#include "tapegrad/autodiff/threading.h"
#include "tapegrad/graph/kernels/activation_bias_grad.h"
#include "tapegrad/graph/kernels/softmax_crossentropy.h"

namespace graph {

using ad::kernels::Activation;
using ad::KernelArgs;
using ad::OpDef;
using ad::ShapeArgs;

std::vector<std::string> UpdateRule::slot_names() const {
  if (kind == UpdateKind::SGD && momentum != 0.f) return {"momentum"};
  if (kind == UpdateKind::Adam) return {"m", "v"};
  if (kind == UpdateKind::RMSprop) return momentum != 0.f ? std::vector<std::string>{"velocity", "momentum"}
                                                          : std::vector<std::string>{"velocity"};
  return {};
}

std::optional<ad::kernels::MatmulSpec> gemm_spec(const OpDef& op, const ad::Attrs& attrs, const Shape& a,
                                                 const Shape& c) {
  ad::kernels::MatmulSpec spec;
  if (&op == &ad::defs::matmul) {
    const auto& m = ad::attrs_as<ad::MatmulAttrs>(attrs, op.name);
    spec.trans_a = m.trans_a;
    spec.trans_b = m.trans_b;
  } else if (&op == &ops::fused_dense) {
    spec.bias = true;
    spec.activation = ad::attrs_as<FusedDenseAttrs>(attrs, op.name).activation;
  } else if (&op == &ops::matmul_sgd_update) {
    const auto& m = ad::attrs_as<MatmulUpdateAttrs>(attrs, op.name);
    spec.trans_a = m.trans_a;
    spec.trans_b = m.trans_b;
    spec.accumulate = true;
    spec.scale = -1.f;  // times the learning rate at run time
  } else if (&op == &ops::matmul_momentum_update) {
    const auto& m = ad::attrs_as<MatmulMomentumAttrs>(attrs, op.name);
    spec.trans_a = m.trans_a;
    spec.trans_b = m.trans_b;
    spec.accumulate = true;
    spec.scale = -1.f;  // times the learning rate at run time
    spec.sum_scale = m.momentum;
  } else {
    return std::nullopt;
  }
  TG_CHECK(a.size() == 2 && c.size() == 2, "{}: needs 2-D operands, got {} -> {}", op.name, ad::to_string(a),
           ad::to_string(c));
  spec.m = c[0];
  spec.k = spec.trans_a ? a[0] : a[1];
  spec.n = c[1];
  return spec;
}

const char* activation_name(Activation a) {
  static constexpr const char* names[] = {"none", "relu", "sigmoid", "tanh", "softplus"};
  return names[static_cast<size_t>(a)];
}

namespace {

std::string transposes(bool a, bool b) { return fmt::format("{}{}", a ? " trans_a" : "", b ? " trans_b" : ""); }

const UpdateRule& rule_of(const ad::Attrs& attrs, const char* op) { return ad::attrs_as<UpdateRule>(attrs, op); }

// The kernel of an update GEMM (matmul_sgd_update, matmul_momentum_update) outside the
// executor's oneDNN plans: its spec with the run's learning rate, on the small-matmul loops.
void update_gemm(const OpDef& op, const KernelArgs& k) {
  auto spec = *gemm_spec(op, k.attrs, *k.in[0].shape, *k.out[0].shape);
  spec.scale *= k.context.learning_rate;
  ad::kernels::matmul_loops(spec, k.in[0].data, k.in[1].data, k.out[0].data);
}

// An update's output shapes: its parameter's and its slots' (the inputs but the gradient).
std::vector<Shape> update_shapes(ShapeArgs s) {
  std::vector<Shape> out{*s.inputs[0]};
  for (size_t i = 2; i < s.inputs.size(); ++i) out.push_back(*s.inputs[i]);
  for (const Shape* shape : s.inputs)
    TG_CHECK(*shape == *s.inputs[0], "update: parameter {} and gradient or slot {} differ", ad::to_string(*s.inputs[0]),
             ad::to_string(*shape));
  return out;
}

}  // namespace

namespace ops {

const OpDef fused_dense{
    .name = "fused_dense",
    .num_inputs = 3,
    .infer =
        [](ShapeArgs s) {
          const Shape &x = *s.inputs[0], &w = *s.inputs[1], &b = *s.inputs[2];
          TG_CHECK(x.size() == 2 && w.size() == 2 && x[1] == w[0] && b == Shape{w[1]},
                   "fused_dense: needs x [n,k], W [k,u] and b [u], got {}, {} and {}", ad::to_string(x), ad::to_string(w),
                   ad::to_string(b));
          return Shape{x[0], w[1]};
        },
    .forward =
        [](const KernelArgs& k) {
          auto spec = *gemm_spec(fused_dense, k.attrs, *k.in[0].shape, *k.out[0].shape);
          ad::kernels::matmul(spec, k.in[0].data, k.in[1].data, k.out[0].data, k.in[2].data);
        },
    .describe = [](const ad::Attrs& a) {
      return fmt::format(" activation={}", activation_name(ad::attrs_as<FusedDenseAttrs>(a, "fused_dense").activation));
    }};

const OpDef matmul_sgd_update{
    .name = "matmul_sgd_update",
    .num_inputs = 2,  // a and b; the output is the parameter
    .forward = [](const KernelArgs& k) { update_gemm(matmul_sgd_update, k); },
    .in_place = true,
    .describe = [](const ad::Attrs& a) {
      const auto& m = ad::attrs_as<MatmulUpdateAttrs>(a, "matmul_sgd_update");
      return transposes(m.trans_a, m.trans_b) + " scale=-lr accumulate";
    }};

const OpDef matmul_momentum_update{
    .name = "matmul_momentum_update",
    .num_inputs = 2,  // a and b; the output is the velocity slot
    .forward = [](const KernelArgs& k) { update_gemm(matmul_momentum_update, k); },
    .in_place = true,
    .describe = [](const ad::Attrs& a) {
      const auto& m = ad::attrs_as<MatmulMomentumAttrs>(a, "matmul_momentum_update");
      return transposes(m.trans_a, m.trans_b) + fmt::format(" scale=-lr accumulate×{}", m.momentum);
    }};

const OpDef apply_velocity{
    .name = "apply_velocity",
    .num_inputs = 2,
    // W - (-1)·V is W + V exactly: the SGD kernel, vectorised and split over the cores.
    .forward = [](const KernelArgs& k) { ad::kernels::sgd_update(k.out[0].data, k.in[1].data, k.out[0].size, -1.f); },
    .infer_many = update_shapes,
    .in_place = true};

const OpDef activation_bias_grad{
    .name = "activation_bias_grad",
    .num_inputs = -1,
    .forward =
        [](const KernelArgs& k) {
          const auto& a = ad::attrs_as<ActivationBiasGradAttrs>(k.attrs, "activation_bias_grad");
          float scale = a.update_bias ? -k.context.learning_rate : 0.f;
          // A folded update at learning rate 0 leaves the bias as it is: the kernel would take
          // scale 0 for "no update folded in" and write the gradient over the bias.
          bool frozen = a.update_bias && scale == 0.f;
          if (a.activation == Activation::None) {  // (dy) -> (db), dz being dy itself
            kernels::activation_bias_grad(a.activation, *k.in[0].shape, nullptr, k.in[0].data, k.in[0].data,
                                          frozen ? nullptr : k.out[0].data, scale);
          } else {  // (y, dy) -> (dz, db)
            kernels::activation_bias_grad(a.activation, *k.in[0].shape, k.in[0].data, k.in[1].data, k.out[0].data,
                                          k.out.size() > 1 && !frozen ? k.out[1].data : nullptr, scale);
          }
        },
    .infer_many =
        [](ShapeArgs s) {
          const auto& a = ad::attrs_as<ActivationBiasGradAttrs>(s.attrs, "activation_bias_grad");
          const Shape& dy = *s.inputs.back();
          Shape bias{dy.back()};
          if (a.activation == Activation::None) return std::vector<Shape>{bias};
          return std::vector<Shape>{dy, bias};
        },
    .describe = [](const ad::Attrs& a) {
      const auto& g = ad::attrs_as<ActivationBiasGradAttrs>(a, "activation_bias_grad");
      return fmt::format(" activation={}{}", activation_name(g.activation), g.update_bias ? " bias_update=-lr" : "");
    }};

const OpDef softmax_crossentropy{
    .name = "softmax_crossentropy",
    .num_inputs = 2,
    .forward =
        [](const KernelArgs& k) {
          bool sparse = ad::attrs_as<SoftmaxCrossentropyAttrs>(k.attrs, "softmax_crossentropy").sparse;
          kernels::softmax_crossentropy(sparse, *k.in[0].shape, k.in[0].data, k.in[1].data, k.out[0].data, k.out[1].data);
        },
    .infer_many = [](ShapeArgs s) { return std::vector<Shape>{Shape{}, *s.inputs[0]}; },
    .data_inputs = 0b10,
    .is_loss = true,
    .describe = [](const ad::Attrs& a) {
      return std::string(ad::attrs_as<SoftmaxCrossentropyAttrs>(a, "softmax_crossentropy").sparse ? " sparse" : "");
    }};

const OpDef softmax_crossentropy_grad{
    .name = "softmax_crossentropy_grad",
    .num_inputs = 3,
    .infer =
        [](ShapeArgs s) {
          const Shape &p = *s.inputs[0], &t = *s.inputs[1];
          bool sparse = ad::attrs_as<SoftmaxCrossentropyAttrs>(s.attrs, "softmax_crossentropy_grad").sparse;
          bool fits = p.size() == 2 && (sparse ? ad::element_count(t) == p[0] : t == p);
          TG_CHECK(fits && ad::element_count(*s.inputs[2]) == 1,
                   "softmax_crossentropy_grad: probabilities {}, {} {} and loss gradient {} do not fit", ad::to_string(p),
                   sparse ? "labels" : "target", ad::to_string(t), ad::to_string(*s.inputs[2]));
          return p;
        },
    .forward =
        [](const KernelArgs& k) {
          bool sparse = ad::attrs_as<SoftmaxCrossentropyAttrs>(k.attrs, "softmax_crossentropy_grad").sparse;
          kernels::softmax_crossentropy_grad(sparse, *k.in[0].shape, k.in[0].data, k.in[1].data, k.in[2].data[0],
                                             k.out[0].data);
        },
    .data_inputs = 0b110,
    .describe = softmax_crossentropy.describe};

const OpDef stop_gradient{
    .name = "stop_gradient",
    .infer = [](ShapeArgs s) { return *s.inputs[0]; },
    .forward = [](const KernelArgs& k) { std::copy_n(k.in[0].data, k.in[0].size, k.out[0].data); }};

// The optimizers' kernels, shared with the eager optimizers (autodiff/kernels/updates.h).
const OpDef sgd_update{
    .name = "sgd_update",
    .num_inputs = 2,
    .forward = [](const KernelArgs& k) { ad::kernels::sgd_update(k.out[0].data, k.in[1].data, k.out[0].size, k.context.learning_rate); },
    .infer_many = update_shapes,
    .in_place = true};

const OpDef momentum_update{
    .name = "momentum_update",
    .num_inputs = 3,
    .forward =
        [](const KernelArgs& k) {
          const UpdateRule& rule = rule_of(k.attrs, "momentum_update");
          ad::kernels::momentum_update(
              k.out[0].data, k.in[1].data, k.out[1].data, k.out[0].size,
              {.learning_rate = k.context.learning_rate, .momentum = rule.momentum, .nesterov = rule.nesterov});
        },
    .infer_many = update_shapes,
    .in_place = true,
    .describe = [](const ad::Attrs& a) {
      const UpdateRule& r = rule_of(a, "momentum_update");
      return fmt::format(" momentum={}{}", r.momentum, r.nesterov ? " nesterov" : "");
    }};

const OpDef adam_update{
    .name = "adam_update",
    .num_inputs = 4,
    .forward =
        [](const KernelArgs& k) {
          const UpdateRule& rule = rule_of(k.attrs, "adam_update");
          auto adam = ad::kernels::AdamCoefficients::at_step(
              {.learning_rate = k.context.learning_rate, .beta_1 = rule.beta_1, .beta_2 = rule.beta_2, .epsilon = rule.epsilon},
              k.context.iteration);
          ad::kernels::adam_update(k.out[0].data, k.in[1].data, k.out[1].data, k.out[2].data, k.out[0].size, adam);
        },
    .infer_many = update_shapes,
    .in_place = true};

const OpDef rmsprop_update{
    .name = "rmsprop_update",
    .num_inputs = -1,  // parameter, gradient, velocity, and the momentum slot when momentum is on
    .forward =
        [](const KernelArgs& k) {
          const UpdateRule& rule = rule_of(k.attrs, "rmsprop_update");
          ad::kernels::rmsprop_update(
              k.out[0].data, k.in[1].data, k.out[1].data, k.out.size() > 2 ? k.out[2].data : nullptr, k.out[0].size,
              ad::kernels::RMSpropCoefficients::of(
                  {.learning_rate = k.context.learning_rate, .rho = rule.rho, .momentum = rule.momentum, .epsilon = rule.epsilon}));
        },
    .infer_many = update_shapes,
    .in_place = true,
    .describe = [](const ad::Attrs& a) {
      const UpdateRule& r = rule_of(a, "rmsprop_update");
      return fmt::format(" rho={} momentum={}", r.rho, r.momentum);
    }};

const OpDef* update_op(const UpdateRule& rule) {
  switch (rule.kind) {
    case UpdateKind::None: return nullptr;
    case UpdateKind::SGD: return rule.momentum != 0.f ? &momentum_update : &sgd_update;
    case UpdateKind::Adam: return &adam_update;
    case UpdateKind::RMSprop: return &rmsprop_update;
  }
  return nullptr;
}

}  // namespace ops

std::span<const OpDef* const> fused_ops() {
  static const OpDef* const all[] = {&ops::stop_gradient,          &ops::fused_dense,
                                     &ops::matmul_sgd_update,      &ops::matmul_momentum_update,
                                     &ops::apply_velocity,         &ops::activation_bias_grad,
                                     &ops::softmax_crossentropy,   &ops::softmax_crossentropy_grad,
                                     &ops::sgd_update,             &ops::momentum_update,
                                     &ops::adam_update,            &ops::rmsprop_update};
  return all;
}

}  // namespace graph
