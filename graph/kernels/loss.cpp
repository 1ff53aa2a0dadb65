#include "tapegrad/graph/kernels/loss.h"

#include "tapegrad/graph/kernels/common.h"

namespace graph::kernels {

namespace {

constexpr float kEpsilon = 1e-7f;  // the losses' probability clip, as eager does

float clip_probability(float p) { return p < kEpsilon ? kEpsilon : (p > 1 - kEpsilon ? 1 - kEpsilon : p); }

}  // namespace

float loss_value(const Node& n, const Shape& shape, const float* p, const float* t) {
  int64_t size = ad::element_count(shape);
  Rows r = rows_of(shape);
  double total = 0;
  switch (n.kind) {
    case Kind::MseLoss:
      for (int64_t i = 0; i < size; ++i) total += static_cast<double>((p[i] - t[i]) * (p[i] - t[i]));
      return static_cast<float>(total / static_cast<double>(size));
    case Kind::BinaryCrossentropy:
      for (int64_t i = 0; i < size; ++i) {
        if (n.from_logits) {
          float x = p[i];
          total += std::fmax(x, 0.f) - x * t[i] + std::log1p(std::exp(-std::fabs(x)));
        } else {
          float q = clip_probability(p[i]);
          total -= t[i] * std::log(q) + (1 - t[i]) * std::log(1 - q);
        }
      }
      return static_cast<float>(total / static_cast<double>(size));
    case Kind::CategoricalCrossentropy:
      for (int64_t i = 0; i < r.rows; ++i) {
        const float *z = p + i * r.width, *y = t + i * r.width;
        LogSumExp lse = n.from_logits ? log_sum_exp(z, r.width) : LogSumExp{};
        for (int64_t j = 0; j < r.width; ++j)
          total -= y[j] * (n.from_logits ? log_probability(z[j], lse) : std::log(clip_probability(z[j])));
      }
      return static_cast<float>(total / static_cast<double>(r.rows));
    case Kind::SparseCategoricalCrossentropy:
      for (int64_t i = 0; i < r.rows; ++i) {
        const float* z = p + i * r.width;
        int64_t l = label_at(t, i, r.width, "sparse_categorical_crossentropy");
        total -= n.from_logits ? log_probability(z[l], log_sum_exp(z, r.width)) : std::log(clip_probability(z[l]));
      }
      return static_cast<float>(total / static_cast<double>(r.rows));
    default: ad::fail("loss_value: {} is not a loss", kind_name(n.kind));
  }
}

void loss_grad(const Node& n, const Shape& shape, const float* p, const float* t, float g, float* d) {
  int64_t size = ad::element_count(shape);
  Rows r = rows_of(shape);
  switch (n.loss) {
    case Kind::MseLoss: {
      float s = g / static_cast<float>(size);
      each(size, [&](int64_t i) { d[i] = s * 2 * (p[i] - t[i]); });
      return;
    }
    case Kind::BinaryCrossentropy: {
      float s = g / static_cast<float>(size);
      for (int64_t i = 0; i < size; ++i) {
        if (n.from_logits) {
          d[i] = s * (logistic(p[i]) - t[i]);
        } else {
          d[i] = (p[i] < kEpsilon || p[i] > 1 - kEpsilon) ? 0.f : s * (p[i] - t[i]) / (p[i] * (1 - p[i]));
        }
      }
      return;
    }
    case Kind::CategoricalCrossentropy: {
      float s = g / static_cast<float>(r.rows);
      for (int64_t i = 0; i < r.rows; ++i) {
        const float *z = p + i * r.width, *y = t + i * r.width;
        float* o = d + i * r.width;
        if (n.from_logits) {
          LogSumExp lse = log_sum_exp(z, r.width);
          float ts = 0;
          for (int64_t j = 0; j < r.width; ++j) ts += y[j];
          for (int64_t j = 0; j < r.width; ++j) o[j] = s * (std::exp(log_probability(z[j], lse)) * ts - y[j]);
        } else {
          for (int64_t j = 0; j < r.width; ++j)
            o[j] = (z[j] < kEpsilon || z[j] > 1 - kEpsilon) ? 0.f : -s * y[j] / z[j];
        }
      }
      return;
    }
    case Kind::SparseCategoricalCrossentropy: {
      float s = g / static_cast<float>(r.rows);
      for (int64_t i = 0; i < r.rows; ++i) {
        const float* z = p + i * r.width;
        float* o = d + i * r.width;
        int64_t l = label_at(t, i, r.width, "sparse_categorical_crossentropy");
        if (n.from_logits) {
          LogSumExp lse = log_sum_exp(z, r.width);
          for (int64_t j = 0; j < r.width; ++j) o[j] = s * std::exp(log_probability(z[j], lse));
          o[l] -= s;
        } else {
          for (int64_t j = 0; j < r.width; ++j) o[j] = 0.f;
          float q = z[l];
          o[l] = (q < kEpsilon || q > 1 - kEpsilon) ? 0.f : -s / q;
        }
      }
      return;
    }
    default: ad::fail("loss_grad: {} is not a loss", kind_name(n.loss));
  }
}

}  // namespace graph::kernels
