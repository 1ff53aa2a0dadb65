#include "tapegrad/datasets/byte_source.h"

#include <doctest/doctest.h>

#include "tapegrad/autodiff/error.h"
#include "files.h"

using namespace datasets_test;
using datasets::ByteSource;

namespace {

Bytes read_all(ByteSource& in) {
  Bytes out;
  Bytes chunk(1000);
  while (size_t got = in.read(chunk)) out.insert(out.end(), chunk.begin(), chunk.begin() + got);
  return out;
}

}  // namespace

TEST_CASE("a plain file and its gzip copy read as the same bytes") {
  TempFolder folder;
  Bytes data = counting_bytes(100'000, 7);
  write_file(folder.file("plain.bin"), data);
  write_file(folder.file("packed.bin.gz"), gzip(data));

  ByteSource plain(folder.file("plain.bin"));
  ByteSource packed(folder.file("packed.bin.gz"));
  CHECK_FALSE(plain.compressed());
  CHECK(packed.compressed());
  CHECK(read_all(plain) == data);
  CHECK(read_all(packed) == data);
  CHECK(packed.position() == data.size());
  CHECK(packed.file_size() < data.size());
}

TEST_CASE("gzip is recognised by its content, not by the file name") {
  TempFolder folder;
  Bytes data = counting_bytes(5000);
  write_file(folder.file("looks-plain"), gzip(data));
  ByteSource in(folder.file("looks-plain"));
  CHECK(in.compressed());
  CHECK(read_all(in) == data);
}

TEST_CASE("several gzip members one after the other read as one stream") {
  TempFolder folder;
  Bytes first = counting_bytes(3000, 1), second = counting_bytes(2000, 99);
  Bytes both = gzip(first);
  Bytes tail = gzip(second);
  both.insert(both.end(), tail.begin(), tail.end());
  write_file(folder.file("two.gz"), both);

  ByteSource in(folder.file("two.gz"));
  Bytes expected = first;
  expected.insert(expected.end(), second.begin(), second.end());
  CHECK(read_all(in) == expected);
}

TEST_CASE("skip_rest counts what is left and stops counting past its limit") {
  TempFolder folder;
  write_file(folder.file("a.gz"), gzip(counting_bytes(10'000)));
  ByteSource in(folder.file("a.gz"));
  Bytes head(100);
  REQUIRE(in.read(head) == 100);
  SUBCASE("under the limit") { CHECK(in.skip_rest(1'000'000) == 9'900); }
  SUBCASE("over the limit") { CHECK(in.skip_rest(500) == 501); }
}

TEST_CASE("an empty file reads as no bytes") {
  TempFolder folder;
  write_file(folder.file("empty"), {});
  ByteSource in(folder.file("empty"));
  CHECK_FALSE(in.compressed());
  CHECK(read_all(in).empty());
}

TEST_CASE("damaged or missing files throw errors naming the caller, the file and the problem") {
  TempFolder folder;
  Bytes data = counting_bytes(50'000, 3);
  Bytes packed = gzip(data);

  struct Case {
    const char* name;
    Bytes content;
    const char* problem;
  };
  Bytes truncated(packed.begin(), packed.begin() + static_cast<long>(packed.size() / 2));
  Bytes bad_checksum = packed;
  bad_checksum[bad_checksum.size() - 6] ^= 0xFF;  // inside the CRC-32 of the trailer
  Bytes bad_data = packed;
  for (size_t i = 20; i < 40; ++i) bad_data[i] ^= 0xA5;  // a run of garbage in the deflate stream
  Bytes garbage_after = packed;
  garbage_after.insert(garbage_after.end(), {'j', 'u', 'n', 'k'});
  Bytes trailer_cut(packed.begin(), packed.end() - 3);

  const Case cases[] = {
      {"truncated.gz", truncated, "gzip stream is truncated"},
      {"trailer-cut.gz", trailer_cut, "gzip stream is truncated"},
      {"checksum.gz", bad_checksum, "corrupt gzip stream"},
      {"garbage.gz", bad_data, "corrupt gzip stream"},
      {"junk-after.gz", garbage_after, "unexpected bytes after gzip member 1"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.name);
    std::string path = folder.file(c.name);
    write_file(path, c.content);
    ByteSource in(path, "reader");
    Bytes out(data.size() + 10);
    std::string message;
    try {
      in.read(out);
      in.skip_rest(1000);
    } catch (const ad::Error& error) {
      message = error.what();
    }
    CHECK(message.starts_with("reader: " + path + ": "));
    CHECK(message.find(c.problem) != std::string::npos);
  }
}

TEST_CASE("a missing file or a folder in place of a file is an error naming it") {
  TempFolder folder;
  std::string path = folder.file("absent.gz");
  CHECK_THROWS_WITH_AS(ByteSource(path, "reader"),
                       ("reader: " + path + ": cannot open: No such file or directory").c_str(), ad::Error);
  CHECK_THROWS_WITH_AS(ByteSource(folder.path().string(), "reader"),
                       ("reader: " + folder.path().string() + ": is a folder, not a file").c_str(), ad::Error);
}
