#include "tapegrad/nn/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>

#include "tapegrad/autodiff/error.h"

namespace nn {

namespace {

std::string system_error_text() { return std::strerror(errno); }

std::atomic<uint64_t> temporary_counter{0};  // makes temporary names unique within the process

}  // namespace

AtomicFile::AtomicFile(std::string path) : path_(std::move(path)) {
  namespace fs = std::filesystem;
  const fs::path target(path_);
  TG_CHECK(!target.filename().empty(), "AtomicFile: '{}' names a folder, not a file", path_);
  // A hidden name beside the target, unique per process and call; O_EXCL refuses to reuse one
  // that exists (another writer's), and the kernel applies the umask as for any new file.
  for (int attempt = 0; attempt < 100; ++attempt) {
    fs::path candidate = target.parent_path() /
                         fmt::format(".{}.tmp-{}-{}", target.filename().string(), ::getpid(),
                                     temporary_counter.fetch_add(1));
    fd_ = ::open(candidate.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd_ >= 0) {
      temporary_ = candidate.string();
      return;
    }
    if (errno != EEXIST) break;
  }
  ad::fail("AtomicFile: cannot create a temporary file beside '{}': {}", path_,
           system_error_text());
}

AtomicFile::~AtomicFile() { discard(); }

void AtomicFile::discard() noexcept {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  if (!temporary_.empty()) ::unlink(temporary_.c_str());
  temporary_.clear();
}

void AtomicFile::write(std::span<const std::byte> bytes) {
  TG_CHECK(fd_ >= 0, "AtomicFile: '{}' is already committed or discarded", path_);
  while (!bytes.empty()) {
    ssize_t written = ::write(fd_, bytes.data(), bytes.size());
    if (written < 0 && errno == EINTR) continue;
    if (written <= 0) {
      std::string reason = system_error_text();
      discard();
      ad::fail("AtomicFile: cannot write '{}': {}", path_, reason);
    }
    bytes = bytes.subspan(static_cast<size_t>(written));
  }
}

void AtomicFile::write(std::string_view text) { write(std::as_bytes(std::span(text))); }

void AtomicFile::commit() {
  TG_CHECK(fd_ >= 0, "AtomicFile: '{}' is already committed or discarded", path_);
  // The data must be on disk before the rename makes it visible, or a crash could leave an
  // empty file under the final name.
  const bool synced = ::fsync(fd_) == 0;
  std::string reason = synced ? "" : system_error_text();
  const bool closed = ::close(fd_) == 0;
  fd_ = -1;
  if (!synced || !closed) {
    if (synced) reason = system_error_text();
    discard();
    ad::fail("AtomicFile: cannot flush '{}': {}", path_, reason);
  }
  if (::rename(temporary_.c_str(), path_.c_str()) != 0) {
    std::string reason = system_error_text();
    discard();
    ad::fail("AtomicFile: cannot rename the temporary file over '{}': {}", path_, reason);
  }
  temporary_.clear();
  // Make the rename itself durable; a folder that cannot be synced is not worth failing for.
  std::filesystem::path folder = std::filesystem::path(path_).parent_path();
  int dir = ::open(folder.empty() ? "." : folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
}

void write_file_atomically(const std::string& path, std::string_view contents) {
  AtomicFile out(path);
  out.write(contents);
  out.commit();
}

}  // namespace nn
