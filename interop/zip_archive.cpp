#include "tapegrad/interop/zip_archive.h"

#include <zip.h>

#include <deque>

#include "tapegrad/autodiff/error.h"

namespace interop {

namespace {

constexpr uint64_t kBombFloor = uint64_t{64} << 20;
constexpr uint64_t kMaxExpansion = 100;

std::string error_text(zip_error_t* error) {
  std::string text = zip_error_strerror(error);
  return text;
}

}  // namespace

ZipReader::ZipReader(std::string path) : path_(std::move(path)) {
  int code = 0;
  archive_ = zip_open(path_.c_str(), ZIP_RDONLY | ZIP_CHECKCONS, &code);
  if (!archive_) {
    zip_error_t error;
    zip_error_init_with_code(&error, code);
    std::string reason = error_text(&error);
    zip_error_fini(&error);
    ad::fail("ZipReader: '{}': cannot open as a zip archive: {}", path_, reason);
  }
}

ZipReader::~ZipReader() {
  if (archive_) zip_discard(archive_);
}

bool ZipReader::contains(const std::string& name) const { return zip_name_locate(archive_, name.c_str(), 0) >= 0; }

std::vector<std::string> ZipReader::names() const {
  std::vector<std::string> out;
  zip_int64_t n = zip_get_num_entries(archive_, 0);
  for (zip_int64_t i = 0; i < n; ++i)
    if (const char* name = zip_get_name(archive_, static_cast<zip_uint64_t>(i), 0)) out.emplace_back(name);
  return out;
}

std::string ZipReader::read(const std::string& name, uint64_t max_bytes) const {
  zip_stat_t st;
  zip_stat_init(&st);
  TG_CHECK(zip_stat(archive_, name.c_str(), 0, &st) == 0, "ZipReader: '{}': no entry '{}'", path_, name);
  TG_CHECK((st.valid & ZIP_STAT_SIZE) && (st.valid & ZIP_STAT_COMP_SIZE),
           "ZipReader: '{}': entry '{}' has no recorded size", path_, name);
  TG_CHECK(st.size <= max_bytes, "ZipReader: '{}': entry '{}' declares {} bytes, more than the limit of {}", path_,
           name, st.size, max_bytes);
  TG_CHECK(st.size <= kBombFloor || st.size <= kMaxExpansion * st.comp_size,
           "ZipReader: '{}': entry '{}' expands from {} to {} bytes, more than {} times", path_, name, st.comp_size,
           st.size, kMaxExpansion);
  zip_file_t* file = zip_fopen(archive_, name.c_str(), 0);
  TG_CHECK(file, "ZipReader: '{}': cannot open entry '{}': {}", path_, name, zip_strerror(archive_));
  std::string bytes(st.size, '\0');
  zip_int64_t got = bytes.empty() ? 0 : zip_fread(file, bytes.data(), bytes.size());
  std::string reason = got < 0 ? zip_file_strerror(file) : "";
  // libzip compares the entry's CRC-32 only when a read reaches the end of its data: one more
  // read, which must find nothing, makes it check (a flipped byte loaded silently before).
  char past_end = 0;
  zip_int64_t extra = got == static_cast<zip_int64_t>(bytes.size()) ? zip_fread(file, &past_end, 1) : 0;
  if (extra < 0) reason = zip_file_strerror(file);
  zip_fclose(file);
  TG_CHECK(got == static_cast<zip_int64_t>(bytes.size()), "ZipReader: '{}': entry '{}': read {} of {} bytes{}{}",
           path_, name, got, bytes.size(), reason.empty() ? "" : ": ", reason);
  TG_CHECK(extra == 0, "ZipReader: '{}': entry '{}': {}", path_, name,
           extra < 0 ? reason : fmt::format("holds more than the {} bytes it declares", bytes.size()));
  return bytes;
}

struct ZipWriter::State {
  zip_source_t* buffer = nullptr;  // the archive's bytes, kept past zip_close
  zip* archive = nullptr;
  std::deque<std::string> entries;  // libzip reads them only at zip_close
};

ZipWriter::ZipWriter() : state_(std::make_unique<State>()) {
  zip_error_t error;
  zip_error_init(&error);
  state_->buffer = zip_source_buffer_create(nullptr, 0, 0, &error);
  TG_CHECK(state_->buffer, "ZipWriter: cannot create a buffer: {}", error_text(&error));
  zip_source_keep(state_->buffer);
  state_->archive = zip_open_from_source(state_->buffer, ZIP_TRUNCATE, &error);
  if (!state_->archive) {
    std::string reason = error_text(&error);
    zip_error_fini(&error);
    zip_source_free(state_->buffer);
    state_->buffer = nullptr;
    ad::fail("ZipWriter: cannot start an archive: {}", reason);
  }
  zip_error_fini(&error);
}

ZipWriter::~ZipWriter() {
  if (state_->archive) zip_discard(state_->archive);
  if (state_->buffer) zip_source_free(state_->buffer);
}

void ZipWriter::add(const std::string& name, std::string bytes) {
  TG_CHECK(state_->archive, "ZipWriter::add: the archive is already finished");
  const std::string& kept = state_->entries.emplace_back(std::move(bytes));
  zip_source_t* source = zip_source_buffer(state_->archive, kept.data(), kept.size(), 0);
  TG_CHECK(source, "ZipWriter::add: '{}': {}", name, zip_strerror(state_->archive));
  zip_int64_t index = zip_file_add(state_->archive, name.c_str(), source, ZIP_FL_ENC_UTF_8);
  if (index < 0) {
    zip_source_free(source);
    ad::fail("ZipWriter::add: '{}': {}", name, zip_strerror(state_->archive));
  }
  TG_CHECK(zip_set_file_compression(state_->archive, static_cast<zip_uint64_t>(index), ZIP_CM_STORE, 0) == 0,
           "ZipWriter::add: '{}': {}", name, zip_strerror(state_->archive));
}

std::string ZipWriter::finish() {
  TG_CHECK(state_->archive, "ZipWriter::finish: the archive is already finished");
  if (zip_close(state_->archive) != 0) ad::fail("ZipWriter::finish: {}", zip_strerror(state_->archive));
  state_->archive = nullptr;
  zip_source_t* buffer = state_->buffer;
  zip_stat_t st;
  zip_stat_init(&st);
  TG_CHECK(zip_source_stat(buffer, &st) == 0 && zip_source_open(buffer) == 0,
           "ZipWriter::finish: cannot read the archive back: {}", zip_error_strerror(zip_source_error(buffer)));
  std::string bytes(st.size, '\0');
  zip_int64_t got = zip_source_read(buffer, bytes.data(), bytes.size());
  zip_source_close(buffer);
  TG_CHECK(got == static_cast<zip_int64_t>(bytes.size()), "ZipWriter::finish: read {} of {} archive bytes", got,
           bytes.size());
  return bytes;
}

}  // namespace interop
