#include "tapegrad/datasets/idx.h"

#include <algorithm>
#include <array>
#include <span>
#include <limits>

#include "tapegrad/autodiff/error.h"
#include "tapegrad/autodiff/tensor.h"
#include "tapegrad/datasets/byte_source.h"

namespace datasets {

namespace {

// Beyond this many surplus bytes a damaged file is reported as "more than" rather than counted.
constexpr uint64_t kSurplusCountLimit = uint64_t{1} << 30;
constexpr uint64_t kSliceBytes = uint64_t{1} << 26;
constexpr uint64_t kMaxCount = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());

const char* type_name(uint8_t type) {
  switch (type) {
    case 0x08:
      return "unsigned byte";
    case 0x09:
      return "signed byte";
    case 0x0B:
      return "short";
    case 0x0C:
      return "int";
    case 0x0D:
      return "float";
    case 0x0E:
      return "double";
    default:
      return "unknown";
  }
}

uint32_t big_endian(const uint8_t* bytes) {
  return uint32_t{bytes[0]} << 24 | uint32_t{bytes[1]} << 16 | uint32_t{bytes[2]} << 8 | uint32_t{bytes[3]};
}

IdxArray read_idx(ByteSource& in, const IdxOptions& options) {
  auto fail = [&in]<typename... Args>(fmt::format_string<Args...> format, Args&&... args) {
    ad::fail("load_idx: {}: {}", in.path(), fmt::format(format, std::forward<Args>(args)...));
  };
  const char* what = in.compressed() ? "decompressed file" : "file";
  const uint32_t expected_magic = idx_magic(options.rank);
  const uint64_t header_size = 4 + 4 * static_cast<uint64_t>(options.rank);

  std::array<uint8_t, 4> magic{};
  size_t got = in.read(magic);
  if (got < magic.size()) fail("{} has {} bytes, too short for the 4-byte IDX magic", what, got);
  if (magic[0] != 0 || magic[1] != 0)
    fail("bad magic 0x{:08X}, expected 0x{:08X} (an IDX file starts with two zero bytes)", big_endian(magic.data()),
         expected_magic);
  if (magic[2] != 0x08)
    fail("element type 0x{:02X} ({}) is not supported, expected 0x08 (unsigned byte)", magic[2], type_name(magic[2]));
  if (magic[3] != options.rank)
    fail("rank is {} (magic 0x{:08X}), expected {} (magic 0x{:08X})", magic[3], big_endian(magic.data()), options.rank,
         expected_magic);

  std::vector<uint8_t> dims_bytes(4 * static_cast<size_t>(options.rank));
  got = in.read(dims_bytes);
  if (got < dims_bytes.size())
    fail("{} has {} bytes, too short for the {}-byte header of a rank-{} IDX file", what, 4 + got, header_size,
         options.rank);

  IdxArray array;
  for (int axis = 0; axis < options.rank; ++axis) {
    uint32_t dim = big_endian(dims_bytes.data() + 4 * axis);
    array.shape.push_back(dim);
    if (dim > options.max_dimension) fail("dimension {} is {}, above the cap of {}", axis, dim, options.max_dimension);
  }
  std::string shape = ad::to_string(array.shape);
  // The item size (every axis but the first) is checked on its own: with zero items the total is
  // 0 whatever the items' size, and item_size() must still be a true int64.
  uint64_t item = 1;
  for (int axis = 1; axis < options.rank; ++axis)
    if (__builtin_mul_overflow(item, static_cast<uint64_t>(array.shape[axis]), &item) || item > kMaxCount)
      fail("item size of shape {} (the product of dimensions 1 to {}) overflows int64", shape, options.rank - 1);
  if (item > static_cast<uint64_t>(options.max_bytes))
    fail("shape {} has items of {} bytes, above the cap of {} for the whole data", shape, item, options.max_bytes);
  uint64_t total = 0;
  if (__builtin_mul_overflow(item, static_cast<uint64_t>(array.shape[0]), &total) || total > kMaxCount)
    fail("element count of shape {} overflows int64", shape);
  if (total > static_cast<uint64_t>(options.max_bytes))
    fail("shape {} needs {} bytes of data, above the cap of {}", shape, total, options.max_bytes);

  // A plain file's length is known: a short or long one fails here, before any allocation.
  if (!in.compressed() && in.file_size() != header_size + total)
    fail("{} has {} bytes, header says {}", what, in.file_size(), header_size + total);
  // Decompressed data arrives in slices, so a small damaged file that claims gigabytes
  // allocates only what it really holds before it fails.
  uint64_t filled = 0;
  while (filled < total) {
    uint64_t slice = std::min<uint64_t>(total - filled, kSliceBytes);
    array.data.resize(filled + slice);
    uint64_t slice_got = in.read(std::span(array.data).subspan(filled, slice));
    filled += slice_got;
    if (slice_got < slice) break;
  }
  if (filled < total) fail("{} has {} bytes, header says {}", what, header_size + filled, header_size + total);
  uint64_t surplus = in.skip_rest(kSurplusCountLimit);
  if (surplus > kSurplusCountLimit)
    fail("{} has more than {} bytes, header says {}", what, header_size + total + kSurplusCountLimit,
         header_size + total);
  if (surplus > 0) fail("{} has {} bytes, header says {}", what, header_size + total + surplus, header_size + total);
  return array;
}

}  // namespace

int64_t IdxArray::item_size() const {
  if (shape.empty()) return 1;
  return ad::element_count(std::vector<int64_t>(shape.begin() + 1, shape.end()), "IdxArray::item_size");
}

IdxArray load_idx(const std::string& path, const IdxOptions& options) {
  TG_CHECK(options.rank >= 1 && options.rank <= 255, "load_idx: {}: rank must be in [1,255], got {}", path,
           options.rank);
  TG_CHECK(options.max_dimension >= 0 && options.max_bytes >= 0,
           "load_idx: {}: caps must not be negative (max_dimension {}, max_bytes {})", path, options.max_dimension,
           options.max_bytes);
  ByteSource in(path, "load_idx");
  return read_idx(in, options);
}

}  // namespace datasets
