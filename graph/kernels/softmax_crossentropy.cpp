#include "tapegrad/graph/kernels/softmax_crossentropy.h"

#include <algorithm>

#include "tapegrad/graph/kernels/common.h"

namespace graph::kernels {

namespace {

// e^x for x <= 0, as a loop body the compiler vectorises (no calls, no branches): x = k ln2 + r
// with |r| <= ln2/2, e^r by its Taylor series to r^7 (relative error below 1e-7), 2^k put
// straight into the exponent bits. Below -87 the result is 0, as float e^x underflows there.
float exp_nonpositive(float x) {
  constexpr float kLog2e = 1.44269504f, kLn2Hi = 0.693145752f, kLn2Lo = 1.42860677e-6f;
  constexpr float kRound = 12582912.f;  // 1.5 * 2^23: adding it rounds to an integer in the low bits
  constexpr float kLowest = -87.f;
  // Selects as bit masks, as in relu_mask: float selects keep branches. A NaN keeps its
  // lanes and comes out NaN.
  uint32_t keep = 0u - static_cast<uint32_t>(!(x < kLowest));
  float c = std::bit_cast<float>((std::bit_cast<uint32_t>(x) & keep) | (std::bit_cast<uint32_t>(kLowest) & ~keep));
  float t = c * kLog2e + kRound;
  float k = t - kRound;
  float r = c - k * kLn2Hi - k * kLn2Lo;
  float p = 1.f / 5040;
  p = p * r + 1.f / 720;
  p = p * r + 1.f / 120;
  p = p * r + 1.f / 24;
  p = p * r + 1.f / 6;
  p = p * r + 0.5f;
  p = p * r + 1.f;
  p = p * r + 1.f;
  uint32_t bits = (std::bit_cast<uint32_t>(t) - std::bit_cast<uint32_t>(kRound) + 127u) << 23;
  return std::bit_cast<float>(std::bit_cast<uint32_t>(p * std::bit_cast<float>(bits)) & keep);
}

// The exponential is arithmetic-bound, so it also gets a 16-wide build (2.5x faster than the
// 8-wide one on a Zen 4 core); the memory-bound loops of activation_bias_grad.cpp are not.
__attribute__((target_clones("avx512f", "avx2", "default"))) void exp_nonpositive_in_place(int64_t n,
                                                                                          float* __restrict x) {
  for (int64_t i = 0; i < n; ++i) x[i] = exp_nonpositive(x[i]);
}

// As fmax over the row (NaNs are passed over), without a call per element.
float row_max(const float* z, int64_t width) {
  float m = -INFINITY;
  for (int64_t j = 0; j < width; ++j) m = z[j] > m ? z[j] : m;
  return m;
}

// The largest of n values (NaNs are passed over), in eight independent lanes so that the
// compiler vectorises it.
float flat_max(const float* z, int64_t n) {
  constexpr int kLanes = 8;
  float lane[kLanes];
  for (float& m : lane) m = -INFINITY;
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int k = 0; k < kLanes; ++k) lane[k] = z[i + k] > lane[k] ? z[i + k] : lane[k];
  for (; i < n; ++i) lane[0] = z[i] > lane[0] ? z[i] : lane[0];
  float m = lane[0];
  for (int k = 1; k < kLanes; ++k) m = lane[k] > m ? lane[k] : m;
  return m;
}

TG_VECTOR_CLONES void scale_into(int64_t n, float s, const float* __restrict x, float* __restrict out) {
  for (int64_t i = 0; i < n; ++i) out[i] = s * x[i];
}

}  // namespace

