// Training-step benchmark for the Fashion MNIST model (784-300-relu-100-relu-10-softmax, SGD
// 0.01) on random data of the real size: compiled vs eager, fused vs unfused, serial vs
// concurrent, against the floor of the step's eight GEMMs alone in oneDNN and against oneDNN's
// matmul peak (a 1024^3 product), all in one run; and the compiled epoch with each optimizer
// (SGD, momentum, Nesterov, Adam, RMSprop) against plain SGD's in the same run; and a model of
// softplus layers with Huber loss and RMSprop against the GEMM floor of its own shapes.
//
//   bench_training_step --threads 2 --batches 32,256 --rounds 3 [--report] [--dot step]
//   bench_training_step --optimizers-only   (just the per-optimizer lines)
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <fstream>
#include <optional>
#include <vector>

#include "tapegrad/autodiff/kernels/matmul_plan.h"
#include "tapegrad/autodiff/threading.h"
#include "tapegrad/graph/executor.h"
#include "tapegrad/nn/compiled_step.h"
#include "tapegrad/nn/eager_step.h"
#include "tapegrad/nn/layers/all.h"
#include "tapegrad/nn/optimizers/adam.h"
#include "tapegrad/nn/optimizers/rmsprop.h"
#include "tapegrad/nn/optimizers/sgd.h"
#include "tapegrad/nn/sequential.h"

namespace {

double median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  size_t mid = values.size() / 2;
  return values.size() % 2 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
}


using ad::Tensor;
using Clock = std::chrono::steady_clock;
using ad::kernels::Activation;
using ad::kernels::MatmulPlan;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

constexpr int64_t kLayers[] = {784, 300, 100, 10};

nn::Sequential fashion_model(nn::OptimizerRef optimizer = nn::SGD(0.01)) {
  nn::Sequential m({nn::Dense(300, "relu"), nn::Dense(100, "relu"), nn::Dense(10, "softmax")});
  m.build({784}, 42);
  m.compile({.loss = "sparse_categorical_crossentropy", .optimizer = std::move(optimizer), .metrics = {"accuracy"}});
  return m;
}

// Floating-point operations of one training step: forward, weight gradients, and input
// gradients of every layer but the first.
double step_flops(int64_t batch) {
  double f = 0;
  for (int l = 0; l < 3; ++l) f += 2.0 * static_cast<double>(batch * kLayers[l] * kLayers[l + 1]) * (l == 0 ? 2 : 3);
  return f;
}

struct Runs {
  double seconds = 0;
  int64_t steps = 0;
  double per_step() const { return seconds / static_cast<double>(steps); }
};

// Runs `steps` batches of the epoch (wrapping around), after `warmup` untimed ones. With
// `full_only`, the last batch of the epoch is left out when it is smaller than the others.
Runs time_steps(nn::StepRunner& runner, const Tensor& x, const Tensor& y, int64_t batch, int64_t steps, int64_t warmup,
                bool full_only = false) {
  int64_t n = x.shape()[0], per_epoch = full_only ? std::max<int64_t>(1, n / batch) : (n + batch - 1) / batch;
  Tensor predictions;
  auto one = [&](int64_t s) {
    int64_t b = (s % per_epoch) * batch, e = std::min(n, b + batch);
    runner.train(x.rows(b, e), y.rows(b, e), predictions);
  };
  for (int64_t s = 0; s < warmup; ++s) one(s);
  auto start = Clock::now();
  for (int64_t s = 0; s < steps; ++s) one(s);
  return {seconds_since(start), steps};
}

// The eight GEMMs of a step, alone: forward with bias and activation, the two input
// gradients, and the three weight gradients folded into the weights as the compiled step does.
// Each GEMM has arrays of its own, unless `shared_weights`: then the weight-gradient GEMM of a
// layer writes the very weights its forward and input-gradient GEMMs read, as every step that
// updates its weights in place does. (On a 2-core Xeon the shared form was 1.06-1.25x slower
// at batch 32 over four runs: the two cores split the weight-gradient GEMM's output and the
// forward GEMM's reads of it differently, so each reads lines the other has just written.)
struct GemmFloor {
  std::vector<MatmulPlan> plans;
  std::vector<std::vector<float>> a, b, c, bias;
  std::vector<std::vector<std::byte>> scratch;
  std::vector<int> reads_weights, writes_weights;  // per GEMM: the layer whose weights are its b / c, or -1
  bool shared = false;

