#include "tapegrad/nn/safetensors.h"


#include <nlohmann/json.hpp>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <set>
#include <vector>

#include "tapegrad/nn/atomic_file.h"
#include "tapegrad/nn/config_reader.h"
#include "tapegrad/nn/utf8_text.h"

namespace nn {

// The data is the tensors' memory as it is; a big-endian host would need byte swaps.
static_assert(std::endian::native == std::endian::little, "safetensors data is little-endian");

namespace {

using Json = nlohmann::json;
constexpr const char* kMetadataKey = "__metadata__";
constexpr uint64_t kFloatBytes = sizeof(float);

std::string system_error_text() { return std::strerror(errno); }

// ---- Reading ----

// The dtypes read (as float32: a model's weights are float32 here, whatever the file holds).
enum class Dtype { F32, F64, F16, BF16 };

struct DtypeInfo {
  const char* name;
  Dtype dtype;
  uint64_t bytes;
};
constexpr DtypeInfo kDtypes[] = {{"F32", Dtype::F32, 4}, {"F64", Dtype::F64, 8}, {"F16", Dtype::F16, 2},
                                 {"BF16", Dtype::BF16, 2}};

struct Entry {
  std::string name;
  ad::Shape shape;
  DtypeInfo dtype = kDtypes[0];
  uint64_t begin = 0, end = 0;
};

// IEEE 754 half precision to float: every half (subnormals, infinities, NaNs) is a float exactly.
float half_to_float(uint16_t h) {
  uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16, exponent = (h >> 10) & 0x1fu, mantissa = h & 0x3ffu;
  if (exponent == 0x1f) return std::bit_cast<float>(sign | 0x7f800000u | (mantissa << 13));  // inf, NaN
  if (exponent == 0) {  // zero or subnormal: mantissa * 2^-24
    float magnitude = static_cast<float>(mantissa) * 0x1p-24f;
    return sign ? -magnitude : magnitude;
  }
  return std::bit_cast<float>(sign | ((exponent + 112) << 23) | (mantissa << 13));
}

// The tensor's elements from the file's little-endian bytes.
void convert_to_float(const DtypeInfo& dtype, const std::vector<char>& bytes, float* out) {
  size_t n = bytes.size() / dtype.bytes;
  for (size_t i = 0; i < n; ++i) {
    const char* at = bytes.data() + i * dtype.bytes;
    switch (dtype.dtype) {
      case Dtype::F32: std::memcpy(out + i, at, 4); break;
      case Dtype::F64: {
        double d;
        std::memcpy(&d, at, 8);
        // Beyond float's range the cast is undefined in C++; IEEE rounding gives the infinity.
        bool beyond = std::fabs(d) > static_cast<double>(std::numeric_limits<float>::max());
        out[i] = beyond ? std::copysign(INFINITY, static_cast<float>(d > 0 ? 1 : -1)) : static_cast<float>(d);
        break;
      }
      case Dtype::F16:
      case Dtype::BF16: {
        uint16_t h;
        std::memcpy(&h, at, 2);
        out[i] = dtype.dtype == Dtype::F16 ? half_to_float(h) : std::bit_cast<float>(static_cast<uint32_t>(h) << 16);
        break;
      }
    }
  }
}

// A JSON integer that fits in int64 and is not negative; `what` names it in the message.
uint64_t non_negative_integer(const Json& value, const std::string& path, const std::string& what) {
  if (value.is_number_unsigned()) {
    uint64_t v = value.get<uint64_t>();
    TG_CHECK(v <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max()),
             "load_safetensors: '{}': {} is {}, too large", path, what, v);
    return v;
  }
  if (value.is_number_integer()) {
    int64_t v = value.get<int64_t>();
    TG_CHECK(v >= 0, "load_safetensors: '{}': {} is {}, negative", path, what, v);
    return static_cast<uint64_t>(v);
  }
  ad::fail("load_safetensors: '{}': {} is {}, not an integer", path, what, value.dump());
}

Entry parse_entry(const std::string& path, const std::string& name, const Json& info) {
  const std::string who = fmt::format("tensor '{}'", name);
  TG_CHECK(info.is_object(), "load_safetensors: '{}': {} is described by {}, not an object", path,
           who, info.dump());
  for (const char* field : {"dtype", "shape", "data_offsets"})
    TG_CHECK(info.contains(field), "load_safetensors: '{}': {} has no \"{}\" field", path, who,
             field);
  const Json& dtype = info["dtype"];
  TG_CHECK(dtype.is_string(), "load_safetensors: '{}': {} has dtype {}, not a string", path, who,
           dtype.dump());
  Entry entry;
  entry.name = name;
  const auto* known = std::find_if(std::begin(kDtypes), std::end(kDtypes),
                                   [&](const DtypeInfo& d) { return dtype.get<std::string>() == d.name; });
  TG_CHECK(known != std::end(kDtypes),
           "load_safetensors: '{}': {} has dtype {}; the float dtypes F32, F64, F16 and BF16 are read",
           path, who, dtype.get<std::string>());
  entry.dtype = *known;
  const Json& shape = info["shape"];
  TG_CHECK(shape.is_array(), "load_safetensors: '{}': {} has shape {}, not an array", path, who,
           shape.dump());
  for (size_t axis = 0; axis < shape.size(); ++axis)
    entry.shape.push_back(static_cast<int64_t>(
        non_negative_integer(shape[axis], path, fmt::format("{}'s dimension {}", who, axis))));

  const Json& offsets = info["data_offsets"];
  TG_CHECK(offsets.is_array() && offsets.size() == 2,
           "load_safetensors: '{}': {} has data_offsets {}, not a pair [begin, end]", path, who,
           offsets.dump());
  entry.begin = non_negative_integer(offsets[0], path, who + "'s begin offset");
  entry.end = non_negative_integer(offsets[1], path, who + "'s end offset");
  TG_CHECK(entry.begin <= entry.end, "load_safetensors: '{}': {} begins at byte {} after its end {}",
           path, who, entry.begin, entry.end);

  // Overflow-checked shape product times the element size, compared with the byte range. The
  // product of the non-zero dimensions is checked too: a zero dimension makes the tensor empty,
  // but its other dimensions must still make sense (rows of [0, 2^62, 2^62] would overflow).
  uint64_t bytes = entry.dtype.bytes;
  bool empty = false;
  for (int64_t d : entry.shape) {
    auto dim = static_cast<uint64_t>(d);
    empty |= dim == 0;
    if (dim != 0 && bytes > std::numeric_limits<int64_t>::max() / dim)
      ad::fail("load_safetensors: '{}': {} has shape {} whose byte size overflows", path, who,
               ad::to_string(entry.shape));
    if (dim != 0) bytes *= dim;
  }
  if (empty) bytes = 0;
  TG_CHECK(bytes == entry.end - entry.begin,
           "load_safetensors: '{}': {} of shape {} needs {} bytes but its data_offsets [{}, {}] "
           "span {}",
           path, who, ad::to_string(entry.shape), bytes, entry.begin, entry.end,
           entry.end - entry.begin);
  return entry;
}

std::map<std::string, std::string> parse_metadata(const std::string& path, const Json& metadata) {
  TG_CHECK(metadata.is_object(), "load_safetensors: '{}': __metadata__ is {}, not an object", path,
           metadata.dump());
  std::map<std::string, std::string> result;
  for (const auto& [key, value] : metadata.items()) {
    TG_CHECK(value.is_string(), "load_safetensors: '{}': __metadata__ entry '{}' is {}, not a string",
             path, key, value.dump());
    result[key] = value.get<std::string>();
  }
  return result;
}

// The entries sorted by position, checked to tile the data section exactly.
std::vector<Entry> check_layout(const std::string& path, std::vector<Entry> entries,
                                uint64_t data_bytes) {
  std::stable_sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  uint64_t expected = 0;
  const Entry* previous = nullptr;
  for (const Entry& e : entries) {
    TG_CHECK(e.end <= data_bytes,
             "load_safetensors: '{}': tensor '{}' spans bytes [{}, {}], past the end of the {} "
             "data bytes in the file (truncated?)",
             path, e.name, e.begin, e.end, data_bytes);
    if (e.begin < expected)
      ad::fail("load_safetensors: '{}': tensor '{}' at [{}, {}] overlaps tensor '{}' at [{}, {}]",
               path, e.name, e.begin, e.end, previous->name, previous->begin, previous->end);
    if (e.begin > expected)
      ad::fail("load_safetensors: '{}': offsets are not contiguous: tensor '{}' begins at byte {} "
               "but the previous data ends at byte {}",
               path, e.name, e.begin, expected);
    expected = e.end;
    previous = &e;
  }
  TG_CHECK(expected == data_bytes,
           "load_safetensors: '{}': the tensors cover {} data bytes but the file holds {} "
           "(trailing bytes after the last tensor)",
           path, expected, data_bytes);
  return entries;
}

void read_exactly(std::ifstream& in, const std::string& path, char* into, uint64_t bytes,
                  const char* what) {
  in.read(into, static_cast<std::streamsize>(bytes));
  TG_CHECK(in && static_cast<uint64_t>(in.gcount()) == bytes,
           "load_safetensors: '{}': cannot read the {} ({} bytes): file truncated or unreadable",
           path, what, bytes);
}

}  // namespace

