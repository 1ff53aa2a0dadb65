#include "tapegrad/graph/executor.h"

#include <fmt/format.h>
#include <tbb/task_arena.h>
#include <tbb/task_group.h>

#include <array>
#include <chrono>
#include <cmath>
#include <cstdlib>

#include "tapegrad/autodiff/kernels/updates.h"
#include "tapegrad/autodiff/threading.h"

namespace graph {

namespace {

std::atomic<int64_t> arena_allocations{0};

using Clock = std::chrono::steady_clock;

template <typename T>
std::unique_ptr<T[], void (*)(void*)> aligned_array(int64_t bytes) {
  ++arena_allocations;
  size_t rounded = static_cast<size_t>((std::max<int64_t>(bytes, 1) + 63) / 64 * 64);
  return {static_cast<T*>(std::aligned_alloc(64, rounded)), &std::free};
}

std::optional<ad::kernels::MatmulSpec> spec_of(const Graph& g, const Node& n) {
  return gemm_spec(*n.op, n.attrs, g.values[static_cast<size_t>(n.inputs[0])].shape,
                   g.values[static_cast<size_t>(n.outputs[0])].shape);
}

constexpr size_t kStackViews = 8;

int64_t round_up(int64_t n, int64_t to) { return (n + to - 1) / to * to; }

std::string shape_with_transpose(const Shape& s, bool transposed) {
  return ad::to_string(s) + (transposed ? "ᵀ" : "");
}

}  // namespace

int64_t arena_allocation_count() { return arena_allocations.load(); }

Executor::Executor(Graph graph, ExecutorOptions options) : graph_(std::move(graph)), options_(options) {
  graph_.compact();
  order_in_place_writes(graph_);
  // A step whose loss is not finite must leave parameters and slots as they were (as an eager
  // step does): every in-place write waits for the loss, and is skipped when it is NaN or Inf.
  loss_node_ = graph_.loss >= 0 ? graph_.values[static_cast<size_t>(graph_.loss)].producer : -1;
  writes_leaf_.assign(graph_.nodes.size(), false);
  for (size_t i = 0; i < graph_.nodes.size(); ++i) {
    Node& n = graph_.nodes[i];
    for (int out : n.outputs)
      if (graph_.values[static_cast<size_t>(out)].role != Role::Temporary) writes_leaf_[i] = true;
    if (writes_leaf_[i] && loss_node_ >= 0 && loss_node_ != static_cast<int>(i)) n.after.push_back(loss_node_);
  }
  schedule_ = schedule(graph_);
  std::vector<int> keep = {graph_.loss, graph_.prediction};
  keep.insert(keep.end(), graph_.gradients.begin(), graph_.gradients.end());
  plan_ = plan_buffers(graph_, schedule_, keep);
  kept_.assign(graph_.values.size(), false);
  for (int v : keep)
    if (v >= 0) kept_[static_cast<size_t>(v)] = true;
  size_t count = graph_.nodes.size();
  gemms_.resize(count);
  scratch_offsets_.assign(count, 0);
  form_of_node_.assign(count, -1);
  GemmForm forced = options_.sgd_gemm_form;
  for (size_t i = 0; i < count; ++i) {
    const Node& n = graph_.nodes[i];
    auto spec = spec_of(graph_, n);
    if (!spec) {
      TG_CHECK(n.op->forward, "Executor: node {} ({}) has no kernel", i, n.name());
      continue;
    }
    gemms_[i].emplace(*spec);
    size_t scratch = gemms_[i]->scratchpad_bytes();
    if (n.is(ops::matmul_sgd_update)) {
      // The separate form: the same product, plain, into a gradient buffer of its own (nodes
      // may run at once), then the update. The two forms never run at once: one scratchpad.
      FormTrial form;
      form.node = static_cast<int>(i);
      form.chosen = forced == GemmForm::Separate ? GemmForm::Separate : GemmForm::Folded;
      if (forced != GemmForm::Folded) {
        ad::kernels::MatmulSpec plain = *spec;
        plain.accumulate = false;
        plain.scale = 1.f;
        form.plain.emplace(plain);
        scratch = std::max(scratch, form.plain->scratchpad_bytes());
        form.gradient_offset = gradient_floats_;
        gradient_floats_ += round_up(spec->m * spec->n, 16);  // 64-byte aligned buffers
      }
      form_of_node_[i] = static_cast<int>(forms_.size());
      forms_.push_back(std::move(form));
    }
    // One scratchpad per GEMM node: any two of them may run at once.
    scratch_offsets_[i] = scratch_bytes_;
    scratch_bytes_ += round_up(static_cast<int64_t>(scratch), 64);
  }
  forms_decided_ = forms_.empty() || forced != GemmForm::Auto || options_.trial_runs < 1;
  // Forms are timed in the order the runs will keep: after Auto has chosen it.
  form_trials_begin_ = options_.mode == ExecutionMode::Auto ? 2 * static_cast<int64_t>(options_.trial_runs) + 1 : 1;
  // Then the row split, in the forms chosen.
  // A split runs SGD folded into its GEMMs: not when the separate form is forced.
  if (options_.row_split != RowSplitMode::Off && options_.mode != ExecutionMode::Parallel &&
      forced != GemmForm::Separate) {
    row_split_ = std::make_unique<RowSplit>(graph_, ad::num_threads());
    if (row_split_->empty()) row_split_.reset();
  }
  row_split_on_ = row_split_ && options_.row_split == RowSplitMode::On;
  row_split_decided_ = !row_split_ || options_.row_split != RowSplitMode::Auto || options_.trial_runs < 1;
  if (row_split_on_) {
    fold_split_forms();
    // Serial order from the first run: no order trials, so nothing numeric depends on timing.
    order_fixed_ = true;
    form_trials_begin_ = 1;
  }
  row_split_trials_begin_ = form_trials_begin_ + (forms_decided_ ? 0 : 2 * static_cast<int64_t>(options_.trial_runs));
  pending_ = std::make_unique<std::atomic<int>[]>(count);
  node_ns_ = std::make_unique<std::atomic<int64_t>[]>(count);
  reset_profile();
  for (size_t i = 0; i < count; ++i)
    if (schedule_.predecessors[i].empty()) roots_.push_back(static_cast<int>(i));
  pointers_.assign(graph_.values.size(), nullptr);
  bound_.resize(graph_.values.size());
  for (size_t v = 0; v < graph_.values.size(); ++v) {
    Role role = graph_.values[v].role;
    if (role == Role::Constant) pointers_[v] = graph_.values[v].data.data();
    if (role != Role::Constant && role != Role::Temporary) bindable_.push_back(static_cast<int>(v));
  }
  chosen_ = options_.mode == ExecutionMode::Parallel ? ExecutionMode::Parallel : ExecutionMode::Serial;
}

Executor::~Executor() = default;

void Executor::bind(Role role, int index, Tensor t) {
  bool any = false;
  for (int i : bindable_) {
    auto v = static_cast<size_t>(i);
    const Value& val = graph_.values[v];
    if (val.role != role || val.binding != index) continue;
    TG_CHECK(t.size() == val.size(), "Executor::bind: {} {} ('{}') has shape {} but the graph was made for {}",
             role_name(role), index, val.name, ad::to_string(t.shape()), ad::to_string(val.shape));
    pointers_[v] = t.data();
    bound_[v] = t;
    any = true;
  }
  (void)any;  // a value the optimized graph no longer reads needs no binding
}

void Executor::bind_output(int v, Tensor t) {
  TG_CHECK(v >= 0 && v < static_cast<int>(graph_.values.size()) && kept_[static_cast<size_t>(v)] &&
               graph_.values[static_cast<size_t>(v)].role == Role::Temporary,
           "Executor::bind_output: value {} is not the loss, the prediction or a gradient of this graph", v);
  const Value& val = graph_.values[static_cast<size_t>(v)];
  TG_CHECK(t.size() == val.size(), "Executor::bind_output: value {} ('{}') has shape {} but the tensor has shape {}", v,
           val.name, ad::to_string(val.shape), ad::to_string(t.shape()));
  pointers_[static_cast<size_t>(v)] = t.data();
  bound_[static_cast<size_t>(v)] = std::move(t);
}

void Executor::allocate() {
  arena_ = aligned_array<float>(plan_.floats * static_cast<int64_t>(sizeof(float)));
  scratch_ = aligned_array<std::byte>(scratch_bytes_);
  if (gradient_floats_ > 0) gradients_ = aligned_array<float>(gradient_floats_ * static_cast<int64_t>(sizeof(float)));
  for (size_t v = 0; v < graph_.values.size(); ++v)
    if (plan_.offsets[v] >= 0 && !bound_[v].data()) pointers_[v] = arena_.get() + plan_.offsets[v];
}

void Executor::execute(int i, const RunContext& context) {
  int form = form_of_node_[static_cast<size_t>(i)];
  // A node running split is not in either form: its time says nothing of them.
  bool trial = form >= 0 && trial_form_ != GemmForm::Auto && !(row_split_now_ && row_split_->covers(i));
  if (!options_.profile && !trial) return execute_node(i, context);
  auto start = Clock::now();
  execute_node(i, context);
  int64_t ns = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start).count();
  if (options_.profile) node_ns_[static_cast<size_t>(i)] += ns;
  // A skipped update (the loss was not finite) took no time: it says nothing of its form. Each
  // node writes only its own entry, so concurrent nodes need no lock.
  if (trial && !skip_updates_.load(std::memory_order_relaxed)) {
    double& best = forms_[static_cast<size_t>(form)].best_seconds[trial_form_ == GemmForm::Separate ? 1 : 0];
    best = std::min(best, static_cast<double>(ns) * 1e-9);
  }
}

