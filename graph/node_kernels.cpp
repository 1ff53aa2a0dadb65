// Loops for the non-GEMM nodes. Where a node mirrors an eager op, it computes the same formula
// (ops/*.cpp), so that compiled and eager steps agree to float rounding; the fused nodes use
// the stable forms the passes promise (log-sum-exp, softmax - onehot).
#include "graph/node_kernels.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "autodiff/threading.h"

namespace graph {

namespace {

using ad::kernels::Activation;

constexpr float kEpsilon = 1e-7f;  // the losses' probability clip, as eager does

float clip_probability(float p) { return p < kEpsilon ? kEpsilon : (p > 1 - kEpsilon ? 1 - kEpsilon : p); }
float logistic(float x) { return x >= 0 ? 1 / (1 + std::exp(-x)) : std::exp(x) / (1 + std::exp(x)); }

struct Rows {
  int64_t rows, width;
};
Rows rows_of(const Shape& s) {
  int64_t size = ad::element_count(s);
  int64_t rows = s.empty() ? 1 : s[0];
  return {rows, rows ? size / rows : 0};
}

template <typename F>
void each(int64_t n, F f) {
  ad::parallel_range(n, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) f(i);
  });
}

int64_t label_at(const float* labels, int64_t row, int64_t classes, const char* who) {
  float l = labels[row];
  // In range first, so that the cast is defined; the round trip then tells a whole number
  // without a call to floor per row.
  bool whole = l >= 0 && l < static_cast<float>(classes) && static_cast<float>(static_cast<int64_t>(l)) == l;
  if (!whole) ad::fail("{}: label {} in row {} is outside [0, {})", who, l, row, classes);
  return static_cast<int64_t>(l);
}

