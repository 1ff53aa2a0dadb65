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

/// How AtomicFile holds the bytes until commit().
enum class TemporaryKind {
  /// An unnamed file in the target's folder (Linux O_TMPFILE): a writer killed while writing
  /// leaves nothing behind, as the kernel frees a file without a name when its last descriptor
  /// closes. Where the file system lacks O_TMPFILE, a named one (below) is used instead.
  unnamed_if_supported,
  /// A hidden file ".TARGET.tmp-PID-N" beside the target.
  named,
};

/// A file that appears under its final name only when complete. The bytes go to a temporary file
/// in the same folder (so that the rename stays on one file system); commit() flushes and syncs
/// it, gives an unnamed one the hidden name ".TARGET.tmp-PID-N" (linkat), and renames that
/// over the target. Destroyed without commit(), it removes the temporary and leaves any old file
/// untouched.
///
/// A writer killed between the link and the rename (microseconds with an unnamed temporary, the
/// whole write with a named one) leaves its hidden file behind: every AtomicFile for the same
/// target first removes those whose writer process no longer exists (remove_stale_temporaries).
///
///   nn::AtomicFile out("log.csv");
///   out.write("epoch,loss\n");
///   out.commit();
///
/// Errors (ad::Error, naming the target and the system's reason): the folder does not exist or
/// is not writable, a write or sync fails, or the target cannot be replaced: a folder of that
/// name, or anything else that is not a regular file (a device such as /dev/null, a pipe, a
/// socket), checked when opened and again before the rename. A symbolic link is replaced by the
/// file, its target untouched.
class AtomicFile {
 public:
  /// Opens the temporary beside `path`, first removing stale ones of dead writers; throws
  /// ad::Error naming it when it cannot. Error messages start with `who`: the caller's name
  /// ("save_keras"), which the user called.
  explicit AtomicFile(std::string path, TemporaryKind kind = TemporaryKind::unnamed_if_supported,
                      const char* who = "AtomicFile");
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
  /// True while the bytes are in an unnamed file (nothing of this writer is visible in the folder).
  bool unnamed() const { return unnamed_; }
  /// The named temporary's path; empty while unnamed().
  const std::string& temporary_path() const { return temporary_; }

 private:
  void discard() noexcept;
  void open_named();
  void link_unnamed();

  std::string path_;
  const char* who_;  ///< first word of every error message
  std::string temporary_;
  int fd_ = -1;
  bool unnamed_ = false;
};

/// Removes the hidden temporaries ".TARGET.tmp-PID-N" beside `path` whose writer process
/// PID no longer exists (killed during a save); returns how many it removed. Temporaries of
/// live processes are kept: they may be saves in progress. A pid reused by an unrelated live
/// process only delays the removal to a later save.
int remove_stale_temporaries(const std::string& path);

/// The whole of `contents` as the file at `path`, atomically (see AtomicFile); error messages
/// start with `who`, the caller's name.
void write_file_atomically(const std::string& path, std::string_view contents,
                           const char* who = "write_file_atomically");

}  // namespace nn