double Executor::gemm_seconds() const {
  double total = 0;
  for (size_t i = 0; i < gemms_.size(); ++i)
    if (gemms_[i]) total += node_seconds(static_cast<int>(i));
  return total;
}

void Executor::reset_profile() {
  for (size_t i = 0; i < graph_.nodes.size(); ++i) node_ns_[i] = 0;
}

void Executor::execute_node(int i, const RunContext& context) {
  const Node& n = graph_.nodes[static_cast<size_t>(i)];
  if (writes_leaf_[static_cast<size_t>(i)] && skip_updates_.load(std::memory_order_relaxed)) return;
  if (row_split_now_ && !concurrent_ && row_split_->covers(i)) return row_split_->run(i, pointers_, context);
  auto& gemm = gemms_[static_cast<size_t>(i)];
  if (!gemm) {
    run_kernel(n, context);
    if (i == loss_node_ && !std::isfinite(pointers_[static_cast<size_t>(graph_.loss)][0]))
      skip_updates_.store(true, std::memory_order_relaxed);
    return;
  }
  if (int form = form_of_node_[static_cast<size_t>(i)]; form >= 0) {
    GemmForm now = trial_form_ != GemmForm::Auto ? trial_form_ : forms_[static_cast<size_t>(form)].chosen;
    if (now == GemmForm::Separate) return run_separate(i, context);
  }
  auto ptr = [&](int v) { return pointers_[static_cast<size_t>(v)]; };
  const ad::kernels::MatmulSpec& spec = gemm->spec();
  float scale = spec.accumulate ? spec.scale * context.learning_rate : spec.scale;  // folded SGD: -lr
  const float* bias = spec.bias ? ptr(n.inputs[2]) : nullptr;
  void* scratch = scratch_.get() + scratch_offsets_[static_cast<size_t>(i)];
  auto gemm_call = [&] { gemm->run(ptr(n.inputs[0]), ptr(n.inputs[1]), ptr(n.outputs[0]), bias, scratch, scale); };
  if (concurrent_) {
    // A thread waiting inside oneDNN's loop would otherwise steal another node's task and
    // enter this thread's oneDNN stream a second time.
    tbb::this_task_arena::isolate(gemm_call);
  } else {
    gemm_call();
  }
}