  // `hidden`: the hidden layers' activation as a GEMM post-op (None when the graph cannot fuse
  // it); `folded_update`: the weight-gradient GEMMs accumulate -lr times the gradient into the
  // weights (SGD) rather than write the gradient for an optimizer's own update.
  GemmFloor(int64_t batch, bool forward_only, bool shared_weights = false, Activation hidden = Activation::Relu,
            bool folded_update = true)
      : shared(shared_weights) {
    for (int l = 0; l < 3; ++l) {
      Activation act = l < 2 ? hidden : Activation::None;
      add({.m = batch, .k = kLayers[l], .n = kLayers[l + 1], .bias = true, .activation = act}, l, -1);
    }
    if (forward_only) return;
    for (int l = 2; l >= 0; --l) {
      if (l > 0) add({.m = batch, .k = kLayers[l + 1], .n = kLayers[l], .trans_b = true}, l, -1);
      if (folded_update)
        add({.m = kLayers[l], .k = batch, .n = kLayers[l + 1], .trans_a = true, .scale = -0.01f, .accumulate = true}, -1, l);
      else
        add({.m = kLayers[l], .k = batch, .n = kLayers[l + 1], .trans_a = true}, -1, -1);
    }
  }
  void add(const ad::kernels::MatmulSpec& s, int reads_layer, int writes_layer) {
    plans.emplace_back(s);
    a.emplace_back(static_cast<size_t>(s.m * s.k), 0.01f);
    b.emplace_back(static_cast<size_t>(s.k * s.n), 0.01f);
    c.emplace_back(static_cast<size_t>(s.m * s.n), 0.f);
    bias.emplace_back(static_cast<size_t>(s.n), 0.f);
    scratch.emplace_back(plans.back().scratchpad_bytes() + 64);
    reads_weights.push_back(reads_layer);
    writes_weights.push_back(writes_layer);
  }
  // With shared weights, layer l's weights are the b array of its forward GEMM (GEMM l).
  float* weights(int layer) { return b[static_cast<size_t>(layer)].data(); }
  void run() {
    for (size_t i = 0; i < plans.size(); ++i) {
      float* bi = shared && reads_weights[i] >= 0 ? weights(reads_weights[i]) : b[i].data();
      float* ci = shared && writes_weights[i] >= 0 ? weights(writes_weights[i]) : c[i].data();
      plans[i].run(a[i].data(), bi, ci, bias[i].data(), scratch[i].data());
    }
  }
  double seconds(int64_t reps) {
    for (int i = 0; i < 10; ++i) run();
    auto start = Clock::now();
    for (int64_t i = 0; i < reps; ++i) run();
    return seconds_since(start) / static_cast<double>(reps);
  }
};

// One streaming pass: reads R arrays, writes the first W of them back in place.
template <int R, int W>
void stream_pass(std::array<float*, 4> arrays, int64_t n) {
  ad::parallel_range(n, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) {
      float sum = 0;
      for (int r = 0; r < R; ++r) sum += arrays[static_cast<size_t>(r)][i];
      for (int w = 0; w < W; ++w) arrays[static_cast<size_t>(w)][i] = 0.25f * sum;
    }
  });
}

// The memory floor of an update pass over `n` weights that reads `reads` arrays of n floats
// (the gradient and the optimizer's state) and writes `writes` of them back in place, split
// over the cores as the update kernels are: no update can stream its bytes faster. Best of
// `reps` passes, in seconds. Takes (2, 1), (3, 2) or (4, 3), the shapes of the optimizers here.
double update_traffic_floor(int64_t n, int reads, int writes, int reps) {
  std::vector<std::vector<float>> storage(4, std::vector<float>(static_cast<size_t>(n), 0.5f));
  std::array<float*, 4> arrays{storage[0].data(), storage[1].data(), storage[2].data(), storage[3].data()};
  double best = 1e30;
  for (int r = 0; r < reps; ++r) {
    auto start = Clock::now();
    if (reads == 4 && writes == 3)
      stream_pass<4, 3>(arrays, n);
    else if (reads == 3 && writes == 2)
      stream_pass<3, 2>(arrays, n);
    else
      stream_pass<2, 1>(arrays, n);
    best = std::min(best, seconds_since(start));
  }
  return best;
}

