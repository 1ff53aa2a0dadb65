// Zip archives through libzip, as much as a .keras file needs: named entries read into memory
// with size checks, and a new archive assembled in memory so that it can be saved atomically.
//
//   interop::ZipReader zip("model.keras");
//   std::string config = zip.read("config.json", 64 << 20);   // throws when missing or larger
//   interop::ZipWriter out;
//   out.add("config.json", config);
//   nn::write_file_atomically("copy.keras", out.finish());
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

struct zip;

namespace interop {

class ZipReader {
 public:
  // Opens `path` read-only with libzip's consistency checks; throws naming the file and
  // libzip's reason when it is missing or not a zip archive.
  explicit ZipReader(std::string path);
  ~ZipReader();
  ZipReader(const ZipReader&) = delete;
  ZipReader& operator=(const ZipReader&) = delete;

  bool contains(const std::string& name) const;
  std::vector<std::string> names() const;
  // The uncompressed bytes of entry `name`. Throws naming the archive and entry when it is
  // missing, declares more than `max_bytes`, expands more than 100 times its compressed size
  // above 64 MiB (the ratio Keras' loader refuses, keras/src/saving/saving_lib.py), or is
  // corrupt.
  std::string read(const std::string& name, uint64_t max_bytes) const;

 private:
  std::string path_;
  zip* archive_ = nullptr;
};

class ZipWriter {
 public:
  ZipWriter();
  ~ZipWriter();
  ZipWriter(const ZipWriter&) = delete;
  ZipWriter& operator=(const ZipWriter&) = delete;

  // Adds an entry stored uncompressed (as Keras writes its archives).
  void add(const std::string& name, std::string bytes);
  // The finished archive's bytes; the writer is spent afterwards.
  std::string finish();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace interop
