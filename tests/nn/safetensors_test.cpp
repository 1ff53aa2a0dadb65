#include "tapegrad/nn/atomic_file.h"
#include "tapegrad/nn/safetensors.h"

#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <optional>
#include <type_traits>

#include "tests/nn/scratch_folder.h"

namespace {

using ad::Tensor;
using tests::read_text;
using tests::ScratchFolder;
using tests::write_text;

std::string little_endian_u64(uint64_t value) {
  std::string bytes(8, '\0');
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>(value >> (8 * i));
  return bytes;
}

std::string float_bytes(std::initializer_list<float> values) {
  std::string bytes(values.size() * 4, '\0');
  std::memcpy(bytes.data(), values.begin(), bytes.size());
  return bytes;
}

// A file with this header text and this many data bytes (zeros); the length field is the
// header's own unless `length` overrides it.
std::string file_with(const std::string& header, size_t data_bytes,
                      std::optional<uint64_t> length = std::nullopt) {
  return little_endian_u64(length.value_or(header.size())) + header +
         std::string(data_bytes, '\0');
}

// Runs the loader on `contents` and returns its message; fails the test if it does not throw.
std::string load_error(const ScratchFolder& folder, const std::string& contents) {
  const std::string path = folder.file("corrupt.safetensors");
  write_text(path, contents);
  try {
    nn::load_safetensors(path);
  } catch (const ad::Error& e) {
    CHECK(std::string(e.what()).find(path) != std::string::npos);
    return e.what();
  }
  FAIL("load_safetensors accepted a corrupt file");
  return "";
}

}  // namespace

TEST_CASE("a saved file has the safetensors layout byte for byte") {
  ScratchFolder folder;
  const std::string path = folder.file("one.safetensors");
  nn::save_safetensors(path, {{"x", Tensor::from({2}, {1.5f, -2.f})}});
  // Written out by hand from the format: 54 bytes of JSON, two spaces to reach 56, the floats.
  const std::string header = R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}  )";
  REQUIRE(header.size() == 56);
  CHECK(read_text(path) == little_endian_u64(56) + header + float_bytes({1.5f, -2.f}));
}

TEST_CASE("tensors and metadata survive a round trip in order") {
  ScratchFolder folder;
  const std::string path = folder.file("round.safetensors");
  ad::Rng rng(7);
  std::vector<nn::NamedTensor> tensors = {
      {"dense/kernel", Tensor::uniform({3, 4}, -1, 1, rng)},
      {"dense/bias", Tensor::from({4}, {0.f, 1.f, -0.f, 3.25f})},
      {"scalar", Tensor::scalar(42.f)},
      {"empty", Tensor::zeros({0, 5})},
      {"cube", Tensor::normal({2, 2, 2}, 0, 1, rng)},
  };
  const std::map<std::string, std::string> metadata = {{"format", "test"}, {"note", "a \"quoted\" {}"}};
  nn::save_safetensors(path, tensors, metadata);

  nn::SafetensorsFile file = nn::load_safetensors(path);
  CHECK(file.metadata == metadata);
  REQUIRE(file.tensors.size() == tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) {
    CAPTURE(tensors[i].name);
    CHECK(file.tensors[i].name == tensors[i].name);
    CHECK(file.tensors[i].tensor.shape() == tensors[i].tensor.shape());
    CHECK(file.tensors[i].tensor.to_vector() == tensors[i].tensor.to_vector());
  }
  CHECK(file.contains("cube"));
  CHECK_FALSE(file.contains("nothing"));
  CHECK(file.tensor("scalar").item() == 42.f);
  CHECK_THROWS_WITH_AS(file.tensor("nothing"), doctest::Contains("dense/kernel"), ad::Error);
}

TEST_CASE("the header is padded with spaces to a multiple of 8 bytes") {
  ScratchFolder folder;
  for (std::string name : {"a", "ab", "abc", "abcd", "abcde", "abcdef", "abcdefg", "abcdefgh"}) {
    const std::string path = folder.file("pad.safetensors");
    nn::save_safetensors(path, {{name, Tensor::ones({1})}});
    const std::string bytes = read_text(path);
    uint64_t length = 0;
    for (int i = 7; i >= 0; --i) length = length << 8 | static_cast<unsigned char>(bytes[i]);
    CAPTURE(name);
    CHECK(length % 8 == 0);
    CHECK(bytes.size() == 8 + length + 4);
    CHECK(bytes[8 + length - 1] != '\0');
  }
}

