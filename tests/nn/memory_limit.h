// Runs a piece of work in a child process whose address space may grow only by a given amount,
// to show that a loader fed a small hostile file allocates no more than the file justifies.
//
//   std::string outcome = tests::run_with_memory_limit(64 << 20, [&] { nn::load_model(path); });
//   CHECK(outcome == "ad::Error: ...");
#pragma once
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <fstream>
#include <functional>
#include <new>
#include <string>

#include "tapegrad/autodiff/error.h"

namespace tests {

// "returned", "ad::Error: <message>", "std::bad_alloc" (the limit was hit), "other exception",
// "killed by signal <n>" or "timed out" (after `timeout`).
inline std::string run_with_memory_limit(uint64_t headroom_bytes, const std::function<void()>& work,
                                         std::chrono::seconds timeout = std::chrono::seconds(60)) {
  uint64_t pages = 0;
  std::ifstream("/proc/self/statm") >> pages;
  const uint64_t current = pages * static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
  int channel[2];
  if (::pipe(channel) != 0) return "pipe failed";
  const pid_t child = ::fork();
  if (child < 0) return "fork failed";
  if (child == 0) {
    ::close(channel[0]);
    rlimit limit{current + headroom_bytes, current + headroom_bytes};
    std::string outcome = "returned";
    if (::setrlimit(RLIMIT_AS, &limit) != 0) {
      outcome = "setrlimit failed";
    } else {
      try {
        work();
      } catch (const ad::Error& e) {
        outcome = std::string("ad::Error: ") + e.what();
      } catch (const std::bad_alloc&) {
        outcome = "std::bad_alloc";
      } catch (...) {
        outcome = "other exception";
      }
    }
    for (size_t done = 0; done < outcome.size();) {
      ssize_t n = ::write(channel[1], outcome.data() + done, outcome.size() - done);
      if (n <= 0) break;
      done += static_cast<size_t>(n);
    }
    ::_exit(0);
  }
  ::close(channel[1]);
  std::string outcome;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  bool timed_out = false;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    pollfd ready{channel[0], POLLIN, 0};
    if (left.count() <= 0 || ::poll(&ready, 1, static_cast<int>(left.count())) == 0) {
      timed_out = true;
      ::kill(child, SIGKILL);
      break;
    }
    char buffer[4096];
    ssize_t n = ::read(channel[0], buffer, sizeof buffer);
    if (n <= 0) break;
    outcome.append(buffer, static_cast<size_t>(n));
  }
  ::close(channel[0]);
  int status = 0;
  ::waitpid(child, &status, 0);
  if (timed_out) return "timed out";
  if (WIFSIGNALED(status)) return "killed by signal " + std::to_string(WTERMSIG(status));
  return outcome;
}

}  // namespace tests
