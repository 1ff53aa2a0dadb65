// The cost of the autodiff engine itself, apart from the arithmetic: for tensors this small
// the time of recording an op, running its forward and its backward IS the overhead.
//
//   bench_engine_overhead                 # XOR steps per second and per-op times
//   bench_engine_overhead --chain 2000 --repeats 15 --threads 1
//
// (a) trains the 2-2-1 XOR network (tanh hidden layer, sigmoid output, MSE, batch 4) with the
//     raw tape API and reports steps per second;
// (b) runs chains of one op on small tensors (record + forward, then backward) and reports
//     microseconds per op: the median over the repeats.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "tapegrad/autodiff/kernels/matmul.h"
#include "tapegrad/autodiff/ops.h"
#include "tapegrad/autodiff/threading.h"

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

struct XorResult {
  double steps_per_second = 0;
  size_t ops_per_step = 0;
  float final_loss = 0;
};

XorResult train_xor(int steps, int repeats) {
  ad::Tensor x = ad::Tensor::from({4, 2}, {0, 0, 0, 1, 1, 0, 1, 1});
  ad::Tensor y = ad::Tensor::from({4, 1}, {0, 1, 1, 0});
  XorResult result;
  std::vector<double> rates;
  for (int r = 0; r < repeats; ++r) {
    ad::Rng rng(7);
    ad::Var w1 = ad::param(ad::Tensor::uniform({2, 2}, -1, 1, rng)), b1 = ad::param(ad::Tensor::zeros({2}));
    ad::Var w2 = ad::param(ad::Tensor::uniform({2, 1}, -1, 1, rng)), b2 = ad::param(ad::Tensor::zeros({1}));
    std::vector<ad::Var*> params = {&w1, &b1, &w2, &b2};
    ad::Var input = ad::constant(x), target = ad::constant(y);
    ad::Tape tape;
    auto start = Clock::now();
    for (int step = 0; step < steps; ++step) {
      ad::Var hidden = ad::tanh(ad::matmul(input, w1) + b1);
      ad::Var output = ad::sigmoid(ad::matmul(hidden, w2) + b2);
      ad::Var loss = ad::mse_loss(output, target);
      loss.backward();
      {
        ad::NoGrad no_grad;
        for (ad::Var* p : params) {
          float* v = p->value().data();
          const float* g = p->grad().data();
          for (int64_t i = 0; i < p->size(); ++i) v[i] -= 0.5f * g[i];
          p->zero_grad();
        }
      }
      result.ops_per_step = tape.size();
      result.final_loss = loss.item();
      tape.clear();
    }
    rates.push_back(steps / seconds_since(start));
  }
  result.steps_per_second = median(rates);
  return result;
}

struct ChainCase {
  std::string name;
  ad::Shape shape;
  // One op of the chain: the next value from the previous one and a constant of the same shape.
  std::function<ad::Var(const ad::Var&, const ad::Var&)> op;
  float constant = 1.f;  // the constant's values lie within 1% of this (keeps long chains finite)
};

struct ChainTimes {
  double forward_us = 0, backward_us = 0, best_total_us = 0, no_tape_us = 0;
};