TEST_CASE("a file written by another tool loads whatever its key order and padding") {
  ScratchFolder folder;
  // Keys sorted by name but data in another order, metadata last, padding of several spaces.
  const std::string header =
      R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[8,12]},)"
      R"("b":{"shape":[2],"data_offsets":[0,8],"dtype":"F32"},"__metadata__":{"k":"v"}}    )";
  const std::string path = folder.file("other.safetensors");
  write_text(path, little_endian_u64(header.size()) + header + float_bytes({1, 2, 3}));
  nn::SafetensorsFile file = nn::load_safetensors(path);
  REQUIRE(file.tensors.size() == 2);
  CHECK(file.tensors[0].name == "b");
  CHECK(file.tensor("b").to_vector() == std::vector<float>{1, 2});
  CHECK(file.tensor("a").to_vector() == std::vector<float>{3});
  CHECK(file.metadata.at("k") == "v");
}

TEST_CASE("F64, F16 and BF16 tensors load as float32, every half value exactly") {
  ScratchFolder folder;
  // Halves: 1, -2, 0.5, the largest (65504), the smallest subnormal (2^-24) and a larger one
  // (2^-15 + 2^-24), -0, infinity, NaN. Bfloat16s: 1, -2.5, 2^-128 (subnormal). Doubles: 0.1
  // (rounds to the nearest float), -1e300 (beyond float: -inf).
  const uint16_t halves[] = {0x3C00, 0xC000, 0x3800, 0x7BFF, 0x0001, 0x0201, 0x8000, 0x7C00, 0x7E00};
  const uint16_t bfloats[] = {0x3F80, 0xC020, 0x0020};
  const double doubles[] = {0.1, -1e300};
  std::string data(reinterpret_cast<const char*>(halves), sizeof halves);
  data += std::string(reinterpret_cast<const char*>(bfloats), sizeof bfloats);
  data += std::string(reinterpret_cast<const char*>(doubles), sizeof doubles);
  const std::string header = R"({"h":{"dtype":"F16","shape":[9],"data_offsets":[0,18]},)"
                             R"("b":{"dtype":"BF16","shape":[3],"data_offsets":[18,24]},)"
                             R"("d":{"dtype":"F64","shape":[2,1],"data_offsets":[24,40]}})";
  const std::string path = folder.file("dtypes.safetensors");
  write_text(path, little_endian_u64(header.size()) + header + data);
  nn::SafetensorsFile file = nn::load_safetensors(path);
  Tensor h = file.tensor("h"), b = file.tensor("b"), d = file.tensor("d");
  CHECK(h[0] == 1.f);
  CHECK(h[1] == -2.f);
  CHECK(h[2] == 0.5f);
  CHECK(h[3] == 65504.f);
  CHECK(h[4] == std::ldexp(1.f, -24));
  CHECK(h[5] == std::ldexp(1.f, -15) + std::ldexp(1.f, -24));
  CHECK(h[6] == 0.f);
  CHECK(std::signbit(h[6]));
  CHECK(h[7] == INFINITY);
  CHECK(std::isnan(h[8]));
  CHECK(b.to_vector() == std::vector<float>{1.f, -2.5f, std::ldexp(1.f, -128)});
  CHECK(d.shape() == ad::Shape{2, 1});
  CHECK(d[0] == 0.1f);
  CHECK(d[1] == -INFINITY);
}

