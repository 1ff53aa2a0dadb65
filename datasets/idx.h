/// @file
/// The IDX file format of MNIST-style datasets, plain or gzip-compressed, read into compact
/// uint8 storage after every field has been checked against the file itself.
///
/// @code
/// datasets::IdxArray images = datasets::load_idx("train-images-idx3-ubyte.gz", {.rank = 3});
/// // images.shape == {60000, 28, 28}, images.data.size() == 47'040'000
/// datasets::IdxArray labels = datasets::load_idx("train-labels-idx1-ubyte.gz", {.rank = 1});
/// @endcode
///
/// An IDX file is a 4-byte magic (0, 0, type, rank), `rank` big-endian uint32 dimensions, then
/// the elements in row-major order. Only type 0x08 (unsigned byte) is read: images carry magic
/// 0x00000803, labels 0x00000801. A file that breaks any rule throws ad::Error whose message
/// starts with `load_idx: <path>:` and says what is wrong, with the numbers involved.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace datasets {

/// An n-dimensional array of bytes: shape[0] items of shape[1] x ... bytes each, row-major.
struct IdxArray {
  std::vector<int64_t> shape;  ///< the dimensions from the file's header
  std::vector<uint8_t> data;  ///< the product of shape bytes, row-major

  /// Number of items along the first axis (images or labels).
  int64_t count() const { return shape.empty() ? 0 : shape[0]; }
  /// Bytes per item: 784 for a 28x28 image, 1 for a label.
  int64_t item_size() const;
};

/// What load_idx() expects and how much it accepts before allocating.
struct IdxOptions {
  int rank = 3;                          ///< 3 for images, 1 for labels
  int64_t max_dimension = 10'000'000;    ///< no dimension may exceed this
  int64_t max_bytes = int64_t{1} << 32;  ///< nor the data as a whole (4 GiB)
};

/// Reads a uint8 IDX file of `options.rank` dimensions, plain or gzip-compressed. Throws
/// ad::Error naming the file for a wrong magic number or rank, a dimension or total size over
/// the limits, or data shorter or longer than the header announces.
IdxArray load_idx(const std::string& path, const IdxOptions& options = {});

/// The magic number a uint8 IDX file of `rank` starts with (0x00000803 for rank 3).
constexpr uint32_t idx_magic(int rank) { return 0x00000800u | static_cast<uint32_t>(rank); }

}  // namespace datasets