// matmul_sgd_update's separate form: g = op(a)·op(b) into the node's gradient buffer, then
// W -= lr·g, the same W - lr·op(a)·op(b) as the folded GEMM up to rounding.
void Executor::run_separate(int i, const RunContext& context) {
  const Node& n = graph_.nodes[static_cast<size_t>(i)];
  const FormTrial& form = forms_[static_cast<size_t>(form_of_node_[static_cast<size_t>(i)])];
  float* w = pointers_[static_cast<size_t>(n.outputs[0])];
  float* g = gradients_.get() + form.gradient_offset;
  void* scratch = scratch_.get() + scratch_offsets_[static_cast<size_t>(i)];
  auto separate = [&] {
    form.plain->run(pointers_[static_cast<size_t>(n.inputs[0])], pointers_[static_cast<size_t>(n.inputs[1])], g, nullptr,
                    scratch);
    ad::kernels::sgd_update(w, g, graph_.values[static_cast<size_t>(n.outputs[0])].size(), context.learning_rate);
  };
  if (concurrent_) {
    tbb::this_task_arena::isolate(separate);  // as for the folded GEMM (execute_node)
  } else {
    separate();
  }
}

const ad::kernels::MatmulPlan* Executor::separate_plan(int i) const {
  int form = i >= 0 && i < static_cast<int>(form_of_node_.size()) ? form_of_node_[static_cast<size_t>(i)] : -1;
  if (form < 0 || !forms_[static_cast<size_t>(form)].plain) return nullptr;
  return &*forms_[static_cast<size_t>(form)].plain;
}