TEST_CASE("a corrupt file gives an error naming the file and the problem") {
  ScratchFolder folder;
  const std::string one = R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})";
  struct Case {
    const char* what;
    std::string contents;
    const char* message;
  };
  const std::vector<Case> cases = {
      {"empty file", "", "has 0 bytes, fewer than the 8"},
      {"shorter than the length field", std::string("\x08\x00\x00", 3), "has 3 bytes, fewer than the 8"},
      {"header length above the cap", file_with(one, 4, uint64_t{1} << 40), "exceeds the limit"},
      {"header length of 2^64-1", file_with(one, 4, ~uint64_t{0}), "exceeds the limit"},
      {"header larger than the file", file_with(one, 4, one.size() + 100), "runs past the end"},
      {"header not JSON", file_with("{not json", 0), "not valid JSON"},
      {"header of NUL bytes", file_with(std::string(8, '\0'), 0), "not valid JSON"},
      {"header an array", file_with("[1,2]", 0), "a JSON array, not an object"},
      {"header a string", file_with(R"("x")", 0), "a JSON string, not an object"},
      {"entry not an object", file_with(R"({"a":3})", 0), "not an object"},
      {"missing dtype", file_with(R"({"a":{"shape":[1],"data_offsets":[0,4]}})", 4),
       "tensor 'a' has no \"dtype\" field"},
      {"missing shape", file_with(R"({"a":{"dtype":"F32","data_offsets":[0,4]}})", 4),
       "tensor 'a' has no \"shape\" field"},
      {"missing offsets", file_with(R"({"a":{"dtype":"F32","shape":[1]}})", 4),
       "tensor 'a' has no \"data_offsets\" field"},
      {"dtype I64", file_with(R"({"a":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}})", 8),
       "dtype I64; the float dtypes F32, F64, F16 and BF16 are read"},
      {"F16 data of the F32 size", file_with(R"({"a":{"dtype":"F16","shape":[2],"data_offsets":[0,8]}})", 8),
       "needs 4 bytes but its data_offsets [0, 8] span 8"},
      {"dtype not a string", file_with(R"({"a":{"dtype":32,"shape":[1],"data_offsets":[0,4]}})", 4),
       "dtype 32, not a string"},
      {"shape not an array", file_with(R"({"a":{"dtype":"F32","shape":4,"data_offsets":[0,4]}})", 4),
       "shape 4, not an array"},
      {"negative dimension",
       file_with(R"({"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", 4),
       "dimension 0 is -1, negative"},
      {"fractional dimension",
       file_with(R"({"a":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}})", 4),
       "dimension 0 is 1.5, not an integer"},
      {"dimension above int64",
       file_with(R"({"a":{"dtype":"F32","shape":[18446744073709551615],"data_offsets":[0,4]}})", 4),
       "too large"},
      {"overflowing shape product",
       file_with(R"({"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}})", 4),
       "byte size overflows"},
      {"an empty shape whose other dimensions overflow",
       file_with(R"({"a":{"dtype":"F32","shape":[0,4294967296,4294967296],"data_offsets":[0,0]}})", 0),
       "shape [0,4294967296,4294967296] whose byte size overflows"},
      {"shape of 2^62 floats overflowing only in bytes",
       file_with(R"({"a":{"dtype":"F32","shape":[4611686018427387904],"data_offsets":[0,4]}})", 4),
       "byte size overflows"},
      {"offsets not a pair", file_with(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0]}})", 4),
       "not a pair"},
      {"negative offset", file_with(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}})", 4),
       "begin offset is -4, negative"},
      {"begin after end", file_with(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}})", 4),
       "begins at byte 4 after its end 0"},
      {"byte range not matching shape",
       file_with(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8),
       "needs 12 bytes but its data_offsets [0, 8] span 8"},
      {"first tensor not at 0", file_with(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", 8),
       "not contiguous: tensor 'a' begins at byte 4"},
      {"gap between tensors",
       file_with(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                 R"("b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})", 12),
       "not contiguous: tensor 'b' begins at byte 8 but the previous data ends at byte 4"},
      {"overlapping tensors",
       file_with(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                 R"("b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", 8),
       "overlaps tensor 'a'"},
      {"tensor outside the file", file_with(R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", 4),
       "past the end of the 4 data bytes"},
      {"trailing garbage", file_with(one, 12), "cover 4 data bytes but the file holds 12"},
      {"metadata not an object", file_with(R"({"__metadata__":[1]})", 0), "__metadata__ is [1], not an object"},
      {"metadata value not a string", file_with(R"({"__metadata__":{"k":1}})", 0),
       "__metadata__ entry 'k' is 1, not a string"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.what);
    CHECK(load_error(folder, c.contents).find(c.message) != std::string::npos);
  }
}

TEST_CASE("a truncated file is refused, wherever it was cut") {
  ScratchFolder folder;
  const std::string path = folder.file("whole.safetensors");
  nn::save_safetensors(path, {{"w", Tensor::ones({4, 4})}, {"b", Tensor::ones({4})}},
                       {{"k", "v"}});
  const std::string whole = read_text(path);
  for (size_t cut : {size_t{0}, size_t{4}, size_t{8}, size_t{20}, whole.size() - 80, whole.size() - 1}) {
    CAPTURE(cut);
    const std::string message = load_error(folder, whole.substr(0, cut));
    CHECK_FALSE(message.empty());
  }
  CHECK(load_error(folder, whole.substr(0, whole.size() - 4)).find("past the end") !=
        std::string::npos);
}

