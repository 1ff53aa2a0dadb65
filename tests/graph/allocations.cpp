// Counts every operator new of the test executable (the whole graph_tests binary shares this
// replacement; it only counts) to show that a compiled step in steady state allocates nothing
// of its own: the only allocations left are those oneDNN's primitive execution makes inside
// itself for each GEMM call, which the same GEMMs make when run alone.
#include <doctest/doctest.h>

#include <atomic>
#include <cstddef>
#include <cstdlib>
#include <new>

#include "mlp.h"

// ThreadSanitizer's runtime defines every operator new and delete itself (a replacement would
// not link), and counting there would count its bookkeeping: the test is skipped under it.
#if defined(__SANITIZE_THREAD__)
#define TAPEGRAD_COUNTS_ALLOCATIONS 0
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define TAPEGRAD_COUNTS_ALLOCATIONS 0
#endif
#endif
#ifndef TAPEGRAD_COUNTS_ALLOCATIONS
#define TAPEGRAD_COUNTS_ALLOCATIONS 1
#endif

namespace {
std::atomic<int64_t> allocations{0};
}

#if TAPEGRAD_COUNTS_ALLOCATIONS
// Every form is replaced, plain, array, nothrow and aligned, so that each delete frees what its
// own new allocated (AddressSanitizer reports a delete that does not match its new).
namespace {

void* counted_allocation(size_t size, size_t alignment) noexcept {
  ++allocations;
  if (alignment <= alignof(std::max_align_t)) return std::malloc(size ? size : 1);
  // aligned_alloc wants a size that is a multiple of the alignment.
  size_t rounded = (size + alignment - 1) / alignment * alignment;
  return std::aligned_alloc(alignment, rounded ? rounded : alignment);
}

void* counted_or_throw(size_t size, size_t alignment) {
  if (void* p = counted_allocation(size, alignment)) return p;
  throw std::bad_alloc();
}

constexpr size_t kPlain = alignof(std::max_align_t);

}  // namespace

void* operator new(size_t size) { return counted_or_throw(size, kPlain); }
void* operator new[](size_t size) { return counted_or_throw(size, kPlain); }
void* operator new(size_t size, const std::nothrow_t&) noexcept { return counted_allocation(size, kPlain); }
void* operator new[](size_t size, const std::nothrow_t&) noexcept { return counted_allocation(size, kPlain); }
void* operator new(size_t size, std::align_val_t a) { return counted_or_throw(size, static_cast<size_t>(a)); }
void* operator new[](size_t size, std::align_val_t a) { return counted_or_throw(size, static_cast<size_t>(a)); }
void* operator new(size_t size, std::align_val_t a, const std::nothrow_t&) noexcept {
  return counted_allocation(size, static_cast<size_t>(a));
}
void* operator new[](size_t size, std::align_val_t a, const std::nothrow_t&) noexcept {
  return counted_allocation(size, static_cast<size_t>(a));
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
void operator delete[](void* p, size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }
#endif

using namespace graph_test;

TEST_CASE("a compiled training step allocates nothing beyond what its GEMMs alone allocate inside oneDNN") {
  if (!TAPEGRAD_COUNTS_ALLOCATIONS) {
    MESSAGE("skipped: ThreadSanitizer owns operator new, so allocations are not counted");
    return;
  }
  Mlp mlp({.widths = {40, 30, 20, 10}, .batch = 16});
  // Each form of the weight-gradient GEMMs with SGD: the plain GEMM of the separate form makes
  // fewer allocations inside oneDNN than the folded one, so each is held to its own GEMMs.
  for (auto form : {graph::GemmForm::Auto, graph::GemmForm::Folded, graph::GemmForm::Separate})
    for (auto mode : {graph::ExecutionMode::Serial, graph::ExecutionMode::Parallel}) {
      CAPTURE(static_cast<int>(form));
      CAPTURE(static_cast<int>(mode));
      auto params = mlp.fresh_params();
      auto g = record(mlp, params, {.kind = graph::UpdateKind::SGD});
      graph::optimize(g);
      graph::ExecutorOptions options{.mode = mode, .sgd_gemm_form = form};
      graph::Executor step(std::move(g), options);
      step.bind(graph::Role::Input, 0, mlp.x);
      step.bind(graph::Role::Target, 0, mlp.y);
      for (size_t i = 0; i < params.size(); ++i) step.bind(graph::Role::Parameter, static_cast<int>(i), params[i].value());
      for (int i = 0; i < 1 + 2 * options.trial_runs; ++i) step.run();  // past the forms' trials
      REQUIRE(step.gemm_forms_decided());
      int64_t before = allocations.load();
      for (int i = 0; i < 20; ++i) step.run();
      int64_t per_step = (allocations.load() - before) / 20;
      // The same GEMMs, alone, on the step's own buffers (a separate form's into a gradient
      // buffer of this test's).
      std::vector<std::byte> scratch(1 << 20);
      std::vector<float> gradient(1 << 16);
      const graph::Graph& compiled = step.graph();
      auto plan_of = [&](int i) {
        return step.gemm_form(i) == graph::GemmForm::Separate ? step.separate_plan(i) : step.gemm_plan(i);
      };
      for (size_t i = 0; i < compiled.nodes.size(); ++i)
        if (const auto* plan = plan_of(static_cast<int>(i))) {
          REQUIRE(plan->scratchpad_bytes() <= scratch.size());
          REQUIRE(plan->spec().m * plan->spec().n <= static_cast<int64_t>(gradient.size()));
        }
      before = allocations.load();  // doctest's own reporting allocates: no assertion until the count is taken
      int gemms = 0;
      for (size_t i = 0; i < compiled.nodes.size(); ++i) {
        const auto* plan = plan_of(static_cast<int>(i));
        if (!plan) continue;
        const graph::Node& n = compiled.nodes[i];
        float* out = step.gemm_form(static_cast<int>(i)) == graph::GemmForm::Separate
                         ? gradient.data()
                         : const_cast<float*>(step.data(n.outputs[0]));
        plan->run(step.data(n.inputs[0]), step.data(n.inputs[1]), out, plan->spec().bias ? step.data(n.inputs[2]) : nullptr,
                  scratch.data(), plan->spec().accumulate ? -0.f : 1.f);
        ++gemms;
      }
      int64_t gemms_alone = allocations.load() - before;
      CHECK(gemms == 8);  // three forward, three weight gradients, two input gradients
      CHECK(per_step == gemms_alone);
      MESSAGE("allocations per step: ", per_step, ", made inside oneDNN by its ", gemms, " GEMMs alone: ", gemms_alone);
    }
}