GemmForm Executor::gemm_form(int i) const {
  TG_CHECK(i >= 0 && i < static_cast<int>(form_of_node_.size()), "Executor::gemm_form: no node {} (the graph has {})", i,
           form_of_node_.size());
  int form = form_of_node_[static_cast<size_t>(i)];
  return form < 0 ? GemmForm::Folded : forms_[static_cast<size_t>(form)].chosen;
}

std::string Executor::gemm_form_report() const {
  auto micros = [](double s) { return s < 1e29 ? fmt::format("{:.1f} µs", s * 1e6) : std::string("-"); };
  std::string out;
  for (const FormTrial& form : forms_) {
    const Node& n = graph_.nodes[static_cast<size_t>(form.node)];
    const auto& m = ad::attrs_as<MatmulUpdateAttrs>(n.attrs, "matmul_sgd_update");
    const Value& w = graph_.values[static_cast<size_t>(n.outputs[0])];
    std::string how;
    if (row_split_on_ && row_split_->covers(form.node)) how = " (rows split: folded, not timed)";
    else if (options_.sgd_gemm_form != GemmForm::Auto) how = " (forced)";
    else if (!forms_decided_) how = " (not decided yet)";
    else if (options_.trial_runs < 1) how = " (not timed: trial_runs < 1)";
    out += fmt::format("{} {} += -lr * {}·{}: folded {}, separate {} -> {}{}\n", w.name, ad::to_string(w.shape),
                       shape_with_transpose(graph_.values[static_cast<size_t>(n.inputs[0])].shape, m.trans_a),
                       shape_with_transpose(graph_.values[static_cast<size_t>(n.inputs[1])].shape, m.trans_b),
                       micros(form.best_seconds[0]), micros(form.best_seconds[1]),
                       form.chosen == GemmForm::Separate ? "separate" : "folded", how);
  }
  return out;
}

std::string Executor::row_split_report() const {
  if (!row_split_) return {};
  auto millis = [](double s) { return s < 1e29 ? fmt::format("{:.3f} ms", s * 1e3) : std::string("-"); };
  std::string how = options_.row_split == RowSplitMode::On ? " (on: the default, chosen by no timing)"
                    : !row_split_decided_                     ? " (not decided yet)"
                    : options_.trial_runs < 1                 ? " (not timed: trial_runs < 1)"
                                                              : "";
  return row_split_->report() + fmt::format("step with the rows split {}, without {} -> {}{}\n", millis(row_split_best_[1]),
                                            millis(row_split_best_[0]), row_split_on_ ? "split" : "whole", how);
}

