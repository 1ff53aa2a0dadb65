#include "tapegrad/nn/atomic_file.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>

#include "tapegrad/autodiff/error.h"

namespace nn {

namespace {

namespace fs = std::filesystem;

std::string system_error_text() { return std::strerror(errno); }

std::atomic<uint64_t> temporary_counter{0};  // makes temporary names unique within the process

fs::path folder_of(const std::string& path) {
  fs::path folder = fs::path(path).parent_path();
  return folder.empty() ? fs::path(".") : folder;
}

// ".<target>.tmp-": the start of every named temporary of `path`; the pid and a counter follow.
std::string temporary_prefix(const std::string& path) {
  return fmt::format(".{}.tmp-", fs::path(path).filename().string());
}

fs::path next_temporary_name(const std::string& path) {
  return folder_of(path) / fmt::format("{}{}-{}", temporary_prefix(path), ::getpid(),
                                       temporary_counter.fetch_add(1));
}

// The writer pid of a temporary name's tail "<pid>-<n>", or 0 when the tail is not that.
pid_t writer_of(std::string_view tail) {
  auto digits = [](std::string_view s) {
    return !s.empty() && s.find_first_not_of("0123456789") == std::string_view::npos;
  };
  const size_t dash = tail.find('-');
  if (dash == std::string_view::npos || !digits(tail.substr(0, dash)) || !digits(tail.substr(dash + 1)))
    return 0;
  pid_t pid = 0;
  auto [end, error] = std::from_chars(tail.data(), tail.data() + dash, pid);
  return error == std::errc() && end == tail.data() + dash ? pid : 0;
}

// Errors of open(O_TMPFILE) that mean "not supported here" rather than "cannot write here":
// kernels before 3.11 see O_DIRECTORY and answer EISDIR; file systems without support answer
// EOPNOTSUPP (or EINVAL on some).
bool unnamed_unsupported(int error) { return error == EOPNOTSUPP || error == EISDIR || error == EINVAL; }

// A save replaces only a regular file (or a symbolic link, which the rename replaces, not what
// it points to): renaming over a device, a pipe or a socket would swap a file in for it, and
// run as root, turn /dev/null into a regular file.
void check_replaceable(const std::string& path, const char* who) {
  std::error_code error;
  const fs::file_status status = fs::symlink_status(path, error);
  if (error || !fs::exists(status) || fs::is_regular_file(status) || fs::is_symlink(status)) return;
  if (fs::is_directory(status)) ad::fail("{}: '{}' is a folder, not a file", who, path);
  ad::fail("{}: '{}' exists and is not a regular file (a device, pipe or socket): it is not replaced", who, path);
}

}  // namespace

int remove_stale_temporaries(const std::string& path) {
  const std::string prefix = temporary_prefix(path);
  std::error_code error;
  int removed = 0;
  for (fs::directory_iterator it(folder_of(path), error), end; !error && it != end; it.increment(error)) {
    const std::string name = it->path().filename().string();
    if (!name.starts_with(prefix)) continue;
    const pid_t writer = writer_of(std::string_view(name).substr(prefix.size()));
    if (writer <= 0 || writer == ::getpid()) continue;
    // ESRCH: no such process. EPERM means it exists (another user's): keep its file.
    if (::kill(writer, 0) == 0 || errno != ESRCH) continue;
    if (::unlink(it->path().c_str()) == 0) ++removed;
  }
  return removed;
}

AtomicFile::AtomicFile(std::string path, TemporaryKind kind, const char* who) : path_(std::move(path)), who_(who) {
  TG_CHECK(!fs::path(path_).filename().empty(), "{}: '{}' names a folder, not a file", who_, path_);
  check_replaceable(path_, who_);
  remove_stale_temporaries(path_);
  if (kind == TemporaryKind::unnamed_if_supported) {
    fd_ = ::open(folder_of(path_).c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, 0666);
    if (fd_ >= 0) {
      unnamed_ = true;
      return;
    }
    if (!unnamed_unsupported(errno))
      ad::fail("{}: cannot create a temporary file beside '{}': {}", who_, path_, system_error_text());
  }
  open_named();
}

void AtomicFile::open_named() {
  // Unique per process and call; O_EXCL refuses to reuse a name that exists (another writer's),
  // and the kernel applies the umask as for any new file.
  for (int attempt = 0; attempt < 100; ++attempt) {
    fs::path candidate = next_temporary_name(path_);
    fd_ = ::open(candidate.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd_ >= 0) {
      temporary_ = candidate.string();
      return;
    }
    if (errno != EEXIST) break;
  }
  ad::fail("{}: cannot create a temporary file beside '{}': {}", who_, path_, system_error_text());
}

// Gives the unnamed file its hidden temporary name, so that rename() can put it over the target
// (linkat cannot replace an existing file). The /proc form needs no privilege; AT_EMPTY_PATH
// serves where /proc is not mounted but needs CAP_DAC_READ_SEARCH.
void AtomicFile::link_unnamed() {
  const std::string self = fmt::format("/proc/self/fd/{}", fd_);
  for (int attempt = 0; attempt < 100; ++attempt) {
    fs::path candidate = next_temporary_name(path_);
    int linked = ::linkat(AT_FDCWD, self.c_str(), AT_FDCWD, candidate.c_str(), AT_SYMLINK_FOLLOW);
    if (linked != 0 && errno == ENOENT) linked = ::linkat(fd_, "", AT_FDCWD, candidate.c_str(), AT_EMPTY_PATH);
    if (linked == 0) {
      temporary_ = candidate.string();
      unnamed_ = false;
      return;
    }
    if (errno != EEXIST) break;
  }
  std::string reason = system_error_text();
  discard();
  ad::fail("{}: cannot give the temporary file of '{}' a name: {}", who_, path_, reason);
}

AtomicFile::~AtomicFile() { discard(); }

void AtomicFile::discard() noexcept {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  if (!temporary_.empty()) ::unlink(temporary_.c_str());
  temporary_.clear();
  unnamed_ = false;
}

void AtomicFile::write(std::span<const std::byte> bytes) {
  TG_CHECK(fd_ >= 0, "{}: '{}' is already committed or discarded", who_, path_);
  while (!bytes.empty()) {
    ssize_t written = ::write(fd_, bytes.data(), bytes.size());
    if (written < 0 && errno == EINTR) continue;
    if (written <= 0) {
      std::string reason = system_error_text();
      discard();
      ad::fail("{}: cannot write '{}': {}", who_, path_, reason);
    }
    bytes = bytes.subspan(static_cast<size_t>(written));
  }
}

void AtomicFile::write(std::string_view text) { write(std::as_bytes(std::span(text))); }

void AtomicFile::commit() {
  TG_CHECK(fd_ >= 0, "{}: '{}' is already committed or discarded", who_, path_);
  // The data must be on disk before the rename makes it visible, or a crash could leave an
  // empty file under the final name.
  if (::fsync(fd_) != 0) {
    std::string reason = system_error_text();
    discard();
    ad::fail("{}: cannot flush '{}': {}", who_, path_, reason);
  }
  if (unnamed_) link_unnamed();
  const bool closed = ::close(fd_) == 0;
  fd_ = -1;
  if (!closed) {
    std::string reason = system_error_text();
    discard();
    ad::fail("{}: cannot flush '{}': {}", who_, path_, reason);
  }
  try {
    check_replaceable(path_, who_);  // again: something may have appeared there since
  } catch (...) {
    discard();
    throw;
  }
  if (::rename(temporary_.c_str(), path_.c_str()) != 0) {
    std::string reason = system_error_text();
    discard();
    ad::fail("{}: cannot rename the temporary file over '{}': {}", who_, path_, reason);
  }
  temporary_.clear();
  // Make the rename itself durable; a folder that cannot be synced is not worth failing for.
  int dir = ::open(folder_of(path_).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
}

void write_file_atomically(const std::string& path, std::string_view contents, const char* who) {
  AtomicFile out(path, TemporaryKind::unnamed_if_supported, who);
  out.write(contents);
  out.commit();
}

}  // namespace nn
