#include "tapegrad/autodiff/kernels/matmul.h"

#include <oneapi/dnnl/dnnl.hpp>
#include <tbb/task_arena.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <unordered_map>
#include <vector>

#include "tapegrad/autodiff/error.h"
#include "tapegrad/autodiff/kernels/matmul_primitive.h"
#include "tapegrad/autodiff/kernels/onednn.h"
#include "tapegrad/autodiff/threading.h"

namespace ad::kernels {

namespace {

using dnnl::memory;

// The scale value is a runtime argument, so specs that differ only in it share a primitive.
struct Key {
  MatmulSpec spec;
  bool operator==(const Key& o) const {
    MatmulSpec a = spec, b = o.spec;
    a.scale = (a.scale != 1.f) ? 2.f : 1.f;
    b.scale = (b.scale != 1.f) ? 2.f : 1.f;
    return a == b;
  }
};

struct KeyHash {
  size_t operator()(const Key& k) const {
    const MatmulSpec& s = k.spec;
    size_t h = static_cast<size_t>(s.m) * 1000003u ^ static_cast<size_t>(s.k) * 10007u ^ static_cast<size_t>(s.n);
    h = h * 31 + (s.trans_a | s.trans_b << 1 | s.bias << 2 | (s.scale != 1.f) << 3 | s.accumulate << 4 | (s.sum_scale != 1.f) << 5);
    return h * 31 + static_cast<size_t>(s.activation);
  }
};

// The memory objects of one call. Making them costs microseconds, more than a small product,
// so they are made once and pointed at each call's arrays; a call takes one from its entry's
// pool and gives it back, so that concurrent calls each have their own.
struct Bound {
  explicit Bound(const dnnl::matmul::primitive_desc& pd, const MatmulSpec& s) : arguments(pd, s) {}
  MatmulArguments arguments;
  std::unique_ptr<void, decltype(&std::free)> own_scratchpad{nullptr, &std::free};  // when the caller has none
};

struct Entry {
  dnnl::matmul::primitive_desc pd;
  dnnl::matmul primitive;
  size_t scratchpad_bytes = 0;
  mutable std::mutex pool_mutex;
  mutable std::vector<std::unique_ptr<Bound>> pool;
};

std::shared_mutex cache_mutex;
std::unordered_map<Key, std::shared_ptr<const Entry>, KeyHash> cache;

std::shared_ptr<const Entry> create(const MatmulSpec& s) {
  auto entry = std::make_shared<Entry>();
  entry->pd = matmul_primitive_desc(s);
  entry->primitive = dnnl::matmul(entry->pd);
  entry->scratchpad_bytes = entry->pd.scratchpad_desc().get_size();
  return entry;
}

std::shared_ptr<const Entry> lookup(const MatmulSpec& spec) {
  Key key{spec};
  {
    std::shared_lock lock(cache_mutex);
    auto it = cache.find(key);
    if (it != cache.end()) return it->second;
  }
  auto entry = create(spec);  // outside the lock: JIT compilation takes milliseconds
  std::unique_lock lock(cache_mutex);
  return cache.emplace(key, std::move(entry)).first->second;
}

std::unique_ptr<Bound> take_bound(const Entry& entry, const MatmulSpec& s) {
  {
    std::lock_guard lock(entry.pool_mutex);
    if (!entry.pool.empty()) {
      std::unique_ptr<Bound> bound = std::move(entry.pool.back());
      entry.pool.pop_back();
      return bound;
    }
  }
  auto bound = std::make_unique<Bound>(entry.pd, s);
  return bound;
}

// In double: m*k*n of a user's sizes may overflow int64.
bool is_small(const MatmulSpec& s) {
  return static_cast<double>(s.m) * static_cast<double>(s.k) * static_cast<double>(s.n) < kSmallMatmulWork;
}

float activate(float v, Activation activation) {
  switch (activation) {
    case Activation::Relu: return v <= 0 ? 0 : v;  // NaN stays NaN
    case Activation::Sigmoid: return v >= 0 ? 1 / (1 + std::exp(-v)) : std::exp(v) / (1 + std::exp(v));
    case Activation::Tanh: return std::tanh(v);
    case Activation::Softplus: return std::fmax(v, 0.f) + std::log1p(std::exp(-std::fabs(v)));  // NaN stays NaN
    case Activation::None: break;
  }
  return v;
}

// Products at most kNarrowWidth columns wide and kNarrowDepth deep (the engine's small
// tensors: 4x4 took 36 ns a call in the general loop below, which keeps each row's sums in
// memory and reads a transposed b with a stride). op(b) is first copied into a zero-padded
// [k, W] block, so that each row's W sums stay in registers and every read is contiguous. The
// sums add the same terms in the same order as the general loop; the padding lanes are dropped.
constexpr int64_t kNarrowWidth = 16, kNarrowDepth = 64;

template <int W, class Finish>
void narrow_rows(int64_t m, int64_t k, int64_t n, const float* a, int64_t ai, int64_t ap, const float* b, int64_t bp,
                 int64_t bj, float* c, bool plain, Finish finish) {
  // Written as fixed-width loops with conditions, not copies of n elements: g++ turns those
  // into calls to memcpy and memset, which cost more than a 4x4 product.
  alignas(64) float packed[kNarrowDepth * W];
  for (int64_t p = 0; p < k; ++p)
    for (int j = 0; j < W; ++j) packed[p * W + j] = j < n ? b[p * bp + j * bj] : 0.f;
  for (int64_t i = 0; i < m; ++i) {
    alignas(64) float sums[W];
    for (int j = 0; j < W; ++j) sums[j] = 0.f;
    for (int64_t p = 0; p < k; ++p) {
      const float x = a[i * ai + p * ap];
      for (int j = 0; j < W; ++j) sums[j] += x * packed[p * W + j];
    }
    if (plain) {
      for (int j = 0; j < W; ++j)
        if (j < n) c[i * n + j] = sums[j];
    } else {
      finish(i, sums);
    }
  }
}

}  // namespace

void matmul_loops(const MatmulSpec& s, const float* a, const float* b, float* c, const float* bias) {
  // Element (i,p) of op(a) is a[i*ai + p*ap] and element (p,j) of op(b) is b[p*bp + j*bj]:
  // the loops see strides only, not the transposition flags (a third faster on 4x4).
  const int64_t m = s.m, k = s.k, n = s.n;
  const int64_t lda = s.lda ? s.lda : (s.trans_a ? m : k);
  const int64_t ai = s.trans_a ? 1 : lda, ap = s.trans_a ? lda : 1, bp = s.trans_b ? 1 : n, bj = s.trans_b ? k : 1;
  const bool plain = s.scale == 1.f && !s.bias && !s.accumulate && s.activation == Activation::None;
  // Row i's sums r[0..n) into c's row i, through the spec's scale, bias, sum and activation.
  auto finish = [&](int64_t i, const float* r) {
    float* ci = c + i * n;
    if (plain) return (void)std::copy(r, r + n, ci);
    for (int64_t j = 0; j < n; ++j) {
      float v = s.scale * r[j];
      if (s.bias) v += bias[j];
      if (s.accumulate) v += s.sum_scale * ci[j];
      ci[j] = activate(v, s.activation);
    }
  };
  if (k <= kNarrowDepth && n <= kNarrowWidth) {
    if (n <= 4) return narrow_rows<4>(m, k, n, a, ai, ap, b, bp, bj, c, plain, finish);
    if (n <= 8) return narrow_rows<8>(m, k, n, a, ai, ap, b, bp, bj, c, plain, finish);
    return narrow_rows<16>(m, k, n, a, ai, ap, b, bp, bj, c, plain, finish);
  }
  // One output row at a time, as a sum of rows of op(b) weighted by row i of op(a): the n sums
  // are independent (n dot products would each be a chain of dependent additions), and the
  // inner loop runs along b's rows when b is not transposed, and vectorises. The row is summed
  // in a buffer and then finished into c (c's old values are still needed with accumulate).
  thread_local std::vector<float> buffer;
  buffer.resize(static_cast<size_t>(n));
  float* r = buffer.data();
  for (int64_t i = 0; i < m; ++i) {
    std::fill(r, r + n, 0.f);
    for (int64_t p = 0; p < k; ++p) {
      const float x = a[i * ai + p * ap];
      const float* row = b + p * bp;
      if (bj == 1)
        for (int64_t j = 0; j < n; ++j) r[j] += x * row[j];
      else
        for (int64_t j = 0; j < n; ++j) r[j] += x * row[j * bj];
    }
    finish(i, r);
  }
}

size_t matmul_scratchpad_bytes(const MatmulSpec& spec) {
  if (spec.m == 0 || spec.n == 0 || spec.k == 0 || is_small(spec)) return 0;
  return lookup(spec)->scratchpad_bytes;
}

void matmul(const MatmulSpec& s, const float* a, const float* b, float* c, const float* bias, void* scratchpad) {
  TG_CHECK(s.m >= 0 && s.k >= 0 && s.n >= 0, "matmul: negative size m={} k={} n={}", s.m, s.k, s.n);
  TG_CHECK(s.lda == 0 || s.lda >= (s.trans_a ? s.m : s.k), "matmul: lda {} is below a's stored row length {}", s.lda,
           s.trans_a ? s.m : s.k);
  TG_CHECK(!s.bias || bias, "matmul: spec asks for a bias but none was given");
  if (s.m == 0 || s.n == 0) return;
  // k == 0 too: a product of zeros, which oneDNN does not take.
  if (s.k == 0 || is_small(s)) {
    ComputeScope scope;
    return matmul_loops(s, a, b, c, bias);
  }
  auto entry = lookup(s);
  std::unique_ptr<Bound> bound = take_bound(*entry, s);
  Bound& p = *bound;
  if (entry->scratchpad_bytes && !scratchpad) {
    if (!p.own_scratchpad) p.own_scratchpad.reset(std::aligned_alloc(64, (entry->scratchpad_bytes + 63) / 64 * 64));
    TG_CHECK(p.own_scratchpad != nullptr, "matmul: cannot allocate a scratchpad of {} bytes", entry->scratchpad_bytes);
    scratchpad = p.own_scratchpad.get();
  }
  p.arguments.point_at(a, b, c, bias, scratchpad, s.scale);
  // Isolated: while oneDNN's TBB loop runs, this thread must not pick up another task that
  // would run a second primitive on the same (per-thread) stream in the middle of this one.
  dnnl_status_t status = dnnl_success;
  // Run as a task of a context that carries the flush-to-zero flags to oneDNN's own loops.
  tbb::this_task_arena::isolate([&] {
    run_computation([&] { status = p.arguments.execute(entry->primitive); });
  });
  TG_CHECK(status == dnnl_success, "matmul: oneDNN failed on [{},{}] x [{},{}] with status {}", s.m, s.k, s.k, s.n,
           static_cast<int>(status));
  run_computation([&] { apply_activation_after(s, c); });
  std::lock_guard lock(entry->pool_mutex);
  entry->pool.push_back(std::move(bound));
}

size_t cached_primitive_count() {
  std::shared_lock lock(cache_mutex);
  return cache.size();
}

}  // namespace ad::kernels
