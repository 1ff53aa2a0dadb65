// Counts every operator new of the test executable (the whole graph_tests binary shares this
// replacement; it only counts) to show that a compiled step in steady state allocates nothing
// of its own: the only allocations left are those oneDNN's primitive execution makes inside
// itself for each GEMM call, which the same GEMMs make when run alone.
#include <doctest/doctest.h>

#include <atomic>
#include <cstdlib>
#include <new>

#include "mlp.h"

namespace {
std::atomic<int64_t> allocations{0};
}

void* operator new(size_t size) {
  ++allocations;
  if (void* p = std::malloc(size ? size : 1)) return p;
  throw std::bad_alloc();
}
void* operator new[](size_t size) { return operator new(size); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
void operator delete[](void* p, size_t) noexcept { std::free(p); }

using namespace graph_test;

TEST_CASE("a compiled training step allocates nothing beyond what its GEMMs alone allocate inside oneDNN") {
  Mlp mlp({.widths = {40, 30, 20, 10}, .batch = 16});
  for (auto mode : {graph::ExecutionMode::Serial, graph::ExecutionMode::Parallel}) {
    CAPTURE(static_cast<int>(mode));
    auto params = mlp.fresh_params();
    auto g = record(mlp, params, {.kind = graph::UpdateKind::SGD});
    graph::optimize(g);
    graph::Executor step(std::move(g), {.mode = mode});
    step.bind(graph::Role::Input, 0, mlp.x);
    step.bind(graph::Role::Target, 0, mlp.y);
    for (size_t i = 0; i < params.size(); ++i) step.bind(graph::Role::Parameter, static_cast<int>(i), params[i].value());
    for (int i = 0; i < 3; ++i) step.run();
    int64_t before = allocations.load();
    for (int i = 0; i < 20; ++i) step.run();
    int64_t per_step = (allocations.load() - before) / 20;
    // The same GEMMs, alone, on the step's own buffers.
    std::vector<std::byte> scratch(1 << 20);
    const graph::Graph& compiled = step.graph();
    for (size_t i = 0; i < compiled.nodes.size(); ++i)
      if (const auto* plan = step.gemm_plan(static_cast<int>(i))) REQUIRE(plan->scratchpad_bytes() <= scratch.size());
    before = allocations.load();  // doctest's own reporting allocates: no assertion until the count is taken
    int gemms = 0;
    for (size_t i = 0; i < compiled.nodes.size(); ++i) {
      const auto* plan = step.gemm_plan(static_cast<int>(i));
      if (!plan) continue;
      const graph::Node& n = compiled.nodes[i];
      plan->run(step.data(n.inputs[0]), step.data(n.inputs[1]), const_cast<float*>(step.data(n.outputs[0])),
                n.kind == graph::Kind::FusedDense ? step.data(n.inputs[2]) : nullptr, scratch.data(), -0.f);
      ++gemms;
    }
    int64_t gemms_alone = allocations.load() - before;
    CHECK(gemms == 8);  // three forward, three weight gradients, two input gradients
    CHECK(per_step == gemms_alone);
    MESSAGE("allocations per step: ", per_step, ", made inside oneDNN by its ", gemms, " GEMMs alone: ", gemms_alone);
  }
}
