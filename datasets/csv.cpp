#include "tapegrad/datasets/csv.h"

#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <unordered_map>

#include "tapegrad/autodiff/error.h"

namespace datasets {

namespace {

struct Field {
  std::string text;
  int64_t line;  // where the field starts, counting from 1
};
using Record = std::vector<Field>;

// Splits CSV text into records (RFC 4180 quoting, LF / CRLF / CR line ends, blank lines skipped;
// a line of spaces and tabs only counts as blank).
class Tokenizer {
 public:
  Tokenizer(std::string_view text, char delimiter, std::string_view name)
      : text_(text), delimiter_(delimiter), name_(name) {
    if (text_.starts_with("\xEF\xBB\xBF")) text_.remove_prefix(3);  // a UTF-8 byte order mark
  }

  // The next non-blank record, or false at the end of the text.
  bool next(Record& record) {
    record.clear();
    for (;;) {
      while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t') && blank_to_line_end()) ++pos_;
      if (!at_line_end()) break;
      if (pos_ >= text_.size()) return false;
      skip_line_end();
    }
    for (;;) {
      record.push_back(read_field());
      if (pos_ < text_.size() && text_[pos_] == delimiter_) {
        ++pos_;
        continue;
      }
      if (pos_ < text_.size()) skip_line_end();
      return true;
    }
  }

 private:
  bool at_line_end() const { return pos_ >= text_.size() || text_[pos_] == '\n' || text_[pos_] == '\r'; }

  // Whether only spaces and tabs are left on this line.
  bool blank_to_line_end() const {
    for (size_t i = pos_; i < text_.size() && text_[i] != '\n' && text_[i] != '\r'; ++i)
      if (text_[i] != ' ' && text_[i] != '\t') return false;
    return true;
  }

  void skip_line_end() {
    if (text_[pos_] == '\r' && pos_ + 1 < text_.size() && text_[pos_ + 1] == '\n') ++pos_;
    ++pos_;
    ++line_;
  }

  Field read_field() {
    Field field{.text = {}, .line = line_};
    if (pos_ < text_.size() && text_[pos_] == '"') return read_quoted(field);
    while (pos_ < text_.size() && text_[pos_] != delimiter_ && !at_line_end()) {
      if (text_[pos_] == '"')
        ad::fail("load_csv: {}: line {}: a quote inside an unquoted field (quote the whole field and double the quote)",
                 name_, line_);
      field.text += text_[pos_++];
    }
    return field;
  }

  Field read_quoted(Field& field) {
    ++pos_;  // the opening quote
    for (;;) {
      if (pos_ >= text_.size()) ad::fail("load_csv: {}: line {}: a quoted field is never closed", name_, field.line);
      char c = text_[pos_++];
      if (c == '"') {
        if (pos_ < text_.size() && text_[pos_] == '"') {
          field.text += '"';
          ++pos_;
          continue;
        }
        if (pos_ < text_.size() && text_[pos_] != delimiter_ && !at_line_end())
          ad::fail("load_csv: {}: line {}: unexpected '{}' after the closing quote of a field", name_, line_,
                   text_[pos_]);
        return field;
      }
      if (c == '\n' || (c == '\r' && !(pos_ < text_.size() && text_[pos_] == '\n'))) ++line_;
      field.text += c;
    }
  }

  std::string_view text_;
  char delimiter_;
  std::string_view name_;
  size_t pos_ = 0;
  int64_t line_ = 1;
};

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string quoted_list(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& name : names) out += (out.empty() ? "\"" : ", \"") + name + "\"";
  return out;
}

}  // namespace