// The fused forward: probabilities and the loss from logits, a chunk of rows at a time (so the
// chunk stays in L1 between passes). Softmax is the same for any shift of a row; the chunk's
// max c serves every row whose own max is within about 40 of it (their exponential sums s
// stay above 1e-17, far from underflow), so the shift, the exponentials and the max are each
// one flat vectorised pass. A row farther below (or with a NaN) is redone with its own max.
// The loss needs each row's log-sum-exp shift + log(s); the logs are summed as the log of the
// product of the sums, taken whenever that product leaves [1e-250, 1e250]: each s lies in
// [1e-17, width], and one log serves many rows. (Dense targets weight each row's log by the
// row's target sum, so they take it row by row.)
void softmax_crossentropy(bool sparse, const Shape& shape, const float* z, const float* t, float* loss,
                          float* probs) {
  Rows r = rows_of(shape);
  constexpr int64_t kChunk = 64;            // rows
  constexpr float kSmallestSum = 1e-17f;    // e^-39: smaller sums are redone with the row's max
  constexpr double kProductBound = 1e250;   // within double's range times any width or 1e-17
  double total = 0, product = 1;
  for (int64_t begin = 0; begin < r.rows; begin += kChunk) {
    int64_t end = std::min(r.rows, begin + kChunk), count = (end - begin) * r.width;
    const float* zc = z + begin * r.width;
    float* pc = probs + begin * r.width;
    float c = flat_max(zc, count);
    for (int64_t k = 0; k < count; ++k) pc[k] = zc[k] - c;
    exp_nonpositive_in_place(count, pc);
    for (int64_t i = begin; i < end; ++i) {
      const float* zi = z + i * r.width;
      float* pi = probs + i * r.width;
      float s = 0, shift = c;
      for (int64_t j = 0; j < r.width; ++j) s += pi[j];
      if (!(s >= kSmallestSum)) {
        shift = row_max(zi, r.width);
        for (int64_t j = 0; j < r.width; ++j) pi[j] = zi[j] - shift;
        exp_nonpositive_in_place(r.width, pi);
        s = 0;
        for (int64_t j = 0; j < r.width; ++j) s += pi[j];
      }
      float inverse = 1 / s;
      for (int64_t j = 0; j < r.width; ++j) pi[j] *= inverse;
      if (sparse) {
        total += shift - zi[label_at(t, i, r.width, "sparse_categorical_crossentropy")];
        product *= static_cast<double>(s);
        if (!(product <= kProductBound && product >= 1 / kProductBound)) {  // NaN too: into the total now
          total += std::log(product);
          product = 1;
        }
      } else {
        // -sum_j y_j (z_j - lse) = sum(y) lse - sum_j y_j z_j
        const float* yi = t + i * r.width;
        double weight = 0, dot = 0;
        for (int64_t j = 0; j < r.width; ++j) {
          weight += yi[j];
          dot += static_cast<double>(yi[j]) * zi[j];
        }
        total += weight * (shift + std::log(static_cast<double>(s))) - dot;
      }
    }
  }
  total += std::log(product);
  *loss = static_cast<float>(total / static_cast<double>(r.rows));
}


// Its backward: (softmax * sum(target) - target) * g / rows; sum(target) is 1 for one-hot rows.
void softmax_crossentropy_grad(bool sparse, const Shape& shape, const float* probs, const float* t, float g,
                               float* d) {
  Rows r = rows_of(shape);
  float s = g / static_cast<float>(r.rows);
  if (sparse) {
    // One flat vectorised pass, then one subtraction per row: narrow rows make short loops.
    scale_into(r.rows * r.width, s, probs, d);
    for (int64_t i = 0; i < r.rows; ++i)
      d[i * r.width + label_at(t, i, r.width, "sparse_categorical_crossentropy")] -= s;
    return;
  }
  for (int64_t i = 0; i < r.rows; ++i) {
    const float *pi = probs + i * r.width, *yi = t + i * r.width;
    float* o = d + i * r.width;
    float ts = 0;
    for (int64_t j = 0; j < r.width; ++j) ts += yi[j];
    for (int64_t j = 0; j < r.width; ++j) o[j] = s * (pi[j] * ts - yi[j]);
  }
}

}  // namespace graph::kernels
