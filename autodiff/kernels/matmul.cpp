#include "autodiff/kernels/matmul.h"

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

#include "autodiff/error.h"
#include "autodiff/kernels/onednn.h"

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
    h = h * 31 + (s.trans_a | s.trans_b << 1 | s.bias << 2 | (s.scale != 1.f) << 3 | s.accumulate << 4);
    return h * 31 + static_cast<size_t>(s.activation);
  }
};

// The memory objects and argument list of one call. Making them costs microseconds, more than
// a small product, so they are made once and pointed at each call's arrays; a call takes one
// from its entry's pool and gives it back, so that concurrent calls each have their own.
struct Bound {
  memory src, weights, dst, bias, scale, scratchpad;
  float scale_value = 1.f;
  std::unique_ptr<void, decltype(&std::free)> own_scratchpad{nullptr, &std::free};  // when the caller has none
  std::vector<dnnl_exec_arg_t> args;  // the C API takes a plain array: no map built per call
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

dnnl::algorithm eltwise_algorithm(Activation a) {
  switch (a) {
    case Activation::Relu: return dnnl::algorithm::eltwise_relu;
    case Activation::Sigmoid: return dnnl::algorithm::eltwise_logistic;
    case Activation::Tanh: return dnnl::algorithm::eltwise_tanh;
    case Activation::None: break;
  }
  return dnnl::algorithm::undef;
}

memory::desc matrix_desc(int64_t rows, int64_t cols, bool transposed) {
  // A transposed operand is stored [cols,rows]; reading it with swapped strides is free.
  return memory::desc({rows, cols}, memory::data_type::f32,
                      transposed ? memory::dims{1, rows} : memory::dims{cols, 1});
}

std::shared_ptr<const Entry> create(const MatmulSpec& s) {
  memory::desc a = matrix_desc(s.m, s.k, s.trans_a), b = matrix_desc(s.k, s.n, s.trans_b);
  memory::desc c({s.m, s.n}, memory::data_type::f32, memory::dims{s.n, 1});
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  if (s.scale != 1.f) attr.set_scales_mask(DNNL_ARG_SRC, 0);
  dnnl::post_ops post;
  if (s.accumulate) post.append_sum(1.f);
  if (s.activation != Activation::None) post.append_eltwise(eltwise_algorithm(s.activation), 0.f, 0.f);
  attr.set_post_ops(post);
  dnnl::matmul::primitive_desc pd;
  if (s.bias) {
    memory::desc bias({1, s.n}, memory::data_type::f32, memory::dims{s.n, 1});
    pd = dnnl::matmul::primitive_desc(engine(), a, b, bias, c, attr);
  } else {
    pd = dnnl::matmul::primitive_desc(engine(), a, b, c, attr);
  }
  auto entry = std::make_shared<Entry>();
  entry->pd = pd;
  entry->primitive = dnnl::matmul(pd);
  entry->scratchpad_bytes = pd.scratchpad_desc().get_size();
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
  const dnnl::engine& eng = engine();
  const dnnl::matmul::primitive_desc& pd = entry.pd;
  auto bound = std::make_unique<Bound>();
  Bound& p = *bound;
  p.src = memory(matrix_desc(s.m, s.k, s.trans_a), eng, DNNL_MEMORY_NONE);
  p.weights = memory(matrix_desc(s.k, s.n, s.trans_b), eng, DNNL_MEMORY_NONE);
  p.dst = memory(pd.dst_desc(), eng, DNNL_MEMORY_NONE);
  p.args = {{DNNL_ARG_SRC, p.src.get()}, {DNNL_ARG_WEIGHTS, p.weights.get()}, {DNNL_ARG_DST, p.dst.get()}};
  if (s.bias) {
    p.bias = memory(pd.bias_desc(), eng, DNNL_MEMORY_NONE);
    p.args.push_back({DNNL_ARG_BIAS, p.bias.get()});
  }
  if (s.scale != 1.f) {
    p.scale = memory(memory::desc({1}, memory::data_type::f32, memory::dims{1}), eng, &p.scale_value);
    p.args.push_back({DNNL_ARG_ATTR_SCALES | DNNL_ARG_SRC, p.scale.get()});
  }
  if (entry.scratchpad_bytes) {
    p.scratchpad = memory(pd.scratchpad_desc(), eng, DNNL_MEMORY_NONE);
    p.args.push_back({DNNL_ARG_SCRATCHPAD, p.scratchpad.get()});
  }
  return bound;
}

// In double: m*k*n of a user's sizes may overflow int64.
bool is_small(const MatmulSpec& s) {
  return static_cast<double>(s.m) * static_cast<double>(s.k) * static_cast<double>(s.n) < kSmallMatmulWork;
}

float activate(float v, Activation activation) {
  switch (activation) {
    case Activation::Relu: return v > 0 ? v : 0;
    case Activation::Sigmoid: return v >= 0 ? 1 / (1 + std::exp(-v)) : std::exp(v) / (1 + std::exp(v));
    case Activation::Tanh: return std::tanh(v);
    case Activation::None: break;
  }
  return v;
}

}  // namespace