bool SafetensorsFile::contains(const std::string& name) const {
  return std::any_of(tensors.begin(), tensors.end(),
                     [&](const NamedTensor& t) { return t.name == name; });
}

const ad::Tensor& SafetensorsFile::tensor(const std::string& name) const& {
  for (const NamedTensor& t : tensors)
    if (t.name == name) return t.tensor;
  std::vector<std::string> names;
  for (const NamedTensor& t : tensors) names.push_back(t.name);
  ad::fail("SafetensorsFile::tensor: no tensor named '{}'; the file has [{}]", name,
           fmt::join(names, ", "));
}

SafetensorsFile load_safetensors(const std::string& path, SafetensorsLimits limits) {
  std::error_code error;
  const std::filesystem::file_status status = std::filesystem::status(path, error);
  TG_CHECK(std::filesystem::exists(status), "load_safetensors: '{}': no such file", path);
  TG_CHECK(std::filesystem::is_regular_file(status), "load_safetensors: '{}': not a regular file",
           path);
  const uint64_t file_bytes = std::filesystem::file_size(path, error);
  TG_CHECK(!error, "load_safetensors: '{}': cannot read its size: {}", path, error.message());
  std::ifstream in(path, std::ios::binary);
  TG_CHECK(in.is_open(), "load_safetensors: '{}': cannot open: {}", path, system_error_text());

  TG_CHECK(file_bytes >= 8,
           "load_safetensors: '{}': the file has {} bytes, fewer than the 8 of the header length",
           path, file_bytes);
  unsigned char length_bytes[8];
  read_exactly(in, path, reinterpret_cast<char*>(length_bytes), 8, "header length");
  uint64_t header_bytes = 0;
  for (int i = 7; i >= 0; --i) header_bytes = header_bytes << 8 | length_bytes[i];
  TG_CHECK(header_bytes <= limits.max_header_bytes,
           "load_safetensors: '{}': header length {} exceeds the limit of {} bytes", path,
           header_bytes, limits.max_header_bytes);
  TG_CHECK(header_bytes <= file_bytes - 8,
           "load_safetensors: '{}': header length {} runs past the end of the file ({} bytes)", path,
           header_bytes, file_bytes);

  std::string header_text(header_bytes, '\0');
  read_exactly(in, path, header_text.data(), header_bytes, "header");
  Json header = parse_json(header_text, fmt::format("load_safetensors: '{}': the header", path));
  TG_CHECK(header.is_object(), "load_safetensors: '{}': the header is a JSON {}, not an object",
           path, header.type_name());

  SafetensorsFile file;
  std::vector<Entry> entries;
  for (const auto& [name, info] : header.items()) {
    if (name == kMetadataKey)
      file.metadata = parse_metadata(path, info);
    else
      entries.push_back(parse_entry(path, name, info));
  }
  entries = check_layout(path, std::move(entries), file_bytes - 8 - header_bytes);

  // Everything is checked: only now allocate and read the data, in file order.
  std::vector<char> converted;
  for (Entry& e : entries) {
    ad::Tensor tensor(e.shape);
    std::string what = fmt::format("data of tensor '{}'", e.name);
    if (e.dtype.dtype == Dtype::F32) {
      read_exactly(in, path, reinterpret_cast<char*>(tensor.data()), e.end - e.begin, what.c_str());
    } else {
      converted.resize(e.end - e.begin);
      read_exactly(in, path, converted.data(), e.end - e.begin, what.c_str());
      convert_to_float(e.dtype, converted, tensor.data());
    }
    file.tensors.push_back({std::move(e.name), std::move(tensor)});
  }
  return file;
}

