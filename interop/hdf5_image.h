// HDF5 files held in memory, through HDF5's C library with its core (in-memory) driver: a
// .keras archive carries its weights as the HDF5 file model.weights.h5, read from and written
// into the zip without touching the disk.
//
//   interop::Hdf5Reader weights(zip.read("model.weights.h5", limit), "model.weights.h5");
//   ad::Tensor kernel = weights.read_floats("layers/dense/vars/0", {784, 300});
//   interop::Hdf5Writer out;
//   out.write_floats("layers/dense/vars/0", kernel);
//   std::string bytes = out.finish();
//
// Debian's HDF5 is the serial build: use these from one thread at a time.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "tapegrad/autodiff/tensor.h"

namespace interop {

class Hdf5Reader {
 public:
  // Opens the file image `bytes` (copied); `label` names it in errors. Throws when the bytes
  // are not an HDF5 file.
  Hdf5Reader(const std::string& bytes, std::string label);
  ~Hdf5Reader();
  Hdf5Reader(const Hdf5Reader&) = delete;
  Hdf5Reader& operator=(const Hdf5Reader&) = delete;

  // Whether every component of the slash-separated `path` exists.
  bool contains(const std::string& path) const;
  // The names of the members of group `path`, sorted.
  std::vector<std::string> members(const std::string& path) const;
  // The float dataset at `path` as float32, which must have exactly the shape `expected`.
  // Throws naming the file and path when it is missing, not a dataset, of another shape, not a
  // 32- or 64-bit float, or holds less stored data than its shape needs (beyond 100 times
  // compression): nothing is allocated before these checks pass.
  ad::Tensor read_floats(const std::string& path, const ad::Shape& expected) const;

 private:
  std::string label_;
  int64_t file_ = -1;  // an hid_t
};

class Hdf5Writer {
 public:
  Hdf5Writer();
  ~Hdf5Writer();
  Hdf5Writer(const Hdf5Writer&) = delete;
  Hdf5Writer& operator=(const Hdf5Writer&) = delete;

  // Creates group `path` (and its parents) with a string attribute name = `name`, as Keras
  // marks each layer's "vars" group.
  void group(const std::string& path, const std::string& name);
  // A float32 dataset of the tensor's shape at `path`, in an existing group.
  void write_floats(const std::string& path, const ad::Tensor& values);
  // The file's bytes; the writer is spent afterwards.
  std::string finish();

 private:
  int64_t file_ = -1;  // an hid_t
};

}  // namespace interop