// Any registered op: its kernel on Views of the planned buffers.
void Executor::run_kernel(const Node& n, const RunContext& context) {
  auto view = [&](int v) {
    const Value& val = graph_.values[static_cast<size_t>(v)];
    return ad::View{pointers_[static_cast<size_t>(v)], &val.shape, val.size()};
  };
  std::array<ad::View, kStackViews> in_stack, out_stack;
  std::vector<ad::View> in_heap, out_heap;
  std::span<ad::View> in, out;
  if (n.inputs.size() <= kStackViews) {
    in = std::span(in_stack.data(), n.inputs.size());
  } else {
    in_heap.resize(n.inputs.size());
    in = in_heap;
  }
  if (n.outputs.size() <= kStackViews) {
    out = std::span(out_stack.data(), n.outputs.size());
  } else {
    out_heap.resize(n.outputs.size());
    out = out_heap;
  }
  for (size_t k = 0; k < n.inputs.size(); ++k) in[k] = view(n.inputs[k]);
  for (size_t k = 0; k < n.outputs.size(); ++k) out[k] = view(n.outputs[k]);
  n.op->forward({in, out, n.attrs, context});
}

void Executor::run_serial(const RunContext& context) {
  for (size_t i = 0; i < graph_.nodes.size(); ++i) execute(static_cast<int>(i), context);
}

// A task runs a node, then the first of its successors that became ready, and hands the
// others to new tasks: a chain of dependent nodes stays on one thread.
struct Executor::Chain {
  Executor& e;
  tbb::task_group& tasks;
  const RunContext& context;
  void operator()(int i) const {
    while (i >= 0) {
      e.execute(i, context);
      int next = -1;
      for (int s : e.schedule_.successors[static_cast<size_t>(i)]) {
        if (e.pending_[static_cast<size_t>(s)].fetch_sub(1, std::memory_order_acq_rel) != 1) continue;
        if (next < 0) {
          next = s;
        } else {
          Chain chain = *this;
          tasks.run([chain, s] { chain(s); });
        }
      }
      i = next;
    }
  }
};

void Executor::run_parallel(const RunContext& context) {
  for (size_t i = 0; i < graph_.nodes.size(); ++i)
    pending_[i].store(static_cast<int>(schedule_.predecessors[i].size()), std::memory_order_relaxed);
  tbb::task_group tasks;
  Chain chain{*this, tasks, context};
  concurrent_ = true;
  for (int r : roots_) tasks.run([chain, r] { chain(r); });
  try {
    tasks.wait();
  } catch (...) {
    concurrent_ = false;
    throw;
  }
  concurrent_ = false;
}

