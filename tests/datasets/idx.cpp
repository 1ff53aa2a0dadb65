#include "tapegrad/datasets/idx.h"

#include <doctest/doctest.h>
#include <sys/stat.h>

#include "tapegrad/autodiff/error.h"
#include "files.h"

using namespace datasets_test;
using datasets::IdxOptions;
using datasets::load_idx;

namespace {

// Writes `bytes` as `name`, plain or gzip-compressed (then with a .gz suffix); returns the path.
std::string write_idx(const TempFolder& folder, const std::string& name, const Bytes& bytes, bool compressed) {
  std::string path = folder.file(compressed ? name + ".gz" : name);
  write_file(path, compressed ? gzip(bytes) : bytes);
  return path;
}

std::string error_of(const std::string& path, const IdxOptions& options) {
  try {
    load_idx(path, options);
  } catch (const ad::Error& error) {
    return error.what();
  }
  return "no error";
}

}  // namespace

TEST_CASE("load_idx reads images and labels, plain and gzip, in row-major order") {
  TempFolder folder;
  for (bool compressed : {false, true}) {
    CAPTURE(compressed);
    Bytes pixels = counting_bytes(3 * 28 * 28, 11);
    datasets::IdxArray images =
        load_idx(write_idx(folder, "images", idx_bytes({3, 28, 28}, pixels), compressed), {.rank = 3});
    CHECK(images.shape == std::vector<int64_t>{3, 28, 28});
    CHECK(images.count() == 3);
    CHECK(images.item_size() == 784);
    CHECK(images.data == pixels);

    datasets::IdxArray labels =
        load_idx(write_idx(folder, "labels", idx_bytes({4}, {9, 0, 3, 1}), compressed), {.rank = 1});
    CHECK(labels.shape == std::vector<int64_t>{4});
    CHECK(labels.data == Bytes{9, 0, 3, 1});
  }
}

TEST_CASE("load_idx accepts a file with zero items") {
  TempFolder folder;
  datasets::IdxArray empty = load_idx(write_idx(folder, "none", idx_bytes({0, 28, 28}, {}), false), {.rank = 3});
  CHECK(empty.count() == 0);
  CHECK(empty.data.empty());
  CHECK(empty.item_size() == 784);
}

TEST_CASE("IdxArray::item_size of a shape built by hand throws on overflow instead of wrapping") {
  datasets::IdxArray array{.shape = {0, 10'000'000, 10'000'000, 10'000'000}, .data = {}};
  CHECK_THROWS_WITH_AS(array.item_size(), doctest::Contains("IdxArray::item_size: element count of shape "
                                                            "[10000000,10000000,10000000] overflows"),
                       ad::Error);
}

