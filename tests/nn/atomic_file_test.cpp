#include "tapegrad/nn/atomic_file.h"

#include <doctest/doctest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <random>
#include <thread>

#include "tapegrad/nn/safetensors.h"
#include "tests/nn/scratch_folder.h"

using ad::Tensor;
using tests::ScratchFolder;

namespace {

// A process that has exited and been reaped: its pid names no process until the kernel reuses it.
pid_t dead_pid() {
  pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  ::waitpid(child, nullptr, 0);
  return child;
}

// Runs `save_forever` in a child process, kills it with SIGKILL after a random pause of up to
// `max_pause`, and returns its pid once reaped.
template <typename Save>
pid_t run_and_kill(Save save_forever, std::chrono::microseconds pause) {
  pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    try {
      save_forever();
    } catch (...) {
    }
    ::_exit(1);  // never reached unless a save failed: the parent then sees a file unchanged
  }
  std::this_thread::sleep_for(pause);
  ::kill(child, SIGKILL);
  int status = 0;
  ::waitpid(child, &status, 0);
  CHECK(WIFSIGNALED(status));
  return child;
}

// The folder's entries other than `target`, each checked to be a temporary of `writer`.
int leftovers_of(const ScratchFolder& folder, const std::string& target, pid_t writer) {
  int count = 0;
  for (const std::string& name : folder.entries()) {
    if (name == target) continue;
    CHECK(name.starts_with(fmt::format(".{}.tmp-{}-", target, writer)));
    ++count;
  }
  return count;
}

constexpr int kKills = 100;
constexpr int64_t kValues = 1 << 18;  // 1 MB of float32 per save: long enough to be interrupted

}  // namespace

TEST_CASE("remove_stale_temporaries removes the temporaries of dead writers of that target only") {
  ScratchFolder folder;
  const std::string path = folder.file("model.safetensors");
  const pid_t dead = dead_pid();
  const pid_t alive = ::getppid();  // the test runner's parent: alive while this test runs
  for (const std::string& name :
       {fmt::format(".model.safetensors.tmp-{}-0", dead), fmt::format(".model.safetensors.tmp-{}-7", dead),
        fmt::format(".model.safetensors.tmp-{}-0", alive), fmt::format(".other.safetensors.tmp-{}-0", dead),
        fmt::format(".model.safetensors.tmp-{}-x", dead), std::string("model.safetensors")})
    tests::write_text(folder.file(name), "x");

  CHECK(nn::remove_stale_temporaries(path) == 2);
  CHECK(folder.entries() == std::vector<std::string>{fmt::format(".model.safetensors.tmp-{}-0", alive),
                                                     fmt::format(".model.safetensors.tmp-{}-x", dead),
                                                     fmt::format(".other.safetensors.tmp-{}-0", dead),
                                                     "model.safetensors"});
  SUBCASE("the next save of the target removes them too") {
    tests::write_text(folder.file(fmt::format(".model.safetensors.tmp-{}-3", dead)), "x");
    nn::save_safetensors(path, {{"w", Tensor::ones({2})}});
    CHECK(folder.entries().size() == 4);
    CHECK(nn::load_safetensors(path).tensor("w").size() == 2);
  }
}

