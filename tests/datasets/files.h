// Test support: temporary folders and small IDX files, plain or gzip-compressed, written by the
// tests themselves so that every corrupt-file case is built on purpose.
//
//   TempFolder folder;   // tests::ScratchFolder
//   write_file(folder.file("x.gz"), gzip(idx_bytes({2, 3, 3}, pixels)));
#pragma once
#include <doctest/doctest.h>
#include <zlib.h>

#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

#include "tests/nn/scratch_folder.h"

namespace datasets_test {

using Bytes = std::vector<uint8_t>;

// Test files go in a fresh folder removed with everything in it (shared with the nn tests).
using TempFolder = tests::ScratchFolder;

inline void write_file(const std::string& path, const Bytes& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  REQUIRE(out.good());
}

// One gzip member holding `bytes`, as the gzip tool writes it.
inline Bytes gzip(const Bytes& bytes) {
  z_stream stream{};
  REQUIRE(deflateInit2(&stream, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) == Z_OK);
  Bytes out(deflateBound(&stream, static_cast<uLong>(bytes.size())) + 64);
  stream.next_in = const_cast<Bytef*>(bytes.data());
  stream.avail_in = static_cast<uInt>(bytes.size());
  stream.next_out = out.data();
  stream.avail_out = static_cast<uInt>(out.size());
  REQUIRE(deflate(&stream, Z_FINISH) == Z_STREAM_END);
  out.resize(stream.total_out);
  deflateEnd(&stream);
  return out;
}

inline void append_big_endian(Bytes& out, uint32_t value) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<uint8_t>(value >> shift));
}

// An IDX file: magic (0, 0, type, rank), big-endian dimensions, then `data` as it is (its size
// need not agree with the dimensions, so that broken files can be made too).
inline Bytes idx_bytes(const std::vector<uint32_t>& dims, const Bytes& data, uint8_t type = 0x08) {
  Bytes out = {0, 0, type, static_cast<uint8_t>(dims.size())};
  for (uint32_t d : dims) append_big_endian(out, d);
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

// `count` bytes 0, 1, 2, ... wrapping at 256: easy to check after a round trip.
inline Bytes counting_bytes(size_t count, uint8_t start = 0) {
  Bytes out(count);
  for (size_t i = 0; i < count; ++i) out[i] = static_cast<uint8_t>(start + i);
  return out;
}

// The four files of the MNIST layout in `folder`: `train_labels.size()` training images and
// `test_labels.size()` test images of 28x28, the pixels of image i all equal to i + 1.
inline void write_mnist_folder(const TempFolder& folder, const Bytes& train_labels, const Bytes& test_labels,
                               bool compressed) {
  auto write = [&](const std::string& name, const Bytes& bytes) {
    write_file(folder.file(compressed ? name + ".gz" : name), compressed ? gzip(bytes) : bytes);
  };
  auto images = [](size_t count) {
    Bytes pixels;
    for (size_t i = 0; i < count; ++i) pixels.insert(pixels.end(), 784, static_cast<uint8_t>(i + 1));
    return idx_bytes({static_cast<uint32_t>(count), 28, 28}, pixels);
  };
  write("train-images-idx3-ubyte", images(train_labels.size()));
  write("train-labels-idx1-ubyte", idx_bytes({static_cast<uint32_t>(train_labels.size())}, train_labels));
  write("t10k-images-idx3-ubyte", images(test_labels.size()));
  write("t10k-labels-idx1-ubyte", idx_bytes({static_cast<uint32_t>(test_labels.size())}, test_labels));
}

}  // namespace datasets_test