TEST_CASE("load_idx rejects every broken file with a message naming the file and the problem") {
  const uint32_t huge = 0xFFFFFFFFu;
  struct Case {
    const char* name;
    Bytes bytes;
    IdxOptions options;
    const char* problem;  // {file} is "file", or "decompressed file" for gzip
  };
  const Case cases[] = {
      {"wrong magic",
       Bytes{0x01, 0x02, 0x08, 0x03, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 7},
       {.rank = 3},
       "bad magic 0x01020803, expected 0x00000803 (an IDX file starts with two zero bytes)"},
      {"wrong type byte",
       idx_bytes({1, 1, 1}, Bytes(4), 0x0D),
       {.rank = 3},
       "element type 0x0D (float) is not supported, expected 0x08 (unsigned byte)"},
      {"labels where images belong",
       idx_bytes({3}, {1, 2, 3}),
       {.rank = 3},
       "rank is 1 (magic 0x00000801), expected 3 (magic 0x00000803)"},
      {"images where labels belong",
       idx_bytes({1, 1, 1}, {0}),
       {.rank = 1},
       "rank is 3 (magic 0x00000803), expected 1 (magic 0x00000801)"},
      {"an empty file", Bytes{}, {.rank = 1}, "{file} has 0 bytes, too short for the 4-byte IDX magic"},
      {"a cut header",
       Bytes{0, 0, 8, 3, 0, 0, 0, 2, 0, 0},
       {.rank = 3},
       "{file} has 10 bytes, too short for the 16-byte header of a rank-3 IDX file"},
      {"truncated data", idx_bytes({10, 28, 28}, Bytes(1000)), {.rank = 3}, "{file} has 1016 bytes, header says 7856"},
      {"truncated labels", idx_bytes({5}, {1, 2}), {.rank = 1}, "{file} has 10 bytes, header says 13"},
      {"a small file that claims gigabytes",
       idx_bytes({1000, 1000, 4000}, Bytes(10)),
       {.rank = 3},
       "{file} has 26 bytes, header says 4000000016"},
      {"extra trailing bytes", idx_bytes({1, 2, 2}, Bytes(6)), {.rank = 3}, "{file} has 22 bytes, header says 20"},
      {"a dimension above the cap",
       idx_bytes({20'000'000, 28, 28}, {}),
       {.rank = 3},
       "dimension 0 is 20000000, above the cap of 10000000"},
      {"dimensions whose product overflows",
       idx_bytes({huge, huge, huge}, {}),
       {.rank = 3, .max_dimension = int64_t{1} << 32},
       "item size of shape [4294967295,4294967295,4294967295] (the product of dimensions 1 to 2) overflows int64"},
      {"zero items whose size overflows",
       idx_bytes({0, 10'000'000, 10'000'000, 10'000'000}, {}),
       {.rank = 4},
       "item size of shape [0,10000000,10000000,10000000] (the product of dimensions 1 to 3) overflows int64"},
      {"zero items above the size cap",
       idx_bytes({0, 10'000'000, 10'000'000}, {}),
       {.rank = 3},
       "shape [0,10000000,10000000] has items of 100000000000000 bytes, above the cap of 4294967296 for the whole "
       "data"},
      {"items that fit int64 but not their count",
       idx_bytes({3, 0x80000000u, 0x80000000u}, {}),
       {.rank = 3, .max_dimension = int64_t{1} << 32, .max_bytes = INT64_MAX},
       "element count of shape [3,2147483648,2147483648] overflows int64"},
      {"data above the size cap",
       idx_bytes({10'000, 10'000, 10'000}, {}),
       {.rank = 3},
       "shape [10000,10000,10000] needs 1000000000000 bytes of data, above the cap of 4294967296"},
      {"data above a lowered size cap",
       idx_bytes({2, 28, 28}, Bytes(2 * 784)),
       {.rank = 3, .max_bytes = 1000},
       "shape [2,28,28] needs 1568 bytes of data, above the cap of 1000"},
  };
  TempFolder folder;
  for (const Case& c : cases) {
    for (bool compressed : {false, true}) {
      CAPTURE(c.name);
      CAPTURE(compressed);
      std::string path = write_idx(folder, "case", c.bytes, compressed);
      std::string problem =
          fmt::format(fmt::runtime(c.problem), fmt::arg("file", compressed ? "decompressed file" : "file"));
      CHECK(error_of(path, c.options) == "load_idx: " + path + ": " + problem);
    }
  }
}

TEST_CASE("load_idx names the file when it is missing or its gzip stream is damaged") {
  TempFolder folder;
  Bytes packed = gzip(idx_bytes({50, 28, 28}, counting_bytes(50 * 784)));

  SUBCASE("missing") {
    std::string path = folder.file("t10k-images-idx3-ubyte.gz");
    CHECK(error_of(path, {}) == "load_idx: " + path + ": cannot open: No such file or directory");
  }
  SUBCASE("a FIFO: opening it would wait for a writer") {
    std::string path = folder.file("pipe-idx1-ubyte");
    REQUIRE(::mkfifo(path.c_str(), 0600) == 0);
    CHECK(error_of(path, {}) == "load_idx: " + path + ": not a regular file (a device, pipe or socket)");
  }
  SUBCASE("truncated gzip") {
    std::string path = folder.file("cut.gz");
    write_file(path, Bytes(packed.begin(), packed.begin() + static_cast<long>(packed.size() / 3)));
    std::string message = error_of(path, {});
    CHECK(message.starts_with("load_idx: " + path + ": gzip stream is truncated"));
  }
  SUBCASE("corrupt gzip") {
    Bytes corrupt = packed;
    corrupt[corrupt.size() - 7] ^= 0x5A;  // the stored CRC-32 no longer matches
    std::string path = folder.file("corrupt.gz");
    write_file(path, corrupt);
    CHECK(error_of(path, {}) ==
          "load_idx: " + path + ": corrupt gzip stream after 39216 decompressed bytes: incorrect data check");
  }
}

TEST_CASE("load_idx refuses options that make no sense") {
  CHECK_THROWS_WITH_AS(load_idx("x", {.rank = 0}), "load_idx: x: rank must be in [1,255], got 0", ad::Error);
  CHECK_THROWS_WITH_AS(load_idx("x", {.rank = 1, .max_bytes = -1}),
                       "load_idx: x: caps must not be negative (max_dimension 10000000, max_bytes -1)", ad::Error);
}

TEST_CASE("every truncation and every flipped byte of an IDX file either loads or throws ad::Error") {
  TempFolder folder;
  const Bytes plain = idx_bytes({3, 4, 5}, counting_bytes(60));
  const Bytes packed = gzip(plain);
  int loaded = 0, rejected = 0;
  auto attempt = [&](const Bytes& content) {
    std::string path = folder.file("damaged");
    write_file(path, content);
    try {
      load_idx(path, {.rank = 3});
      ++loaded;
    } catch (const ad::Error& error) {
      CHECK(std::string(error.what()).starts_with("load_idx: " + path + ": "));
      ++rejected;
    }
  };
  for (const Bytes* original : {&plain, &packed}) {
    for (size_t length = 0; length < original->size(); ++length)
      attempt(Bytes(original->begin(), original->begin() + static_cast<long>(length)));
    for (size_t at = 0; at < original->size(); ++at) {
      Bytes flipped = *original;
      flipped[at] ^= 0x40;
      attempt(flipped);
    }
  }
  // Every truncation fails; a flipped pixel in the plain file still loads.
  CHECK(rejected >= static_cast<int>(plain.size() + packed.size()));
  CHECK(loaded >= 60);
}