// Per row: the max-shifted log of the sum of exponentials.
float log_sum_exp(const float* z, int64_t width) {
  float m = -INFINITY;
  for (int64_t j = 0; j < width; ++j) m = std::fmax(m, z[j]);
  float s = 0;
  for (int64_t j = 0; j < width; ++j) s += std::exp(z[j] - m);
  return m + std::log(s);
}

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
        float lse = n.from_logits ? log_sum_exp(z, r.width) : 0.f;
        for (int64_t j = 0; j < r.width; ++j) total -= y[j] * (n.from_logits ? z[j] - lse : std::log(clip_probability(z[j])));
      }
      return static_cast<float>(total / static_cast<double>(r.rows));
    case Kind::SparseCategoricalCrossentropy:
      for (int64_t i = 0; i < r.rows; ++i) {
        const float* z = p + i * r.width;
        int64_t l = label_at(t, i, r.width, "sparse_categorical_crossentropy");
        total -= n.from_logits ? z[l] - log_sum_exp(z, r.width) : std::log(clip_probability(z[l]));
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
          float lse = log_sum_exp(z, r.width), ts = 0;
          for (int64_t j = 0; j < r.width; ++j) ts += y[j];
          for (int64_t j = 0; j < r.width; ++j) o[j] = s * (std::exp(z[j] - lse) * ts - y[j]);
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
          float lse = log_sum_exp(z, r.width);
          for (int64_t j = 0; j < r.width; ++j) o[j] = s * std::exp(z[j] - lse);
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

// The loops below are built for the baseline and for AVX2 (picked at load time), so the
// library runs anywhere and still uses 8-wide vectors where it can.
#define TG_VECTOR_CLONES __attribute__((target_clones("avx2", "default")))

// The exponential is arithmetic-bound, so it also gets a 16-wide build (2.5x faster than the
// 8-wide one on a Zen 4 core); the memory-bound loops below are no faster with it.
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

// The fused forward: probabilities and the loss from logits, a chunk of rows at a time (so the
// chunk stays in L1 between passes). Softmax is the same for any shift of a row; the chunk's
// max c serves every row whose own max is within about 40 of it (their exponential sums s
// stay above 1e-17, far from underflow), so the shift, the exponentials and the max are each
// one flat vectorised pass. A row farther below (or with a NaN) is redone with its own max.
// The loss needs each row's log-sum-exp shift + log(s); the logs are summed as the log of the
// product of the sums, taken whenever that product leaves [1e-250, 1e250]: each s lies in
// [1e-17, width], and one log serves many rows. (Dense targets weight each row's log by the
// row's target sum, so they take it row by row.)
void softmax_crossentropy(const Node& n, const Shape& shape, const float* z, const float* t, float* loss,
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
      if (n.loss == Kind::SparseCategoricalCrossentropy) {
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

TG_VECTOR_CLONES void scale_into(int64_t n, float s, const float* __restrict x, float* __restrict out) {
  for (int64_t i = 0; i < n; ++i) out[i] = s * x[i];
}

// Its backward: (softmax * sum(target) - target) * g / rows; sum(target) is 1 for one-hot rows.
void softmax_crossentropy_grad(const Node& n, const Shape& shape, const float* probs, const float* t, float g,
                               float* d) {
  Rows r = rows_of(shape);
  float s = g / static_cast<float>(r.rows);
  if (n.loss == Kind::SparseCategoricalCrossentropy) {
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

template <Activation A>
float activation_derivative(float y) {
  if constexpr (A == Activation::Sigmoid) return y * (1 - y);
  if constexpr (A == Activation::Tanh) return 1 - y * y;
  return 1.f;
}

// dz = dy * f'(y) and the column sums of dz in one pass over the rows (the inner loops are
// contiguous, so they vectorise); the sums go to db, or straight into the bias
// (bias += update_scale * dz, row by row) when the SGD update was folded in.
// The buffer plan may give dz the memory of dy (plan_buffers.cpp): each loop below then runs
// its in-place form, which reads and writes through dz alone, so that the pointers marked
// __restrict (which let the compiler vectorise) never alias.
// relu masks the bits: written as a select or a multiply by 0/1, the compiler keeps a branch
// (and mispredicts half the time on real data); an integer AND with a compare mask vectorises.
float relu_mask(float y, float dy) {
  return std::bit_cast<float>(std::bit_cast<uint32_t>(dy) & (0u - static_cast<uint32_t>(y > 0)));
}

template <Activation A, bool InPlace>
void derivative_loop(int64_t w, const float* __restrict y, const float* __restrict dy, float* __restrict dz) {
  const float* d = InPlace ? dz : dy;
  if constexpr (A == Activation::Relu) {
    for (int64_t j = 0; j < w; ++j) dz[j] = relu_mask(y[j], d[j]);
  } else {
    for (int64_t j = 0; j < w; ++j) dz[j] = d[j] * activation_derivative<A>(y[j]);
  }
}

template <Activation A>
void derivative_row(int64_t w, const float* y, const float* dy, float* dz) {
  if (dy == dz) return derivative_loop<A, true>(w, y, nullptr, dz);
  derivative_loop<A, false>(w, y, dy, dz);
}

// Four rows per pass over the sums, as in relu_bias_loop.
TG_VECTOR_CLONES void add_scaled_rows(int64_t rows, int64_t w, float s, const float* __restrict dz,
                                      float* __restrict db) {
  int64_t i = 0;
  for (; i + 4 <= rows; i += 4) {
    const float* d = dz + i * w;
    for (int64_t j = 0; j < w; ++j) db[j] += s * ((d[j] + d[j + w]) + (d[j + 2 * w] + d[j + 3 * w]));
  }
  for (; i < rows; ++i)
    for (int64_t j = 0; j < w; ++j) db[j] += s * dz[i * w + j];
}

// Four rows at a time: the bias sums are loaded and stored once per four rows instead of once
// per row, which was the loop's bottleneck (stores, not arithmetic).
template <bool InPlace>
[[gnu::always_inline]] inline void relu_bias_loop(int64_t rows, int64_t w, int64_t stride, const float* __restrict y,
                                                  const float* __restrict dy, float* __restrict dz,
                                                  float* __restrict db, float s) {
  constexpr int64_t kRows = 4;
  int64_t i = 0;
  for (; i + kRows <= rows; i += kRows) {
    const float* yi = y + i * stride;
    float* dzi = dz + i * stride;
    const float* dyi = InPlace ? dzi : dy + i * stride;
    for (int64_t j = 0; j < w; ++j) {
      float v0 = relu_mask(yi[j], dyi[j]), v1 = relu_mask(yi[j + stride], dyi[j + stride]);
      float v2 = relu_mask(yi[j + 2 * stride], dyi[j + 2 * stride]);
      float v3 = relu_mask(yi[j + 3 * stride], dyi[j + 3 * stride]);
      dzi[j] = v0;
      dzi[j + stride] = v1;
      dzi[j + 2 * stride] = v2;
      dzi[j + 3 * stride] = v3;
      db[j] += s * ((v0 + v1) + (v2 + v3));
    }
  }
  for (; i < rows; ++i) {
    const float* yi = y + i * stride;
    float* dzi = dz + i * stride;
    const float* dyi = InPlace ? dzi : dy + i * stride;
    for (int64_t j = 0; j < w; ++j) {
      float v = relu_mask(yi[j], dyi[j]);
      dzi[j] = v;
      db[j] += s * v;
    }
  }
}

// relu, the common case, in one pass: each row's mask and its share of the column sums, for
// `w` columns of rows `stride` apart.
TG_VECTOR_CLONES void relu_bias_rows(int64_t rows, int64_t w, int64_t stride, const float* y, const float* dy,
                                     float* dz, float* db, float s) {
  if (dy == dz) return relu_bias_loop<true>(rows, w, stride, y, nullptr, dz, db, s);
  relu_bias_loop<false>(rows, w, stride, y, dy, dz, db, s);
}

// Large layers split their rows between threads, each summing its share of the bias gradient
// on its own; the shares are added at the end. Rows keep each thread's writes on whole cache
// lines (a column split shares lines between threads wherever a row is not a multiple of 16
// floats), and a static partition hands a thread the same rows every step, as oneDNN's own
// static split does, so that more of them are already in its core's cache. Layers too wide
// for the shares on the stack split their columns instead: each thread owns its bias entries.
void relu_bias_grad(int64_t rows, int64_t w, const float* y, const float* dy, float* dz, float* db, float s) {
  constexpr int64_t kSplitAbove = 8192;  // elements
  constexpr int64_t kMaxParts = 4;
  constexpr int64_t kMaxWidth = 4096;    // columns of the shares on the stack (64 KB in all)
  int64_t parts = std::min<int64_t>(ad::num_threads(), kMaxParts);
  if (rows * w < kSplitAbove || parts < 2) return relu_bias_rows(rows, w, w, y, dy, dz, db, s);
  if (w > kMaxWidth || rows < 2 * parts) {
    constexpr int64_t kAlign = 16;  // columns: whole cache lines per task
    int64_t chunk = std::max(kAlign, (w / (2 * parts) + kAlign - 1) / kAlign * kAlign);
    tbb::parallel_for(int64_t{0}, (w + chunk - 1) / chunk, [&](int64_t t) {
      int64_t lo = t * chunk, hi = std::min(w, lo + chunk);
      relu_bias_rows(rows, hi - lo, w, y + lo, dy + lo, dz + lo, db + lo, s);
    });
    return;
  }
  alignas(64) float shares[kMaxParts][kMaxWidth];
  int64_t per_part = (rows + parts - 1) / parts;
  tbb::parallel_for(
      int64_t{0}, parts,
      [&](int64_t t) {
        int64_t lo = t * per_part, hi = std::min(rows, lo + per_part);
        float* share = shares[t];
        std::fill_n(share, w, 0.f);
        if (hi > lo) relu_bias_rows(hi - lo, w, w, y + lo * w, dy + lo * w, dz + lo * w, share, s);
      },
      tbb::static_partitioner());
  for (int64_t t = 0; t < parts; ++t)
    for (int64_t j = 0; j < w; ++j) db[j] += shares[t][j];
}

template <bool InPlace>
[[gnu::always_inline]] inline void relu_loop(int64_t n, const float* __restrict y, const float* __restrict dy,
                                             float* __restrict dz) {
  const float* d = InPlace ? dz : dy;
  for (int64_t j = 0; j < n; ++j) dz[j] = relu_mask(y[j], d[j]);
}

TG_VECTOR_CLONES void relu_rows(int64_t n, const float* y, const float* dy, float* dz) {
  if (dy == dz) return relu_loop<true>(n, y, nullptr, dz);
  relu_loop<false>(n, y, dy, dz);
}

template <Activation A>
void activation_bias_grad(int64_t rows, int64_t w, const float* y, const float* dy, float* dz, float* db,
                          float update_scale) {
  bool fold = update_scale != 0.f;
  if (db && !fold)
    for (int64_t j = 0; j < w; ++j) db[j] = 0.f;
  float s = fold ? update_scale : 1.f;
  if constexpr (A == Activation::Relu) {
    if (db) {
      relu_bias_grad(rows, w, y, dy, dz, db, s);
    } else {
      relu_rows(rows * w, y, dy, dz);
    }
    return;
  }
  for (int64_t i = 0; i < rows; ++i)
    if constexpr (A != Activation::None) derivative_row<A>(w, y + i * w, dy + i * w, dz + i * w);
  if (db) add_scaled_rows(rows, w, s, dz, db);
}

void activation_bias_grad(const Node& n, const Shape& shape, const float* y, const float* dy, float* dz, float* db,
                          float update_scale) {
  Rows r = rows_of(shape);
  switch (n.activation) {
    case Activation::Relu: return activation_bias_grad<Activation::Relu>(r.rows, r.width, y, dy, dz, db, update_scale);
    case Activation::Sigmoid:
      return activation_bias_grad<Activation::Sigmoid>(r.rows, r.width, y, dy, dz, db, update_scale);
    case Activation::Tanh: return activation_bias_grad<Activation::Tanh>(r.rows, r.width, y, dy, dz, db, update_scale);
    case Activation::None: return activation_bias_grad<Activation::None>(r.rows, r.width, y, dy, dz, db, update_scale);
  }
}

}  // namespace

void run_node(const Graph& g, const Node& n, const std::vector<float*>& ptr, const RunContext& ctx) {
  auto in = [&](size_t k) -> const float* { return ptr[static_cast<size_t>(n.inputs[k])]; };
  auto in_shape = [&](size_t k) -> const Shape& { return g.values[static_cast<size_t>(n.inputs[k])].shape; };
  float* out = n.outputs.empty() ? nullptr : ptr[static_cast<size_t>(n.outputs[0])];
  int64_t size = n.outputs.empty() ? 0 : g.values[static_cast<size_t>(n.outputs[0])].size();
  const UpdateRule& rule = g.update;
  float lr = ctx.learning_rate;
  switch (n.kind) {
    case Kind::Add:
    case Kind::Sub:
    case Kind::Mul: {
      // Either operand may be the whole shape, one element, or a row repeated (i % its size).
      const float *a = in(0), *b = in(1);
      int64_t sa = ad::element_count(in_shape(0)), sb = ad::element_count(in_shape(1));
      Kind k = n.kind;
      ad::parallel_range(size, [&](int64_t lo, int64_t hi) {
        for (int64_t i = lo; i < hi; ++i) {
          float x = a[sa == size ? i : i % sa], z = b[sb == size ? i : i % sb];
          out[i] = k == Kind::Add ? x + z : (k == Kind::Sub ? x - z : x * z);
        }
      });
      return;
    }
    case Kind::Neg: { const float* a = in(0); each(size, [&](int64_t i) { out[i] = -a[i]; }); return; }
    case Kind::Relu: { const float* a = in(0); each(size, [&](int64_t i) { out[i] = a[i] > 0 ? a[i] : 0.f; }); return; }
    case Kind::Sigmoid: { const float* a = in(0); each(size, [&](int64_t i) { out[i] = logistic(a[i]); }); return; }
    case Kind::Tanh: { const float* a = in(0); each(size, [&](int64_t i) { out[i] = std::tanh(a[i]); }); return; }
    case Kind::ReluGrad: { const float *y = in(0), *d = in(1); each(size, [&](int64_t i) { out[i] = relu_mask(y[i], d[i]); }); return; }
    case Kind::SigmoidGrad: { const float *y = in(0), *d = in(1); each(size, [&](int64_t i) { out[i] = d[i] * y[i] * (1 - y[i]); }); return; }
    case Kind::TanhGrad: { const float *y = in(0), *d = in(1); each(size, [&](int64_t i) { out[i] = d[i] * (1 - y[i] * y[i]); }); return; }
    case Kind::Softmax:
    case Kind::LogSoftmax: {
      Rows r = rows_of(in_shape(0));
      const float* z = in(0);
      for (int64_t i = 0; i < r.rows; ++i) {
        float lse = log_sum_exp(z + i * r.width, r.width);
        for (int64_t j = 0; j < r.width; ++j) {
          float v = z[i * r.width + j] - lse;
          out[i * r.width + j] = n.kind == Kind::Softmax ? std::exp(v) : v;
        }
      }
      return;
    }
    case Kind::SoftmaxGrad:
    case Kind::LogSoftmaxGrad: {
      Rows r = rows_of(in_shape(0));
      const float *y = in(0), *d = in(1);
      for (int64_t i = 0; i < r.rows; ++i) {
        const float *yi = y + i * r.width, *gi = d + i * r.width;
        float* o = out + i * r.width;
        float s = 0;
        if (n.kind == Kind::SoftmaxGrad) {
          for (int64_t j = 0; j < r.width; ++j) s += gi[j] * yi[j];
          for (int64_t j = 0; j < r.width; ++j) o[j] = yi[j] * (gi[j] - s);
        } else {
          for (int64_t j = 0; j < r.width; ++j) s += gi[j];
          for (int64_t j = 0; j < r.width; ++j) o[j] = gi[j] - std::exp(yi[j]) * s;
        }
      }
      return;
    }
    case Kind::SumAll:
    case Kind::MeanAll: {
      int64_t n_in = ad::element_count(in_shape(0));
      double total = 0;
      for (int64_t i = 0; i < n_in; ++i) total += in(0)[i];
      if (n.kind == Kind::MeanAll) total /= static_cast<double>(n_in);
      out[0] = static_cast<float>(total);
      return;
    }
    case Kind::Reshape:
      if (out != in(0)) std::memcpy(out, in(0), static_cast<size_t>(size) * sizeof(float));
      return;
    case Kind::ColumnSum: {
      int64_t rows = size ? ad::element_count(in_shape(0)) / size : 0;
      const float* d = in(0);
      for (int64_t j = 0; j < size; ++j) out[j] = 0.f;
      for (int64_t i = 0; i < rows; ++i)
        for (int64_t j = 0; j < size; ++j) out[j] += d[i * size + j];
      return;
    }
    case Kind::FillScalar: for (int64_t i = 0; i < size; ++i) out[i] = n.value; return;
    case Kind::BroadcastScalar: { float v = in(0)[0] * n.value; each(size, [&](int64_t i) { out[i] = v; }); return; }
    case Kind::AddN:
      ad::parallel_range(size, [&](int64_t lo, int64_t hi) {
        for (int64_t i = lo; i < hi; ++i) {
          float s = 0;
          for (size_t k = 0; k < n.inputs.size(); ++k) s += in(k)[i];
          out[i] = s;
        }
      });
      return;
    case Kind::MseLoss:
    case Kind::BinaryCrossentropy:
    case Kind::CategoricalCrossentropy:
    case Kind::SparseCategoricalCrossentropy: out[0] = loss_value(n, in_shape(0), in(0), in(1)); return;
    case Kind::LossGrad: loss_grad(n, in_shape(0), in(0), in(1), in(2)[0], out); return;
    case Kind::SoftmaxCrossentropy:
      softmax_crossentropy(n, in_shape(0), in(0), in(1), out, ptr[static_cast<size_t>(n.outputs[1])]);
      return;
    case Kind::SoftmaxCrossentropyGrad: softmax_crossentropy_grad(n, in_shape(0), in(0), in(1), in(2)[0], out); return;
    case Kind::ActivationBiasGrad: {
      // With an activation: (y, dy) -> (dz, db). Without: (dy) -> (db), dz being dy itself.
      float scale = n.times_learning_rate ? n.update_scale * lr : n.update_scale;
      if (n.activation == Activation::None) {
        activation_bias_grad(n, in_shape(0), nullptr, in(0), const_cast<float*>(in(0)), out, scale);
      } else {
        float* db = n.outputs.size() > 1 ? ptr[static_cast<size_t>(n.outputs[1])] : nullptr;
        activation_bias_grad(n, in_shape(0), in(0), in(1), out, db, scale);
      }
      return;
    }
    case Kind::SgdUpdate: {
      const float* d = in(1);
      each(size, [&](int64_t i) { out[i] -= lr * d[i]; });
      return;
    }
    case Kind::MomentumUpdate: {
      const float* d = in(1);
      float* m = ptr[static_cast<size_t>(n.outputs[1])];
      float mu = rule.momentum;
      bool nesterov = rule.nesterov;
      each(size, [&](int64_t i) {
        m[i] = mu * m[i] - lr * d[i];
        out[i] += nesterov ? mu * m[i] - lr * d[i] : m[i];
      });
      return;
    }
    case Kind::AdamUpdate: {
      const float* d = in(1);
      float *m = ptr[static_cast<size_t>(n.outputs[1])], *v = ptr[static_cast<size_t>(n.outputs[2])];
      double t = static_cast<double>(ctx.iteration);
      float alpha = static_cast<float>(lr * std::sqrt(1 - std::pow(static_cast<double>(rule.beta_2), t)) /
                                       (1 - std::pow(static_cast<double>(rule.beta_1), t)));
      float b1 = rule.beta_1, b2 = rule.beta_2, eps = rule.epsilon;
      each(size, [&](int64_t i) {
        m[i] += (d[i] - m[i]) * (1 - b1);
        v[i] += (d[i] * d[i] - v[i]) * (1 - b2);
        out[i] -= alpha * m[i] / (std::sqrt(v[i]) + eps);
      });
      return;
    }
    case Kind::MatMul:
    case Kind::FusedDense: ad::fail("run_node: {} runs as a MatmulPlan in the executor", kind_name(n.kind));
  }
}

}  // namespace graph