TEST_CASE("loading a missing file names it") {
  ScratchFolder folder;
  const std::string path = folder.file("absent.safetensors");
  CHECK_THROWS_WITH_AS(nn::load_safetensors(path), doctest::Contains((path + "': no such file").c_str()),
                       ad::Error);
  CHECK_THROWS_WITH_AS(nn::load_safetensors(folder.path().string()),
                       doctest::Contains("not a regular file"), ad::Error);
}

TEST_CASE("a lower header cap refuses a header the default accepts") {
  ScratchFolder folder;
  const std::string path = folder.file("cap.safetensors");
  nn::save_safetensors(path, {{"w", Tensor::ones({2})}});
  CHECK_NOTHROW(nn::load_safetensors(path));
  CHECK_THROWS_WITH_AS(nn::load_safetensors(path, {.max_header_bytes = 16}),
                       doctest::Contains("exceeds the limit of 16 bytes"), ad::Error);
}

TEST_CASE("saving refuses names it could not read back, before writing anything") {
  ScratchFolder folder;
  const std::string path = folder.file("names.safetensors");
  write_text(path, "old contents");
  struct Case {
    const char* what;
    std::vector<nn::NamedTensor> tensors;
    const char* message;
  };
  const std::vector<Case> cases = {
      {"duplicate", {{"w", Tensor::ones({1})}, {"w", Tensor::ones({2})}}, "two tensors are named 'w'"},
      {"empty", {{"", Tensor::ones({1})}}, "empty name"},
      {"reserved", {{"__metadata__", Tensor::ones({1})}}, "reserved"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.what);
    CHECK_THROWS_WITH_AS(nn::save_safetensors(path, c.tensors), doctest::Contains(c.message),
                         ad::Error);
    CHECK(read_text(path) == "old contents");
    CHECK(folder.entries() == std::vector<std::string>{"names.safetensors"});
  }
}

TEST_CASE("saving replaces the old file atomically and leaves no temporary behind") {
  ScratchFolder folder;
  const std::string path = folder.file("model.safetensors");
  nn::save_safetensors(path, {{"w", Tensor::ones({3})}});
  nn::save_safetensors(path, {{"w", Tensor::full({5}, 2.f)}});
  CHECK(nn::load_safetensors(path).tensor("w").to_vector() == std::vector<float>(5, 2.f));
  CHECK(folder.entries() == std::vector<std::string>{"model.safetensors"});

  SUBCASE("a write abandoned half-way leaves the old file intact") {
    {
      nn::AtomicFile out(path, nn::TemporaryKind::named);
      CHECK(std::filesystem::exists(out.temporary_path()));
      CHECK(std::filesystem::path(out.temporary_path()).parent_path() == folder.path());
      out.write("half of a new file");
    }
    CHECK(nn::load_safetensors(path).tensor("w").size() == 5);
    CHECK(folder.entries() == std::vector<std::string>{"model.safetensors"});
  }
  SUBCASE("an unnamed temporary is invisible in the folder until commit") {
    {
      nn::AtomicFile out(path);
      out.write("half of a new file");
      // ext4, xfs, btrfs and tmpfs have O_TMPFILE; elsewhere the named fallback is used.
      if (out.unnamed()) {
        CHECK(out.temporary_path().empty());
        CHECK(folder.entries() == std::vector<std::string>{"model.safetensors"});
      } else {
        MESSAGE("this file system has no O_TMPFILE: the named fallback was used");
      }
    }
    CHECK(nn::load_safetensors(path).tensor("w").size() == 5);
    CHECK(folder.entries() == std::vector<std::string>{"model.safetensors"});
  }
  SUBCASE("a folder under the target name is refused and leaves no temporary") {
    // A non-empty folder under the target name: rename(2) could not replace it; it is refused
    // before anything is written (a refusal at the rename is tested in atomic_file_test.cpp).
    const std::string blocked = folder.file("blocked");
    std::filesystem::create_directories(std::filesystem::path(blocked) / "inside");
    CHECK_THROWS_WITH_AS(nn::save_safetensors(blocked, {{"w", Tensor::ones({1})}}),
                         doctest::Contains(("save_safetensors: '" + blocked + "' is a folder, not a file").c_str()),
                         ad::Error);
    CHECK(folder.entries() == std::vector<std::string>{"blocked", "model.safetensors"});
    CHECK(std::filesystem::is_directory(std::filesystem::path(blocked) / "inside"));
  }
  SUBCASE("a folder that does not exist is an error and creates nothing") {
    const std::string missing = folder.file("no/such/folder/model.safetensors");
    CHECK_THROWS_WITH_AS(nn::save_safetensors(missing, {{"w", Tensor::ones({1})}}),
                         doctest::Contains(("cannot create a temporary file beside '" + missing).c_str()),
                         ad::Error);
    CHECK(folder.entries() == std::vector<std::string>{"model.safetensors"});
  }
  SUBCASE("a folder that is not writable leaves the old file intact") {
    const std::filesystem::path locked = folder.path() / "locked";
    std::filesystem::create_directories(locked);
    const std::string target = (locked / "model.safetensors").string();
    nn::save_safetensors(target, {{"w", Tensor::ones({2})}});
    ::chmod(locked.c_str(), 0555);
    // Root writes anywhere: there the permission cannot make the save fail.
    if (::access(locked.c_str(), W_OK) == 0) {
      MESSAGE("skipped: this user can write to a read-only folder");
    } else {
      CHECK_THROWS_WITH_AS(nn::save_safetensors(target, {{"w", Tensor::ones({9})}}),
                           doctest::Contains("Permission denied"), ad::Error);
      CHECK(nn::load_safetensors(target).tensor("w").size() == 2);
    }
    ::chmod(locked.c_str(), 0755);
    std::vector<std::string> names;
    for (const auto& entry : std::filesystem::directory_iterator(locked))
      names.push_back(entry.path().filename().string());
    CHECK(names == std::vector<std::string>{"model.safetensors"});
  }
}