void save_safetensors(const std::string& path, const std::vector<NamedTensor>& tensors,
                      const std::map<std::string, std::string>& metadata, const char* who) {
  // Insertion order keeps the header readable: tensors in data order, metadata first.
  for (const auto& [key, value] : metadata) {
    check_utf8(key, fmt::format("{}: '{}'", who, path), "a metadata key");
    check_utf8(value, fmt::format("{}: '{}'", who, path), fmt::format("the metadata value of '{}'", key));
  }
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header[kMetadataKey] = metadata;
  std::set<std::string> seen;
  uint64_t offset = 0;
  for (const NamedTensor& t : tensors) {
    TG_CHECK(!t.name.empty(), "{}: '{}': a tensor has an empty name", who, path);
    TG_CHECK(t.name != kMetadataKey, "{}: '{}': the name {} is reserved", who, path,
             kMetadataKey);
    TG_CHECK(seen.insert(t.name).second, "{}: '{}': two tensors are named '{}'", who, path,
             t.name);
    check_utf8(t.name, fmt::format("{}: '{}'", who, path), "a tensor name");
    const uint64_t bytes = static_cast<uint64_t>(t.tensor.size()) * kFloatBytes;
    header[t.name] = {{"dtype", "F32"},
                      {"shape", t.tensor.shape()},
                      {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');

  unsigned char length_bytes[8];
  for (int i = 0; i < 8; ++i) length_bytes[i] = static_cast<unsigned char>(text.size() >> (8 * i));

  AtomicFile out(path, TemporaryKind::unnamed_if_supported, who);
  out.write(std::as_bytes(std::span(length_bytes)));
  out.write(text);
  for (const NamedTensor& t : tensors) out.write(std::as_bytes(t.tensor.values()));
  out.commit();
}

}  // namespace nn
