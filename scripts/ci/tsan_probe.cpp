// A program without a data race, run under ThreadSanitizer by scripts/ci/tsan.sh: the main
// thread fills a vector, TBB tasks read it, and the main thread reads their results after
// wait(). TSan sees ordering only through instrumented code; Debian's libtbb is not
// instrumented, so TSan misses TBB's internal hand-over of tasks and reports races here. While
// it does, TSan reports on the graph executor (TBB tasks throughout) would be noise.
// Exit status 2: no task ran on a worker thread, so the probe proved nothing.
#include <tbb/task_group.h>

#include <atomic>
#include <cstdio>
#include <thread>
#include <vector>

int main() {
  const std::thread::id main_thread = std::this_thread::get_id();
  std::vector<int> data(1000, 1);
  std::vector<long> sums(8, 0);
  // Relaxed on purpose: TSan takes no ordering from relaxed atomics, so the only ordering
  // between the threads is the one TBB provides.
  std::atomic<bool> worker_ran{false};
  long total = 0;
  // Enough rounds that a worker thread, awake between rounds, takes tasks straight from the
  // pool (with few rounds the main thread may run them all itself, and the probe proves nothing).
  for (int round = 0; round < 500; ++round) {
    for (int& d : data) d = round;
    tbb::task_group tasks;
    for (size_t t = 0; t < sums.size(); ++t)
      tasks.run([&, t] {
        if (std::this_thread::get_id() != main_thread) worker_ran.store(true, std::memory_order_relaxed);
        long s = 0;
        for (int x : data) s += x;
        sums[t] = s;
      });
    tasks.wait();
    for (long s : sums) total += s;
  }
  std::printf("tsan probe: total %ld, a worker thread ran tasks: %s\n", total, worker_ran ? "yes" : "no");
  return worker_ran ? 0 : 2;
}