// The compiled epoch with each optimizer (Keras' defaults), one model each from the same
// weights, in rounds that take turns; each keeps its best epoch, read against plain SGD's.
void compare_optimizers(const Tensor& x, const Tensor& y, int64_t batch, int rounds) {
  struct Entry {
    const char* name;
    nn::Sequential model;
    std::unique_ptr<nn::CompiledStep> step;
    int reads = 0, writes = 0;  // arrays of a separate update pass: gradient and state read, state written
    double best = 1e30;
  };
  Entry entries[] = {{"SGD", fashion_model(nn::SGD(0.01)), nullptr},  // folded into the GEMMs: no pass
                     // folded: the GEMM accumulates into the velocity, a pass adds it to the weights
                     {"SGD momentum 0.9", fashion_model(nn::SGD(0.01, {.momentum = 0.9})), nullptr, 2, 1},
                     {"SGD Nesterov 0.9", fashion_model(nn::SGD(0.01, {.momentum = 0.9, .nesterov = true})), nullptr, 3, 2},
                     {"Adam", fashion_model(nn::Adam()), nullptr, 4, 3},
                     {"RMSprop", fashion_model(nn::RMSprop()), nullptr, 3, 2}};
  int64_t per_epoch = (x.shape()[0] + batch - 1) / batch;
  for (Entry& e : entries) {
    e.step = std::make_unique<nn::CompiledStep>(e.model);
    time_steps(*e.step, x, y, batch, 20, 0);  // compiles, JIT-compiles and settles auto mode
  }
  for (int round = 0; round < rounds; ++round)
    for (Entry& e : entries) e.best = std::min(e.best, time_steps(*e.step, x, y, batch, per_epoch, 0).seconds);
  for (Entry& e : entries) {
    // Where a serial step's time goes: its GEMMs and its update nodes (a profiled copy).
    nn::CompiledStep profiled(e.model, {.fuse = true, .mode = 1, .profile = true});
    time_steps(profiled, x, y, batch, 1, 20, true);
    graph::Executor* ex = profiled.last_train_executor();
    double gemms = 0, updates = 0;
    if (ex) {
      ex->reset_profile();
      Runs r = time_steps(profiled, x, y, batch, 200, 0, true);
      for (size_t i = 0; i < ex->graph().nodes.size(); ++i)
        if (ex->graph().nodes[i].op->in_place && !ex->gemm_plan(static_cast<int>(i))) updates += ex->node_seconds(static_cast<int>(i));
      gemms = ex->gemm_seconds() / static_cast<double>(r.steps);
      updates /= static_cast<double>(r.steps);
    }
    double floor = e.reads ? update_traffic_floor(e.model.parameter_count(), e.reads, e.writes, 50) : 0;
    // The least this optimizer's step can cost against SGD's: SGD's step plus its update pass at
    // the memory floor (SGD's own update is folded into the GEMMs at no measurable cost).
    double sgd_step = entries[0].best / static_cast<double>(per_epoch);
    fmt::print("optimizer {:<18} batch {:<4} {:8.3f} ms/step  {:7.3f} s/epoch  {:.2f}x plain SGD (target <= 1.10x)"
               "  serial step: GEMMs {:.3f} ms, update nodes {:.3f} ms {}{}\n",
               e.name, batch, e.best / static_cast<double>(per_epoch) * 1e3, e.best, e.best / entries[0].best, gemms * 1e3,
               updates * 1e3,
               e.reads ? fmt::format("(memory floor {:.3f} ms: {} bytes a weight; SGD's step plus it: {:.2f}x)", floor * 1e3,
                                     4 * (e.reads + e.writes), (sgd_step + floor) / sgd_step)
                       : "(folded into the GEMMs)",
               e.step->supported() ? "" : "  (eager: " + e.step->reason() + ")");
  }
}

// The model of ops the compiled graph once lacked (it ran eagerly): softplus hidden
// layers, a linear output with Huber loss, and RMSprop, on the same layer sizes.
nn::Sequential other_ops_model() {
  nn::Sequential m({nn::Dense(300, "softplus"), nn::Dense(100, "softplus"), nn::Dense(10)});
  m.build({784}, 42);
  m.compile({.loss = "huber", .optimizer = nn::RMSprop()});
  return m;
}