CsvTable parse_csv(std::string_view text, const CsvOptions& options, std::string_view name) {
  TG_CHECK(options.delimiter != '"' && options.delimiter != '\n' && options.delimiter != '\r',
           "load_csv: {}: the delimiter {:?} cannot be a quote or a line end: those end fields and lines, so "
           "the rows could not be split",
           name, options.delimiter);
  Tokenizer tokenizer(text, options.delimiter, name);
  Record header;
  TG_CHECK(tokenizer.next(header), "load_csv: {}: the file is empty; expected a header line of column names", name);

  std::vector<std::string> columns;
  std::unordered_map<std::string, size_t> column_of;  // one lookup per name: a wide header stays linear
  for (size_t c = 0; c < header.size(); ++c) {
    std::string column(trim(header[c].text));
    TG_CHECK(!column.empty(), "load_csv: {}: line {}, column {}: the header has an empty column name", name,
             header[c].line, c + 1);
    auto [earlier, first] = column_of.emplace(column, c);
    TG_CHECK(first, "load_csv: {}: line {}: the column name \"{}\" appears twice (columns {} and {})", name,
             header[c].line, column, earlier->second + 1, c + 1);
    columns.push_back(std::move(column));
  }

  int64_t target_column = -1;
  CsvTable table;
  if (!options.target.empty()) {
    for (size_t c = 0; c < columns.size(); ++c)
      if (columns[c] == options.target) target_column = static_cast<int64_t>(c);
    TG_CHECK(target_column >= 0, "load_csv: {}: no column named \"{}\"; the columns are {}", name, options.target,
             quoted_list(columns));
    TG_CHECK(columns.size() > 1, "load_csv: {}: the target \"{}\" is the only column; no features are left", name,
             options.target);
    table.target_name = options.target;
  }
  for (size_t c = 0; c < columns.size(); ++c)
    if (static_cast<int64_t>(c) != target_column) table.feature_names.push_back(columns[c]);

  std::vector<float> features, target;
  int64_t rows = 0;
  Record record;
  while (tokenizer.next(record)) {
    TG_CHECK(record.size() == columns.size(), "load_csv: {}: line {} has {} field{}, the header has {}", name,
             record.front().line, record.size(), record.size() == 1 ? "" : "s", columns.size());
    for (size_t c = 0; c < record.size(); ++c) {
      std::string_view cell = trim(record[c].text);
      // Cells and names are quoted with escapes ({:?}): a control byte in the file shows as \x00.
      const auto where = [&] { return fmt::format("line {}, column {} ({:?})", record[c].line, c + 1, columns[c]); };
      TG_CHECK(!cell.empty(), "load_csv: {}: {}: empty cell; missing values are not supported", name, where());
      // from_chars takes no '+': one is stripped, but not before another sign ("+-5").
      std::string_view digits = cell.starts_with('+') ? cell.substr(1) : cell;
      const bool two_signs = cell.starts_with('+') && (digits.starts_with('-') || digits.starts_with('+'));
      double value = 0;
      auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
      TG_CHECK(!two_signs && error == std::errc() && end == digits.data() + digits.size(),
               "load_csv: {}: {}: {:?} is not a number", name, where(), cell);
      TG_CHECK(std::isfinite(value), "load_csv: {}: {}: {:?} is not a finite number", name, where(), cell);
      TG_CHECK(std::abs(value) <= std::numeric_limits<float>::max(), "load_csv: {}: {}: {} is beyond the float range",
               name, where(), cell);
      (static_cast<int64_t>(c) == target_column ? target : features).push_back(static_cast<float>(value));
    }
    ++rows;
  }
  TG_CHECK(rows > 0, "load_csv: {}: there is a header ({} columns) but no data rows", name, columns.size());

  table.features = ad::Tensor::from({rows, static_cast<int64_t>(table.feature_names.size())}, features);
  if (target_column >= 0) table.target = ad::Tensor::from({rows}, target);
  return table;
}

CsvTable load_csv(const std::string& path, const CsvOptions& options) {
  std::error_code error;
  TG_CHECK(std::filesystem::exists(path, error), "load_csv: {}: no such file", path);
  TG_CHECK(!std::filesystem::is_directory(path, error), "load_csv: {}: is a folder, not a file", path);
  // A device such as /dev/zero never ends and a FIFO may never be written: only files are read.
  TG_CHECK(std::filesystem::is_regular_file(path, error),
           "load_csv: {}: not a regular file (a device, pipe or socket)", path);
  std::ifstream in(path, std::ios::binary);
  TG_CHECK(in.good(), "load_csv: {}: cannot open the file", path);
  std::ostringstream text;
  text << in.rdbuf();
  TG_CHECK(!in.bad(), "load_csv: {}: read error", path);
  return parse_csv(text.str(), options, path);
}

}  // namespace datasets
