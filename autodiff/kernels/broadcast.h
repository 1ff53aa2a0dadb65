/// @file
/// NumPy broadcasting for the binary kernels: out[i] = f(a[offset_a(i)], b[offset_b(i)]) with
/// fast paths for equal shapes, a one-element operand and a bias row, in parallel chunks.
///
/// @code
/// // Given: const ad::View& a, const ad::View& b, const ad::View& out
/// ad::kernels::binary_broadcast(a, b, out, [](float x, float y) { return x + y; });
/// @endcode
#pragma once
#include <algorithm>
#include <array>
#include <cstdint>
#include <vector>

#include "tapegrad/autodiff/op.h"
#include "tapegrad/autodiff/threading.h"

namespace ad::kernels {

/// Whether `b` is a row of `a`'s last axis repeated over the other axes (a bias).
inline bool is_row_broadcast(const Shape& a, const Shape& b) {
  if (a.empty() || b.empty() || b.size() > a.size() || b.back() != a.back()) return false;
  for (size_t i = 0; i + 1 < b.size(); ++i)
    if (b[i] != 1) return false;
  return true;
}

/// Writes the strides of `shape` seen as `target` (rank-aligned from the right) to
/// strides[0, target.size()): 0 along stretched axes.
inline void broadcast_strides(const Shape& shape, const Shape& target, int64_t* strides) {
  std::fill_n(strides, target.size(), int64_t{0});
  int64_t stride = 1;
  for (size_t i = shape.size(); i-- > 0;) {
    size_t t = i + (target.size() - shape.size());
    strides[t] = shape[i] == 1 ? 0 : stride;
    stride *= shape[i];
  }
}

/// Visits every element of `target` in order with the flat offsets of the corresponding
/// elements of tensors of shapes `a` and `b` broadcast to it: f(flat, offset_a, offset_b).
template <typename F>
void for_each_broadcast(const Shape& a, const Shape& b, const Shape& target, F f) {
  int64_t count = element_count(target);
  if (count == 0) return;
  // Strides of a and b and the running index, on the stack up to rank 8 (small ops run this
  // for every backward of a reduction; three heap vectors were most of its cost).
  const size_t rank = target.size();
  std::array<int64_t, 24> on_stack;
  std::vector<int64_t> on_heap(rank > 8 ? 3 * rank : 0);
  int64_t* sa = rank > 8 ? on_heap.data() : on_stack.data();
  int64_t *sb = sa + rank, *index = sb + rank;
  broadcast_strides(a, target, sa);
  broadcast_strides(b, target, sb);
  std::fill_n(index, rank, int64_t{0});
  int64_t oa = 0, ob = 0;
  for (int64_t flat = 0; flat < count; ++flat) {
    f(flat, oa, ob);
    for (size_t axis = rank; axis-- > 0;) {
      oa += sa[axis];
      ob += sb[axis];
      if (++index[axis] < target[axis]) break;
      oa -= sa[axis] * target[axis];
      ob -= sb[axis] * target[axis];
      index[axis] = 0;
    }
  }
}

/// out = f(a, b) element by element, a and b broadcast to out's shape.
template <typename F>
void binary_broadcast(const View& a, const View& b, const View& out, F f) {
  const float *x = a.data, *y = b.data;
  float* o = out.data;
  int64_t n = out.size;
  const Shape &sa = *a.shape, &sb = *b.shape, &so = *out.shape;
  if (a.size == n && b.size == n) {
    parallel_range(n, [&](int64_t lo, int64_t hi) {
      for (int64_t i = lo; i < hi; ++i) o[i] = f(x[i], y[i]);
    });
  } else if (a.size == n && b.size == 1) {
    float s = y[0];
    parallel_range(n, [&](int64_t lo, int64_t hi) {
      for (int64_t i = lo; i < hi; ++i) o[i] = f(x[i], s);
    });
  } else if (b.size == n && a.size == 1) {
    float s = x[0];
    parallel_range(n, [&](int64_t lo, int64_t hi) {
      for (int64_t i = lo; i < hi; ++i) o[i] = f(s, y[i]);
    });
  } else if (sa == so && is_row_broadcast(so, sb)) {
    int64_t w = b.size, rows = w ? n / w : 0;
    parallel_rows(rows, w, [&](int64_t lo, int64_t hi) {
      for (int64_t r = lo; r < hi; ++r)
        for (int64_t j = 0; j < w; ++j) o[r * w + j] = f(x[r * w + j], y[j]);
    });
  } else if (sb == so && is_row_broadcast(so, sa)) {
    int64_t w = a.size, rows = w ? n / w : 0;
    parallel_rows(rows, w, [&](int64_t lo, int64_t hi) {
      for (int64_t r = lo; r < hi; ++r)
        for (int64_t j = 0; j < w; ++j) o[r * w + j] = f(x[j], y[r * w + j]);
    });
  } else {
    for_each_broadcast(sa, sb, so, [&](int64_t flat, int64_t ia, int64_t ib) { o[flat] = f(x[ia], y[ib]); });
  }
}

}  // namespace ad::kernels