// Its compiled epoch against the GEMM floor of its own shapes: the forward GEMMs with softplus
// as their post-op (as the graph fuses it), and weight-gradient GEMMs that write plain gradients
// (RMSprop needs the gradient itself). Rounds alternate the floor and the step.
void compare_other_ops(const Tensor& x, const Tensor& targets, int64_t batch, int rounds) {
  nn::Sequential model = other_ops_model();
  nn::CompiledStep step(model);
  time_steps(step, x, targets, batch, 20, 0);  // compiles, JIT-compiles and settles auto mode
  GemmFloor floor(batch, false, false, Activation::Softplus, false);
  int64_t per_epoch = (x.shape()[0] + batch - 1) / batch;
  double best = 1e30, floor_epoch = 1e30;
  for (int round = 0; round < rounds; ++round) {
    floor_epoch = std::min(floor_epoch, floor.seconds(per_epoch) * static_cast<double>(per_epoch));
    best = std::min(best, time_steps(step, x, targets, batch, per_epoch, 0).seconds);
  }
  fmt::print("softplus, Huber, RMSprop     batch {:<4} {:8.3f} ms/step  {:7.3f} s/epoch  own GEMM floor {:.3f} ms/step, "
             "epoch/floor {:.2f}x (target <= 1.15x){}\n",
             batch, best / static_cast<double>(per_epoch) * 1e3, best, floor_epoch / static_cast<double>(per_epoch) * 1e3,
             best / floor_epoch, step.supported() ? ", compiled" : "  (eager: " + step.reason() + ")");
}

