/// @file
/// ByteSource: one file read front to back as a stream of bytes, whether it is stored plain or
/// gzip-compressed (recognised by its content, not its name). The IDX reader uses it so that it
/// can check a header before allocating anything, then read the data straight into its buffer.
///
/// @code
/// datasets::ByteSource in("train-images-idx3-ubyte.gz", "load_idx");
/// std::array<uint8_t, 16> header;
/// size_t got = in.read(header);          // fewer than asked only at the end of the data
/// uint64_t rest = in.skip_rest(1 << 30); // counts what is left (the decompressed length for gz)
/// @endcode
///
/// Damaged gzip data (a truncated stream, a bad checksum, garbage after the stream) throws
/// ad::Error naming the caller and the file (`load_idx: <path>: ...`); a missing or unreadable
/// file does too.
#pragma once
#include <fmt/format.h>

#include <cstdint>
#include <cstdio>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace datasets {

/// A file read once, front to back, decompressing gzip on the fly; not copyable.
class ByteSource {
 public:
  /// `who` starts every error message: the function the user called.
  explicit ByteSource(std::string path, std::string who = "ByteSource");
  ~ByteSource();
  ByteSource(const ByteSource&) = delete;
  ByteSource& operator=(const ByteSource&) = delete;

  /// Fills `out` as far as the data goes; returns the count read (less than out.size() only at
  /// the end of the data).
  size_t read(std::span<uint8_t> out);
  /// Reads and discards the rest, returning how many bytes it held; stops counting once more
  /// than `limit` are found (returns limit + 1) so that a gzip bomb cannot keep it busy.
  uint64_t skip_rest(uint64_t limit);

  /// Whether the file is gzip data (its first bytes are the gzip magic 1f 8b).
  bool compressed() const { return gzip_ != nullptr; }
  /// Bytes of (decompressed) data delivered so far.
  uint64_t position() const { return position_; }
  /// Size of the stored file, compressed or not.
  uint64_t file_size() const { return file_size_; }
  /// The file's path as given.
  const std::string& path() const { return path_; }

 private:
  struct Gzip;
  size_t read_plain(std::span<uint8_t> out);
  size_t read_gzip(std::span<uint8_t> out);
  bool refill_input();

  template <typename... Args>
  [[noreturn]] void fail(fmt::format_string<Args...> format, Args&&... args) const;

  std::string path_;
  std::string who_;
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file_;
  std::unique_ptr<Gzip> gzip_;
  uint64_t file_size_ = 0;
  uint64_t position_ = 0;
};

}  // namespace datasets
