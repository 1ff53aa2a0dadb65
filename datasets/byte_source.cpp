#include "tapegrad/datasets/byte_source.h"

#include <zlib.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "tapegrad/autodiff/error.h"

namespace datasets {

namespace {

constexpr size_t kInputChunk = size_t{1} << 18;

std::string system_error_text(int error) { return std::strerror(error); }

}  // namespace

struct ByteSource::Gzip {
  z_stream stream{};
  std::vector<uint8_t> input = std::vector<uint8_t>(kInputChunk);
  bool finished = false;
  uint64_t members = 0;
  ~Gzip() { inflateEnd(&stream); }
};

template <typename... Args>
void ByteSource::fail(fmt::format_string<Args...> format, Args&&... args) const {
  ad::fail("{}: {}: {}", who_, path_, fmt::format(format, std::forward<Args>(args)...));
}

ByteSource::ByteSource(std::string path, std::string who)
    : path_(std::move(path)), who_(std::move(who)), file_(nullptr, &std::fclose) {
  std::error_code error;
  if (std::filesystem::is_directory(path_, error)) fail("is a folder, not a file");
  // Opening a FIFO waits for a writer, possibly forever; a device has no size to check against.
  if (std::filesystem::exists(path_, error) && !std::filesystem::is_regular_file(path_, error))
    fail("not a regular file (a device, pipe or socket)");
  errno = 0;
  file_.reset(std::fopen(path_.c_str(), "rb"));
  if (!file_) fail("cannot open: {}", system_error_text(errno));
  file_size_ = std::filesystem::file_size(path_, error);
  if (error) fail("cannot read its size: {}", error.message());

  std::array<uint8_t, 2> magic{};
  size_t got = std::fread(magic.data(), 1, magic.size(), file_.get());
  if (got == 2 && magic[0] == 0x1f && magic[1] == 0x8b) {
    gzip_ = std::make_unique<Gzip>();
    // 16 + MAX_WBITS: expect a gzip wrapper and check its CRC-32 and length trailer.
    if (inflateInit2(&gzip_->stream, 16 + MAX_WBITS) != Z_OK) fail("cannot start zlib");
    gzip_->input[0] = magic[0];
    gzip_->input[1] = magic[1];
    gzip_->stream.next_in = gzip_->input.data();
    gzip_->stream.avail_in = 2;
  } else if (std::fseek(file_.get(), 0, SEEK_SET) != 0) {
    fail("cannot rewind: {}", system_error_text(errno));
  }
}

ByteSource::~ByteSource() = default;

size_t ByteSource::read(std::span<uint8_t> out) {
  size_t got = gzip_ ? read_gzip(out) : read_plain(out);
  position_ += got;
  return got;
}

uint64_t ByteSource::skip_rest(uint64_t limit) {
  std::vector<uint8_t> scratch(size_t{1} << 16);
  uint64_t count = 0;
  while (count <= limit) {
    size_t got = read(scratch);
    if (got == 0) break;
    count += got;
  }
  return count <= limit ? count : limit + 1;
}

size_t ByteSource::read_plain(std::span<uint8_t> out) {
  size_t got = std::fread(out.data(), 1, out.size(), file_.get());
  if (got < out.size() && std::ferror(file_.get())) fail("read error: {}", system_error_text(errno));
  return got;
}

// Moves the unread input to the front of the buffer and appends what the file has next.
bool ByteSource::refill_input() {
  z_stream& s = gzip_->stream;
  std::memmove(gzip_->input.data(), s.next_in, s.avail_in);
  size_t room = gzip_->input.size() - s.avail_in;
  size_t got = std::fread(gzip_->input.data() + s.avail_in, 1, room, file_.get());
  if (got < room && std::ferror(file_.get())) fail("read error: {}", system_error_text(errno));
  s.next_in = gzip_->input.data();
  s.avail_in += static_cast<uInt>(got);
  return got > 0;
}

size_t ByteSource::read_gzip(std::span<uint8_t> out) {
  z_stream& s = gzip_->stream;
  size_t produced = 0;
  while (produced < out.size() && !gzip_->finished) {
    if (s.avail_in == 0 && !refill_input())
      fail("gzip stream is truncated: the compressed file ends after {} decompressed bytes", position_ + produced);
    // zlib counts in uInt: hand it at most 1 GiB at a time.
    size_t want = std::min(out.size() - produced, size_t{1} << 30);
    s.next_out = out.data() + produced;
    s.avail_out = static_cast<uInt>(want);
    uInt input_before = s.avail_in;
    int status = inflate(&s, Z_NO_FLUSH);
    produced += want - s.avail_out;
    if (status == Z_BUF_ERROR && s.avail_in == input_before && s.avail_out == want)
      fail("corrupt gzip stream: zlib makes no progress after {} decompressed bytes", position_ + produced);
    if (status == Z_STREAM_END) {
      ++gzip_->members;
      // gzip allows several members one after the other; anything else after a member is damage.
      if (s.avail_in < 2) refill_input();
      if (s.avail_in == 0) {
        gzip_->finished = true;
      } else if (s.avail_in >= 2 && s.next_in[0] == 0x1f && s.next_in[1] == 0x8b) {
        inflateReset(&s);
      } else {
        fail("unexpected bytes after gzip member {} (the file is corrupt or not one gzip stream)", gzip_->members);
      }
    } else if (status == Z_DATA_ERROR || status == Z_NEED_DICT) {
      fail("corrupt gzip stream after {} decompressed bytes: {}", position_ + produced, s.msg ? s.msg : "invalid data");
    } else if (status == Z_MEM_ERROR) {
      fail("zlib ran out of memory");
    } else if (status != Z_OK && status != Z_BUF_ERROR) {
      fail("zlib error {} while decompressing", status);
    }
  }
  return produced;
}

}  // namespace datasets
