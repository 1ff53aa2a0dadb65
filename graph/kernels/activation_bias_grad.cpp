#include "tapegrad/graph/kernels/activation_bias_grad.h"

#include <tbb/parallel_for.h>

#include <algorithm>

#include "tapegrad/autodiff/kernels/vector_math.h"
#include "tapegrad/graph/kernels/common.h"

namespace graph::kernels {

namespace {

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
    ad::ComputeContext context;
    tbb::parallel_for(
        int64_t{0}, (w + chunk - 1) / chunk,
        [&](int64_t t) {
          int64_t lo = t * chunk, hi = std::min(w, lo + chunk);
          relu_bias_rows(rows, hi - lo, w, y + lo, dy + lo, dz + lo, db + lo, s);
        },
        context.get());
    return;
  }
  alignas(64) float shares[kMaxParts][kMaxWidth];
  int64_t per_part = (rows + parts - 1) / parts;
  ad::ComputeContext context;
  tbb::parallel_for(
      int64_t{0}, parts,
      [&](int64_t t) {
        int64_t lo = t * per_part, hi = std::min(rows, lo + per_part);
        float* share = shares[t];
        std::fill_n(share, w, 0.f);
        if (hi > lo) relu_bias_rows(hi - lo, w, w, y + lo * w, dy + lo * w, dz + lo * w, share, s);
      },
      tbb::static_partitioner(), context.get());
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
  if constexpr (A == Activation::Softplus) {
    ad::kernels::softplus_derivative_values(y, dy, dz, rows * w);  // libmvec's expm1, 4 lanes
  } else if constexpr (A != Activation::None) {
    for (int64_t i = 0; i < rows; ++i) derivative_row<A>(w, y + i * w, dy + i * w, dz + i * w);
  }
  if (db) add_scaled_rows(rows, w, s, dz, db);
}

}  // namespace

void activation_bias_grad(Activation activation, const Shape& shape, const float* y, const float* dy, float* dz, float* db,
                          float update_scale) {
  Rows r = rows_of(shape);
  switch (activation) {
    case Activation::Relu: return activation_bias_grad<Activation::Relu>(r.rows, r.width, y, dy, dz, db, update_scale);
    case Activation::Sigmoid:
      return activation_bias_grad<Activation::Sigmoid>(r.rows, r.width, y, dy, dz, db, update_scale);
    case Activation::Tanh: return activation_bias_grad<Activation::Tanh>(r.rows, r.width, y, dy, dz, db, update_scale);
    case Activation::Softplus:
      return activation_bias_grad<Activation::Softplus>(r.rows, r.width, y, dy, dz, db, update_scale);
    case Activation::None: return activation_bias_grad<Activation::None>(r.rows, r.width, y, dy, dz, db, update_scale);
  }
}

}  // namespace graph::kernels
