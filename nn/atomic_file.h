/// @file
/// Files written so that readers see the old contents or the new, never half of either: the
/// model saves, the CSV logger and the checkpoints all write through AtomicFile.
///
/// @code
/// nn::AtomicFile out("history.csv");
/// out.write("epoch,loss\n");
/// out.write("1,0.7\n");
/// out.commit();                                    // history.csv appears, whole
/// nn::write_file_atomically("notes.txt", "done\n");  // the same in one call
/// @endcode
#pragma once
#include <cstddef>
#include <span>
#include <string>
#include <string_view>

namespace nn {

/// A file that appears under its final name only when complete: the bytes go to a temporary
/// file in the same folder (so that the rename stays on one file system), which commit()
/// flushes, syncs and renames over the target. Destroyed without commit(), it removes the
/// temporary and leaves any old file untouched.
///
///   nn::AtomicFile out("log.csv");
///   out.write("epoch,loss\n");
///   out.commit();
class AtomicFile {
 public:
  /// Opens a temporary file beside `path`; throws ad::Error naming it when it cannot.
  explicit AtomicFile(std::string path);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  /// Appends bytes (text) to the temporary file; throws ad::Error naming the file on failure.
  /// @{
  void write(std::span<const std::byte> bytes);
  void write(std::string_view text);
  /// @}
  /// Flushes, syncs and renames the temporary over `path`; throws ad::Error naming it on failure.
  void commit();
  /// Where the bytes go until commit().
  const std::string& temporary_path() const { return temporary_; }

 private:
  void discard() noexcept;

  std::string path_;
  std::string temporary_;
  int fd_ = -1;
};

/// The whole of `contents` as the file at `path`, atomically (see AtomicFile).
void write_file_atomically(const std::string& path, std::string_view contents);

}  // namespace nn