// oneDNN's f32 matmul on a large square product: the machine's practical peak, against which
// the step's GEMM throughput is read. Best of `reps` runs.
double matmul_peak_gflops(int reps) {
  constexpr int64_t kSize = 1024;
  MatmulPlan plan({.m = kSize, .k = kSize, .n = kSize});
  std::vector<float> a(kSize * kSize, 0.01f), b(kSize * kSize, 0.01f), c(kSize * kSize);
  std::vector<std::byte> scratch(plan.scratchpad_bytes() + 64);
  plan.run(a.data(), b.data(), c.data(), nullptr, scratch.data());
  double best = 1e30;
  for (int i = 0; i < reps; ++i) {
    auto start = Clock::now();
    plan.run(a.data(), b.data(), c.data(), nullptr, scratch.data());
    best = std::min(best, seconds_since(start));
  }
  return 2.0 * kSize * kSize * kSize / best * 1e-9;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Training-step benchmark: compiled vs eager graphs of the Fashion MNIST model"};
  int threads = 0;
  std::vector<int64_t> batches = {32, 256};
  int64_t samples = 55000, eager_steps = 300;
  app.add_option("--threads", threads, "threads (0: all cores)");
  app.add_option("--batches", batches, "batch sizes")->delimiter(',');
  app.add_option("--samples", samples, "samples per epoch");
  app.add_option("--eager-steps", eager_steps, "eager steps timed (its epoch time is extrapolated)");
  int rounds = 3;
  app.add_option("--rounds", rounds, "timed rounds per variant; the best counts");
  bool report = false, optimizers_only = false;
  std::string dot;
  app.add_flag("--optimizers-only", optimizers_only, "only the per-optimizer epochs against plain SGD");
  app.add_flag("--report", report, "print the first batch size's step graph before and after the passes");
  app.add_option("--dot", dot, "write that graph as PREFIX.before.dot and PREFIX.after.dot");
  CLI11_PARSE(app, argc, argv);
  try {
    ad::set_num_threads(threads);
    fmt::print("CPU: {}, threads: {}\n", ad::kernels::cpu_isa(), ad::num_threads());
    ad::Rng rng(1);
    Tensor x = Tensor::uniform({samples, 784}, 0, 1, rng), y({samples});
    for (int64_t i = 0; i < samples; ++i) y[i] = static_cast<float>(rng.next() % 10);
    Tensor regression_targets = Tensor::uniform({samples, 10}, 0, 1, rng);  // for the Huber model
    for (int64_t batch : batches) {
      int64_t per_epoch = (samples + batch - 1) / batch;
      fmt::print("\n== batch {} ({} steps per epoch of {} samples) ==\n", batch, per_epoch, samples);
      if (optimizers_only) {
        compare_optimizers(x, y, batch, rounds);
        compare_other_ops(x, regression_targets, batch, rounds);
        continue;
      }
      nn::Sequential model = fashion_model();
      GemmFloor floor(batch, false), shared_floor(batch, false, true);
      struct Variant {
        const char* name;
        nn::CompiledStepOptions options;
        std::unique_ptr<nn::CompiledStep> step;
        double best = 1e30;
      };
      Variant variants[] = {{"compiled, fused, auto", {.fuse = true, .mode = 0}, nullptr},
                            {"compiled, fused, serial", {.fuse = true, .mode = 1}, nullptr},
                            {"compiled, fused, parallel", {.fuse = true, .mode = 2}, nullptr},
                            {"compiled, unfused, serial", {.fuse = false, .mode = 1}, nullptr}};
      for (Variant& v : variants) {
        v.step = std::make_unique<nn::CompiledStep>(model, v.options);
        time_steps(*v.step, x, y, batch, 20, 0);  // compiles, JIT-compiles and settles auto mode
      }
      // Rounds take turns so that a busy moment on a shared machine hits every variant alike;
      // each keeps its best epoch.
      double floor_epoch = 1e30, shared_floor_epoch = 1e30, eager_step = 1e30, peak = 0;
      std::vector<double> default_epochs;  // the default variant's epoch of each round
      int64_t eager_count = std::min(eager_steps, per_epoch);
      for (int round = 0; round < rounds; ++round) {
        peak = std::max(peak, matmul_peak_gflops(5));
        floor_epoch = std::min(floor_epoch, floor.seconds(per_epoch) * static_cast<double>(per_epoch));
        shared_floor_epoch = std::min(shared_floor_epoch, shared_floor.seconds(per_epoch) * static_cast<double>(per_epoch));
        for (Variant& v : variants) {
          double seconds = time_steps(*v.step, x, y, batch, per_epoch, 0).seconds;
          v.best = std::min(v.best, seconds);
          if (&v == &variants[0]) default_epochs.push_back(seconds);
        }
        nn::EagerStep eager(model);
        eager_step = std::min(eager_step, time_steps(eager, x, y, batch, eager_count, 3).per_step());
      }
      double floor_step = floor_epoch / static_cast<double>(per_epoch);
      fmt::print("oneDNN matmul peak (1024^3)                                 {:6.1f} GFLOP/s\n", peak);
      fmt::print("GEMM floor (8 GEMMs alone)     {:8.3f} ms/step  {:7.3f} s/epoch  {:6.1f} GFLOP/s  {:3.0f}% of peak\n",
                 floor_step * 1e3, floor_epoch, step_flops(batch) / floor_step * 1e-9,
                 step_flops(batch) / floor_step * 1e-9 / peak * 100);
      double shared_step = shared_floor_epoch / static_cast<double>(per_epoch);
      fmt::print("GEMM floor, weights shared     {:8.3f} ms/step  {:7.3f} s/epoch  {:6.1f} GFLOP/s  {:3.0f}% of peak  "
                 "(updated in place, read back: {:.2f}x the floor)\n",
                 shared_step * 1e3, shared_floor_epoch, step_flops(batch) / shared_step * 1e-9,
                 step_flops(batch) / shared_step * 1e-9 / peak * 100, shared_floor_epoch / floor_epoch);
      for (Variant& v : variants) {
        double per_step = v.best / static_cast<double>(per_epoch);
        graph::Executor* e = v.step->last_train_executor();
        double gflops = step_flops(batch) / per_step * 1e-9;
        fmt::print("{:<30} {:8.3f} ms/step  {:7.3f} s/epoch  {:6.1f} GFLOP/s  {:3.0f}% of peak  epoch/floor {:.2f}x{}\n",
                   v.name, per_step * 1e3, v.best, gflops, gflops / peak * 100, v.best / floor_epoch,
                   v.options.mode == 0 && e
                       ? fmt::format("  (chose {})", e->chosen_mode() == graph::ExecutionMode::Parallel ? "parallel" : "serial")
                       : "");
      }
      // The form the default variant's executor timed and kept for each weight-gradient GEMM
      // with SGD (folded into the GEMM, or a plain GEMM and the update: which wins depends on
      // the processor). The GEMM floor above always counts the folded form.
      // (The full batches' executor: an epoch's short last batch has its own, run once an epoch.)
      if (graph::Executor* e = variants[0].step->train_executor({batch, 784}); e && e->gemm_forms_decided())
        fmt::print("SGD weight-gradient GEMM forms (auto variant):\n{}", e->gemm_form_report());
      if (graph::Executor* e = variants[0].step->train_executor({batch, 784}); e && e->row_split_decided())
        fmt::print("Row-split weights (auto variant):\n{}", e->row_split_report());
      if (batch == batches.front()) {
        ad::Shape shape{batch, 784};
        if (report) fmt::print("{}", variants[0].step->describe(shape));
        if (!dot.empty()) {
          std::ofstream(dot + ".before.dot") << variants[0].step->to_dot(shape, false);
          std::ofstream(dot + ".after.dot") << variants[0].step->to_dot(shape, true);
        }
      }
      {
        // Time outside oneDNN: a serial step's wall time (the runner's whole train call) less
        // its GEMMs' time, over full batches only: the epoch's smaller last batch runs a graph
        // of its own, whose GEMMs this executor's profile does not see.
        nn::CompiledStep step(model, {.fuse = true, .mode = 1, .profile = true});
        time_steps(step, x, y, batch, 1, 20, true);
        graph::Executor* e = step.last_train_executor();
        double best = 1e30;
        std::vector<double> nodes;  // per node, from the best round
        for (int round = 0; round < rounds; ++round) {
          e->reset_profile();
          Runs r = time_steps(step, x, y, batch, 300, 0, true);
          double outside = r.per_step() - e->gemm_seconds() / static_cast<double>(r.steps);
          if (outside >= best) continue;
          best = outside;
          nodes.clear();
          for (size_t i = 0; i < e->graph().nodes.size(); ++i)
            nodes.push_back(e->node_seconds(static_cast<int>(i)) / static_cast<double>(r.steps));
        }
        fmt::print("time outside oneDNN per step   {:8.1f} us (target < 20):", best * 1e6);
        double in_nodes = 0;
        for (size_t i = 0; i < nodes.size(); ++i) {
          if (e->gemm_plan(static_cast<int>(i))) continue;
          in_nodes += nodes[i];
          fmt::print(" {} {:.1f},", e->graph().nodes[i].name(), nodes[i] * 1e6);
        }
        fmt::print(" between nodes {:.1f}\n", (best - in_nodes) * 1e6);
      }
      fmt::print("{:<30} {:8.3f} ms/step  {:7.3f} s/epoch (from {} steps)\n", "eager", eager_step * 1e3,
                 eager_step * static_cast<double>(per_epoch), eager_count);
      double fused = variants[0].best, serial = variants[1].best, parallel = variants[2].best, unfused = variants[3].best;
      fmt::print("ratios: eager/compiled {:.2f}x, unfused/fused {:.2f}x, serial/parallel {:.2f}x, compiled epoch/GEMM floor {:.2f}x "
                 "(target <= {:.2f}x), against the shared-weights floor {:.2f}x\n",
                 eager_step * static_cast<double>(per_epoch) / fused, unfused / serial, serial / parallel, fused / floor_epoch,
                 batch <= 32 ? 1.15 : 1.10, fused / shared_floor_epoch);
      // For scripts/bench.sh (format in apps/bench/peer/README.md): the median, as the peer reports.
      fmt::print("RESULT name=epoch_seconds batch={} value={:.4f}\n", batch, median(default_epochs));
      compare_optimizers(x, y, batch, rounds);
      compare_other_ops(x, regression_targets, batch, rounds);
      if (batch == batches.front()) {
        int64_t n = std::min<int64_t>(10000, samples);
        nn::CompiledStep step(model);
        Tensor images = x.rows(0, n);
        step.predict(images);
        double best = 1e30;
        std::vector<double> times;
        for (int i = 0; i < 10; ++i) {
          auto start = Clock::now();
          step.predict(images);
          times.push_back(seconds_since(start));
          best = std::min(best, times.back());
        }
        fmt::print("RESULT name=predict_ms batch={} value={:.3f}\n", n, median(times) * 1e3);
        GemmFloor forward(n, true);
        double floor_predict = forward.seconds(10);
        fmt::print("\npredict {} images in one batch: {:.2f} ms, forward GEMM floor {:.2f} ms, ratio {:.2f}x (target <= 1.2x)\n",
                   n, best * 1e3, floor_predict * 1e3, best / floor_predict);
      }
    }
  } catch (const std::exception& e) {
    fmt::print(stderr, "bench_training_step: {}\n", e.what());
    return 1;
  }
  return 0;
}