ChainTimes time_chain(const ChainCase& c, int chain, int repeats) {
  ad::Rng rng(1);
  ad::Var x = ad::param(ad::Tensor::uniform(c.shape, 0.5f, 1.f, rng));
  ad::Var other = ad::constant(ad::Tensor::uniform(c.shape, 0.99f * c.constant, 1.01f * c.constant, rng));
  std::vector<double> forward, backward, total, no_tape;
  ad::Tape tape;
  for (int r = 0; r < repeats + 1; ++r) {  // the first round warms caches up and is dropped
    auto start = Clock::now();
    ad::Var y = x;
    for (int i = 0; i < chain; ++i) y = c.op(y, other);
    ad::Var loss = ad::sum(y);
    double f = seconds_since(start);
    start = Clock::now();
    loss.backward();
    double b = seconds_since(start);
    x.zero_grad();
    tape.clear();
    start = Clock::now();
    {
      ad::NoGrad no_grad;
      ad::Var z = x;
      for (int i = 0; i < chain; ++i) z = c.op(z, other);
    }
    double n = seconds_since(start);
    if (r == 0) continue;
    forward.push_back(f);
    backward.push_back(b);
    total.push_back(f + b);
    no_tape.push_back(n);
  }
  double to_us = 1e6 / chain;
  return {median(forward) * to_us, median(backward) * to_us, *std::min_element(total.begin(), total.end()) * to_us,
          median(no_tape) * to_us};
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Measures the autodiff engine's own cost: XOR training steps per second and per-op overhead"};
  int chain = 1000, repeats = 11, xor_steps = 20000, threads = 0;
  app.add_option("--chain", chain, "ops per chain in the per-op measurement")->check(CLI::PositiveNumber);
  app.add_option("--repeats", repeats, "timed repetitions; the median is reported")->check(CLI::PositiveNumber);
  app.add_option("--xor-steps", xor_steps, "training steps per XOR repetition")->check(CLI::PositiveNumber);
  app.add_option("--threads", threads, "thread count (0: all cores)")->check(CLI::NonNegativeNumber);
  CLI11_PARSE(app, argc, argv);

  try {
    ad::set_num_threads(threads);
    fmt::print("tapegrad engine overhead\n");
    fmt::print("CPU ISA (oneDNN): {}   threads: {}\n\n", ad::kernels::cpu_isa(), ad::num_threads());

    XorResult xor_result = train_xor(xor_steps, std::max(1, repeats / 4));
    fmt::print("XOR 2-2-1 (tanh, sigmoid, MSE, batch 4), {} steps x {} repeats\n", xor_steps,
               std::max(1, repeats / 4));
    fmt::print("  {:>10.0f} steps/s   {:>6.2f} us/step   {} ops/step   {:>6.2f} us/op   final loss {:.4f}\n\n",
               xor_result.steps_per_second, 1e6 / xor_result.steps_per_second, xor_result.ops_per_step,
               1e6 / xor_result.steps_per_second / static_cast<double>(xor_result.ops_per_step),
               xor_result.final_loss);

    std::vector<ChainCase> cases = {
        {"add", {4, 4}, [](const ad::Var& y, const ad::Var& c) { return y + c; }},
        {"mul", {4, 4}, [](const ad::Var& y, const ad::Var& c) { return y * c; }},
        {"relu", {4, 4}, [](const ad::Var& y, const ad::Var&) { return ad::relu(y); }},
        {"tanh", {4, 4}, [](const ad::Var& y, const ad::Var&) { return ad::tanh(y); }},
        {"sum(axis 1, keepdims)", {4, 1}, [](const ad::Var& y, const ad::Var&) { return ad::sum(y, 1, true); }},
        {"add scalar", {4, 4}, [](const ad::Var& y, const ad::Var&) { return y + 1e-3f; }},
        {"matmul 4x4", {4, 4}, [](const ad::Var& y, const ad::Var& c) { return ad::matmul(y, c); }, 0.25f},
        {"matmul 32x32", {32, 32}, [](const ad::Var& y, const ad::Var& c) { return ad::matmul(y, c); }, 1 / 32.f},
    };
    fmt::print("per-op time, chains of {} ops, median of {} (microseconds per op)\n", chain, repeats);
    fmt::print("  {:<22} {:>7} {:>16} {:>10} {:>10} {:>11} {:>14}\n", "op", "shape", "record+forward", "backward",
               "total", "best total", "forward only");
    for (const ChainCase& c : cases) {
      ChainTimes t = time_chain(c, chain, repeats);
      fmt::print("  {:<22} {:>7} {:>16.3f} {:>10.3f} {:>10.3f} {:>11.3f} {:>14.3f}\n", c.name, ad::to_string(c.shape),
                 t.forward_us, t.backward_us, t.forward_us + t.backward_us, t.best_total_us, t.no_tape_us);
    }
    fmt::print("\n'total' is the median of record+forward plus the median of backward; 'best total' the fastest\n"
               "repetition; 'forward only' runs the same chain under NoGrad (nothing recorded).\n");
  } catch (const ad::Error& e) {
    fmt::print(stderr, "error: {}\n", e.what());
    return 1;
  }
  return 0;
}