TEST_CASE("write_file_atomically writes text that reads back whole") {
  ScratchFolder folder;
  const std::string path = folder.file("log.csv");
  nn::write_file_atomically(path, "epoch,loss\n0,1.5\n");
  CHECK(read_text(path) == "epoch,loss\n0,1.5\n");
  nn::write_file_atomically(path, "");
  CHECK(read_text(path).empty());
  CHECK(folder.entries() == std::vector<std::string>{"log.csv"});
}

TEST_CASE("names and metadata that are not valid UTF-8 are refused by name and nothing is written") {
  ScratchFolder folder;
  const std::string path = folder.file("w.safetensors");
  const std::string who = "save_safetensors: '" + path + "': ";
  CHECK_THROWS_WITH_AS(nn::save_safetensors(path, {{"dense/\xff", Tensor::ones({1})}}),
                       doctest::Contains((who + "a tensor name is not valid UTF-8 (byte 6 of \"dense/\\xff\")").c_str()),
                       ad::Error);
  CHECK_THROWS_WITH_AS(nn::save_safetensors(path, {{"w", Tensor::ones({1})}}, {{"k\xc0\xaf", "v"}}),
                       doctest::Contains((who + "a metadata key is not valid UTF-8 (byte 1 of \"k\\xc0\\xaf\")").c_str()),
                       ad::Error);
  CHECK_THROWS_WITH_AS(nn::save_safetensors(path, {{"w", Tensor::ones({1})}}, {{"note", "caf\xe9"}}),
                       doctest::Contains((who + "the metadata value of 'note' is not valid UTF-8 (byte 3 of \"caf\\xe9\")").c_str()),
                       ad::Error);
  CHECK(folder.entries().empty());
  nn::save_safetensors(path, {{"gewicht_\xc3\xa4", Tensor::ones({1})}}, {{"note", "caf\xc3\xa9"}});
  const nn::SafetensorsFile file = nn::load_safetensors(path);
  CHECK(file.metadata.at("note") == "caf\xc3\xa9");
  CHECK(file.contains("gewicht_\xc3\xa4"));
}

TEST_CASE("a tensor taken from a temporary file stays valid") {
  ScratchFolder folder;
  const std::string path = folder.file("w.safetensors");
  nn::save_safetensors(path, {{"w", Tensor::full({4}, 3.f)}});
  // On a temporary SafetensorsFile, tensor() returns a handle that keeps the data, not a reference.
  static_assert(std::is_same_v<decltype(nn::load_safetensors(path).tensor("w")), Tensor>);
  const Tensor w = nn::load_safetensors(path).tensor("w");
  CHECK(w.to_vector() == std::vector<float>(4, 3.f));
}

TEST_CASE("a header nested deeper than 64 levels is refused before anything walks it") {
  ScratchFolder folder;
  // 100,000 levels: parsed, then dumped into a message, it overflowed the stack.
  const std::string deep = "{\"a\":" + std::string(100000, '[') + std::string(100000, ']') + "}";
  CHECK(load_error(folder, file_with(deep, 0)).find("the header nests arrays and objects deeper than 64 levels") !=
        std::string::npos);
}