void Executor::run(const RunContext& context) {
  for (int i : bindable_) {
    const Value& val = graph_.values[static_cast<size_t>(i)];
    TG_CHECK(pointers_[static_cast<size_t>(i)] || val.size() == 0, "Executor::run: {} {} ('{}') was never bound",
             role_name(val.role), val.binding, val.name);
  }
  if (!arena_) allocate();
  skip_updates_.store(false, std::memory_order_relaxed);
  ExecutionMode mode = chosen_;
  int trials = options_.trial_runs;
  bool timing = options_.mode == ExecutionMode::Auto && !order_fixed_ && runs_ >= 1 && runs_ <= 2 * trials;
  if (timing) mode = runs_ % 2 ? ExecutionMode::Serial : ExecutionMode::Parallel;
  // The GemmForm trials: every matmul_sgd_update node in one form per run, taking turns.
  int64_t form_trial = runs_ - form_trials_begin_;
  bool form_timing = !forms_decided_ && form_trial >= 0 && form_trial < 2 * static_cast<int64_t>(trials);
  trial_form_ = form_timing ? (form_trial % 2 ? GemmForm::Separate : GemmForm::Folded) : GemmForm::Auto;
  // The row split's trials: runs take turns with and without it.
  int64_t split_trial = runs_ - row_split_trials_begin_;
  bool split_timing = !row_split_decided_ && split_trial >= 0 && split_trial < 2 * static_cast<int64_t>(trials);
  row_split_now_ = split_timing ? split_trial % 2 == 1 : row_split_on_;
  // The split runs in serial order (in parallel order the nodes already share the threads): its
  // trials compare it with the order chosen, whichever that is.
  if (row_split_now_) mode = ExecutionMode::Serial;
  auto start = Clock::now();
  // Subnormals flushed on this thread and on every task of the step (autodiff/threading.h).
  ad::run_computation([&] {
    if (mode == ExecutionMode::Parallel) {
      run_parallel(context);
    } else {
      run_serial(context);
    }
  });
  last_seconds_ = std::chrono::duration<double>(Clock::now() - start).count();
  if (timing) {
    double& best = mode == ExecutionMode::Serial ? serial_best_ : parallel_best_;
    best = std::min(best, last_seconds_);
    if (runs_ == 2 * trials) chosen_ = parallel_best_ < serial_best_ ? ExecutionMode::Parallel : ExecutionMode::Serial;
  }
  trial_form_ = GemmForm::Auto;
  if (form_timing && form_trial == 2 * static_cast<int64_t>(trials) - 1) choose_forms();
  if (split_timing) {
    // A run whose loss was not finite skipped its updates: its time says nothing.
    double& best = row_split_best_[row_split_now_ ? 1 : 0];
    if (!skip_updates_.load(std::memory_order_relaxed)) best = std::min(best, last_seconds_);
    if (split_trial == 2 * static_cast<int64_t>(trials) - 1) {
      row_split_on_ = row_split_best_[1] < row_split_best_[0];
      if (row_split_on_) {
        chosen_ = ExecutionMode::Serial;
        fold_split_forms();
      }
      row_split_decided_ = true;
    }
  }
  ++runs_;
}

// A matmul_sgd_update node that runs split runs folded: its form says so, untimed, and its
// separate form's plan and gradient buffer go.
void Executor::fold_split_forms() {
  bool any_separate = false;
  for (FormTrial& form : forms_) {
    if (row_split_->covers(form.node)) {
      form.chosen = GemmForm::Folded;
      form.plain.reset();
    }
    any_separate = any_separate || form.chosen == GemmForm::Separate;
  }
  if (!any_separate && forms_decided_) gradients_.reset();
}

void Executor::choose_forms() {
  bool any_separate = false;
  for (FormTrial& form : forms_) {
    // A node never timed (every trial's loss was NaN) keeps the folded form.
    form.chosen = form.best_seconds[1] < form.best_seconds[0] ? GemmForm::Separate : GemmForm::Folded;
    any_separate = any_separate || form.chosen == GemmForm::Separate;
    if (form.chosen == GemmForm::Folded) form.plain.reset();
  }
  if (!any_separate) gradients_.reset();
  forms_decided_ = true;
  if (row_split_on_) fold_split_forms();
}

float Executor::loss() const {
  TG_CHECK(graph_.loss >= 0 && runs_ > 0, "Executor::loss: the graph has no loss or has not run");
  return pointers_[static_cast<size_t>(graph_.loss)][0];
}

Tensor Executor::value(int v) const {
  TG_CHECK(v >= 0 && v < static_cast<int>(graph_.values.size()) && pointers_[static_cast<size_t>(v)],
           "Executor::value: value {} has no buffer (removed by a pass, or not run yet)", v);
  const Value& val = graph_.values[static_cast<size_t>(v)];
  return Tensor::from(val.shape, std::span<const float>(pointers_[static_cast<size_t>(v)], static_cast<size_t>(val.size())));
}

}  // namespace graph