void matmul_loops(const MatmulSpec& s, const float* a, const float* b, float* c, const float* bias) {
  // One output row at a time in a buffer, so that the inner loop runs along contiguous rows of
  // b (or of a and b when b is transposed) and vectorises.
  thread_local std::vector<float> row;
  row.resize(static_cast<size_t>(s.n));
  for (int64_t i = 0; i < s.m; ++i) {
    float* r = row.data();
    if (s.trans_b) {
      for (int64_t j = 0; j < s.n; ++j) {
        const float* bj = b + j * s.k;
        float sum = 0;
        if (s.trans_a)
          for (int64_t p = 0; p < s.k; ++p) sum += a[p * s.m + i] * bj[p];
        else
          for (int64_t p = 0; p < s.k; ++p) sum += a[i * s.k + p] * bj[p];
        r[j] = sum;
      }
    } else {
      std::fill(r, r + s.n, 0.f);
      for (int64_t p = 0; p < s.k; ++p) {
        float x = s.trans_a ? a[p * s.m + i] : a[i * s.k + p];
        const float* bp = b + p * s.n;
        for (int64_t j = 0; j < s.n; ++j) r[j] += x * bp[j];
      }
    }
    float* ci = c + i * s.n;
    for (int64_t j = 0; j < s.n; ++j) {
      float v = s.scale * r[j];
      if (s.bias) v += bias[j];
      if (s.accumulate) v += ci[j];
      ci[j] = activate(v, s.activation);
    }
  }
}

size_t matmul_scratchpad_bytes(const MatmulSpec& spec) {
  if (spec.m == 0 || spec.n == 0 || spec.k == 0 || is_small(spec)) return 0;
  return lookup(spec)->scratchpad_bytes;
}

void matmul(const MatmulSpec& s, const float* a, const float* b, float* c, const float* bias, void* scratchpad) {
  TG_CHECK(s.m >= 0 && s.k >= 0 && s.n >= 0, "matmul: negative size m={} k={} n={}", s.m, s.k, s.n);
  TG_CHECK(!s.bias || bias, "matmul: spec asks for a bias but none was given");
  if (s.m == 0 || s.n == 0) return;
  // k == 0 too: a product of zeros, which oneDNN does not take.
  if (s.k == 0 || is_small(s)) return matmul_loops(s, a, b, c, bias);
  auto entry = lookup(s);
  std::unique_ptr<Bound> bound = take_bound(*entry, s);
  Bound& p = *bound;
  p.src.set_data_handle(const_cast<float*>(a));
  p.weights.set_data_handle(const_cast<float*>(b));
  p.dst.set_data_handle(c);
  if (s.bias) p.bias.set_data_handle(const_cast<float*>(bias));
  p.scale_value = s.scale;
  if (entry->scratchpad_bytes) {
    if (!scratchpad) {
      if (!p.own_scratchpad)
        p.own_scratchpad.reset(std::aligned_alloc(64, (entry->scratchpad_bytes + 63) / 64 * 64));
      TG_CHECK(p.own_scratchpad != nullptr, "matmul: cannot allocate a scratchpad of {} bytes",
               entry->scratchpad_bytes);
      scratchpad = p.own_scratchpad.get();
    }
    p.scratchpad.set_data_handle(scratchpad);
  }
  // Isolated: while oneDNN's TBB loop runs, this thread must not pick up another task that
  // would run a second primitive on the same (per-thread) stream in the middle of this one.
  dnnl_status_t status = dnnl_success;
  tbb::this_task_arena::isolate([&] {
    status = dnnl_primitive_execute(entry->primitive.get(), stream().get(), static_cast<int>(p.args.size()),
                                    p.args.data());
  });
  TG_CHECK(status == dnnl_success, "matmul: oneDNN failed on [{},{}] x [{},{}] with status {}", s.m, s.k, s.k, s.n,
           static_cast<int>(status));
  std::lock_guard lock(entry->pool_mutex);
  entry->pool.push_back(std::move(bound));
}

size_t cached_primitive_count() {
  std::shared_lock lock(cache_mutex);
  return cache.size();
}

}  // namespace ad::kernels