TEST_CASE("a save killed at random moments leaves the old or the new file whole, and no temporaries") {
  ScratchFolder folder;
  const std::string target = "model.safetensors";
  const std::string path = folder.file(target);
  nn::save_safetensors(path, {{"w", Tensor::zeros({kValues})}});
  std::mt19937 random(20261130);
  std::uniform_int_distribution<int> pause_us(0, 20'000);

  SUBCASE("unnamed temporaries (named ones where the file system lacks O_TMPFILE)") {
    const bool unnamed = nn::AtomicFile(folder.file("probe")).unnamed();
    int leftovers = 0, saved_by_the_killed_writer = 0;
    for (int kill = 0; kill < kKills; ++kill) {
      const pid_t writer = run_and_kill(
          [&] {
            for (int round = 1;; ++round)
              nn::save_safetensors(path, {{"w", Tensor::full({kValues}, static_cast<float>(round))}},
                                   {{"round", std::to_string(round)}, {"writer", std::to_string(::getpid())}});
          },
          std::chrono::microseconds(pause_us(random)));
      // Whole: every value is the round the metadata names.
      const nn::SafetensorsFile file = nn::load_safetensors(path);
      const Tensor w = file.tensor("w");
      REQUIRE(w.size() == kValues);
      const float round = file.metadata.contains("round") ? std::stof(file.metadata.at("round")) : 0.f;
      CHECK(std::all_of(w.values().begin(), w.values().end(), [&](float v) { return v == round; }));
      saved_by_the_killed_writer += file.metadata.contains("writer") && file.metadata.at("writer") == std::to_string(writer);
      const int left = leftovers_of(folder, target, writer);
      leftovers += left;
      // The next save of the target (here: this cleanup, which every save runs first).
      CHECK(nn::remove_stale_temporaries(path) == left);
      CHECK(folder.entries() == std::vector<std::string>{target});
    }
    MESSAGE(fmt::format("{} kills, {} after the killed writer completed a save, {} left a named temporary ({})",
                        kKills, saved_by_the_killed_writer, leftovers, unnamed ? "O_TMPFILE" : "named fallback"));
    CHECK(saved_by_the_killed_writer > 0);
    // Unnamed: only a kill between linkat and rename (microseconds) leaves a named file.
    if (unnamed) CHECK(leftovers <= kKills / 10);
  }
  SUBCASE("named temporaries") {
    int leftovers = 0;
    const std::string log = "log.txt";
    const size_t bytes = 1 << 20;
    tests::write_text(folder.file(log), std::string(bytes, 'a'));
    std::filesystem::remove(path);
    for (int kill = 0; kill < kKills; ++kill) {
      const pid_t writer = run_and_kill(
          [&] {
            const std::string chunk(1 << 16, 'b');
            for (int round = 0;; ++round) {
              nn::AtomicFile out(folder.file(log), nn::TemporaryKind::named);
              for (size_t written = 0; written < bytes; written += chunk.size())
                out.write(std::string(chunk.size(), static_cast<char>('a' + round % 26)));
              out.commit();
            }
          },
          std::chrono::microseconds(pause_us(random)));
      const std::string text = tests::read_text(folder.file(log));
      REQUIRE(text.size() == bytes);
      CHECK(text.find_first_not_of(text[0]) == std::string::npos);
      const int left = leftovers_of(folder, log, writer);
      leftovers += left;
      CHECK(nn::remove_stale_temporaries(folder.file(log)) == left);
      CHECK(folder.entries() == std::vector<std::string>{log});
    }
    MESSAGE(fmt::format("{} kills, {} left a named temporary, all removed", kKills, leftovers));
    // Killed mid-write, a named temporary stays: this shows the kills land during writes.
    CHECK(leftovers > 0);
  }
}

// A FIFO stands in for a device such as /dev/null: renaming the temporary over it would put a
// regular file in its place. A symbolic link is replaced as a link; what it points to stays.
TEST_CASE("a save refuses to replace what is not a regular file, and replaces a symbolic link, not its target") {
  ScratchFolder folder;
  const std::string fifo = folder.file("pipe");
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  CHECK_THROWS_WITH_AS(nn::write_file_atomically(fifo, "x", "Model.save"),
                       doctest::Contains(("Model.save: '" + fifo + "' exists and is not a regular file").c_str()), ad::Error);
  CHECK(std::filesystem::is_fifo(fifo));
  CHECK(folder.entries() == std::vector<std::string>{"pipe"});  // no temporary left behind

  // The FIFO appears after the file was opened: commit() looks again before it renames.
  const std::string late = folder.file("late");
  {
    nn::AtomicFile out(late, nn::TemporaryKind::named, "CSVLogger");
    out.write("epoch\n");
    REQUIRE(::mkfifo(late.c_str(), 0600) == 0);
    CHECK_THROWS_WITH_AS(out.commit(), doctest::Contains(("CSVLogger: '" + late + "' exists and is not a regular file").c_str()),
                         ad::Error);
  }
  CHECK(std::filesystem::is_fifo(late));
  CHECK(folder.entries() == std::vector<std::string>{"late", "pipe"});  // the temporary was removed

  const std::string target = folder.file("target.txt"), link = folder.file("link.txt");
  nn::write_file_atomically(target, "old");
  std::filesystem::create_symlink(target, link);
  nn::write_file_atomically(link, "new");
  CHECK_FALSE(std::filesystem::is_symlink(link));
  CHECK(tests::read_text(link) == "new");
  CHECK(tests::read_text(target) == "old");
}
