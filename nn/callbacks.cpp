#include "tapegrad/nn/callbacks.h"

#include <fmt/args.h>
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "tapegrad/nn/atomic_file.h"
#include "tapegrad/nn/number_text.h"
#include "tapegrad/nn/model.h"
#include "tapegrad/nn/serialization.h"
#include "tapegrad/nn/utf8_text.h"

namespace nn {

// ---- Monitoring ----

Improvement::Improvement(const std::string& who, const std::string& monitor,
                         const std::string& mode, double min_delta)
    : min_delta_(std::abs(min_delta)) {
  if (mode == "min") {
    maximize_ = false;
  } else if (mode == "max") {
    maximize_ = true;
  } else if (mode == "auto") {
    maximize_ = monitor.find("acc") != std::string::npos || monitor.find("auc") != std::string::npos;
  } else {
    ad::fail("{}: mode is '{}'; it must be \"auto\", \"min\" or \"max\"", who, mode);
  }
  TG_CHECK(std::isfinite(min_delta), "{}: min_delta is {}, not a finite number", who, min_delta);
}

bool Improvement::operator()(double current, std::optional<double> reference) const {
  // No value yet compares as Keras' starting best, -inf or +inf: an infinite figure that never
  // leaves the wrong end (a val_loss of inf) is no improvement, and NaN never is one.
  const double best = reference ? *reference : (maximize_ ? -INFINITY : INFINITY);
  return maximize_ ? current - min_delta_ > best : current + min_delta_ < best;
}

namespace {

// Keras' short and long spellings of one metric: a figure is logged under the name given to
// compile(), so "acc" and "accuracy" are different keys.
std::string other_spelling(const std::string& metric) {
  static const std::pair<const char*, const char*> kSpellings[] = {
      {"acc", "accuracy"}, {"mae", "mean_absolute_error"}, {"mse", "mean_squared_error"}};
  for (const auto& [short_name, long_name] : kSpellings) {
    if (metric == short_name) return long_name;
    if (metric == long_name) return short_name;
  }
  return "";
}

}  // namespace

double monitored_value(const std::string& who, const std::string& monitor, const Logs& logs) {
  auto found = logs.find(monitor);
  if (found != logs.end()) return found->second;
  std::vector<std::string> names;
  bool any_validation = false;
  for (const auto& [name, value] : logs) {
    names.push_back(name);
    any_validation = any_validation || name.starts_with("val_");
  }
  const bool validation = monitor.starts_with("val_");
  std::string hint;
  const std::string metric = validation ? monitor.substr(4) : monitor;
  const std::string other = other_spelling(metric);
  if (!other.empty() && logs.contains((validation ? "val_" : "") + other)) {
    hint = fmt::format("; the metric was compiled as '{}', so monitor '{}{}'", other, validation ? "val_" : "", other);
  } else if (validation && !any_validation) {
    hint = "; validation figures need validation data (validation_data or validation_split)";
  }
  ad::fail("{}: unknown figure '{}' to monitor; the recorded figures are [{}]{}", who, monitor,
           fmt::join(names, ", "), hint);
}

// ---- EarlyStopping ----

namespace callbacks {

EarlyStopping::EarlyStopping(EarlyStoppingOptions options)
    : options_(std::move(options)),
      improvement_("EarlyStopping", options_.monitor, options_.mode, options_.min_delta) {
  TG_CHECK(options_.patience >= 0, "EarlyStopping: patience is {}; it must be 0 or more",
           options_.patience);
  TG_CHECK(options_.start_from_epoch >= 0,
           "EarlyStopping: start_from_epoch is {}; it must be 0 or more", options_.start_from_epoch);
  // No figure beats a NaN baseline: training would stop after patience epochs whatever it did.
  TG_CHECK(!options_.baseline || !std::isnan(*options_.baseline), "EarlyStopping: baseline is NaN; give a number");
}

void EarlyStopping::on_train_begin(Model& /*model*/) {
  wait_ = 0;
  best_.reset();
  best_epoch_.reset();
  stopped_epoch_.reset();
  best_weights_.clear();
}

void EarlyStopping::on_epoch_end(Model& model, int epoch, const Logs& logs) {
  if (epoch < options_.start_from_epoch) return;
  const double current = monitored_value("EarlyStopping", options_.monitor, logs);
  // Until some epoch improves (a NaN first figure does not), the current weights are the best.
  if (options_.restore_best_weights && best_weights_.empty()) {
    best_weights_ = model.get_weights();
    best_epoch_ = epoch;
  }
  ++wait_;
  if (improvement_(current, best_)) {
    best_ = current;
    best_epoch_ = epoch;
    if (options_.restore_best_weights) best_weights_ = model.get_weights();
    // Waiting starts over only when the figure beats the baseline too.
    if (!options_.baseline || improvement_(current, options_.baseline)) wait_ = 0;
    return;
  }
  // patience epochs in a row without improvement; the first epoch never stops training.
  if (wait_ >= options_.patience && epoch > 0) {
    stopped_epoch_ = epoch;
    model.stop_training = true;
  }
}

void EarlyStopping::on_train_end(Model& model, const Logs& /*logs*/) {
  if (stopped_epoch_ && options_.verbose > 0)
    fmt::print("Epoch {}: early stopping\n", *stopped_epoch_ + 1);
  if (options_.restore_best_weights && !best_weights_.empty()) {
    if (options_.verbose > 0)
      fmt::print("Restoring model weights from the end of the best epoch: {}.\n", *best_epoch_ + 1);
    model.set_weights(best_weights_);
  }
}

// ---- ModelCheckpoint ----

namespace {

// The widest field a path pattern may ask for: fmt would build the whole string, so
// "{epoch:2000000000d}" asked for 2 GB. No path component may exceed 255 bytes anyway.
constexpr int64_t kMaxFieldWidth = 4096;

// Throws naming `who` when a replacement field of the fmt pattern `path` asks for a width or a
// precision above kMaxFieldWidth (digit runs after a field's ':'; "{{" is a literal brace).
void check_field_widths(const std::string& path, const char* who) {
  bool in_spec = false;
  for (size_t i = 0; i < path.size(); ++i) {
    char c = path[i];
    if (!in_spec) {
      if (c == '{' && i + 1 < path.size() && path[i + 1] == '{') {
        ++i;
      } else if (c == '{') {
        size_t close = path.find_first_of(":}", i);
        if (close != std::string::npos && path[close] == ':') {
          in_spec = true;
          i = close;
        }
      }
      continue;
    }
    if (c == '}') {
      in_spec = false;
    } else if (std::isdigit(static_cast<unsigned char>(c))) {
      size_t end = i;
      while (end < path.size() && std::isdigit(static_cast<unsigned char>(path[end]))) ++end;
      std::string digits = path.substr(i, end - i);
      digits.erase(0, std::min(digits.find_first_not_of('0'), digits.size()));
      TG_CHECK(digits.size() <= 4 && (digits.empty() || std::stoll(digits) <= kMaxFieldWidth),
               "{}: the path '{}' asks for a field {} characters wide; at most {}", who, path,
               path.substr(i, end - i), kMaxFieldWidth);
      i = end - 1;
    }
  }
}

}  // namespace

ModelCheckpoint::ModelCheckpoint(std::string path, ModelCheckpointOptions options)
    : path_(std::move(path)),
      options_(std::move(options)),
      improvement_("ModelCheckpoint", options_.monitor, options_.mode) {
  TG_CHECK(!path_.empty(), "ModelCheckpoint: the path is empty");
  check_field_widths(path_, "ModelCheckpoint");
}

void ModelCheckpoint::on_train_begin(Model& /*model*/) {
  best_.reset();
  saved_.clear();
}

std::string ModelCheckpoint::path_for(int epoch, const Logs& logs) const {
  fmt::dynamic_format_arg_store<fmt::format_context> args;
  args.push_back(fmt::arg("epoch", epoch + 1));
  // fmt writes a NaN with its sign bit set as "-nan"; Python, whose patterns these are, "nan".
  for (const auto& [name, value] : logs)
    args.push_back(fmt::arg(name.c_str(), std::isnan(value) ? std::fabs(value) : value));
  try {
    return fmt::vformat(path_, args);
  } catch (const fmt::format_error& e) {
    std::vector<std::string> names = {"epoch"};
    for (const auto& [name, value] : logs) names.push_back(name);
    ad::fail("ModelCheckpoint: cannot fill in the path '{}' ({}); it may name [{}]", path_,
             e.what(), fmt::join(names, ", "));
  }
}

void ModelCheckpoint::on_epoch_end(Model& model, int epoch, const Logs& logs) {
  const std::string path = path_for(epoch, logs);
  if (options_.save_best_only) {
    const double current = monitored_value("ModelCheckpoint", options_.monitor, logs);
    // Keras starts from inf (-inf when maximizing), so a first figure of NaN improves on nothing.
    const std::string best_text = fixed_text(best_.value_or(improvement_.maximizes() ? -INFINITY : INFINITY), 5);
    if (!improvement_(current, best_)) {
      if (options_.verbose > 0)
        fmt::print("Epoch {}: {} did not improve from {}\n", epoch + 1, options_.monitor, best_text);
      return;
    }
    if (options_.verbose > 0)
      fmt::print("Epoch {}: {} improved from {} to {}, saving model to {}\n", epoch + 1, options_.monitor,
                 best_text, fixed_text(current, 5), path);
    best_ = current;
  } else if (options_.verbose > 0) {
    fmt::print("Epoch {}: saving model to {}\n", epoch + 1, path);
  }
  if (options_.save_weights_only)
    save_weights(model, path);
  else
    model.save(path);
  saved_.push_back(path);
}

// ---- CSVLogger ----

CSVLogger::CSVLogger(std::string path, CSVLoggerOptions options)
    : path_(std::move(path)), options_(options) {
  TG_CHECK(!path_.empty(), "CSVLogger: the path is empty");
  const char s = options_.separator;
  TG_CHECK(s != '\n' && s != '\r' && s != '"' && s != '\0',
           "CSVLogger: separator {:?} would break the rows: it cannot be a line end, a quote or NUL", s);
  TG_CHECK(!std::isalnum(static_cast<unsigned char>(s)) && s != '.' && s != '+' && s != '-',
           "CSVLogger: separator {:?} occurs in the numbers written (digits, '.', '+', '-', nan, inf, NA), "
           "so the columns could not be told apart",
           s);
}

void CSVLogger::on_train_begin(Model& /*model*/) {
  columns_.clear();
  rows_.clear();
  kept_.clear();
  crlf_ = false;
  std::error_code error;
  const auto status = std::filesystem::status(path_, error);
  if (options_.append && std::filesystem::exists(status)) {
    // Read only a log: a device such as /dev/zero never ends, a folder cannot be read.
    TG_CHECK(std::filesystem::is_regular_file(status), "CSVLogger: cannot append to '{}': it is {}", path_,
             std::filesystem::is_directory(status) ? "a folder" : "not a regular file (a device, pipe or socket)");
    std::ifstream in(path_, std::ios::binary);
    TG_CHECK(in.is_open(), "CSVLogger: cannot read '{}' to append to it", path_);
    kept_.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    if (!kept_.empty() && kept_.back() != '\n') kept_ += '\n';
  }
  // Fail now, not after the first epoch's work, when the file cannot be written.
  write_file_atomically(path_, kept_, "CSVLogger");
}

namespace {

// "epoch", then the figures' names sorted, as Keras' CSVLogger writes them (sorted(logs.keys());
// the byte order of UTF-8 names is Python's code point order).
std::vector<std::string> csv_columns(const Logs& logs) {
  std::vector<std::string> columns = {"epoch"};
  for (const auto& [name, value] : logs) columns.push_back(name);  // a std::map: sorted
  return columns;
}

}  // namespace

void CSVLogger::on_epoch_end(Model& /*model*/, int epoch, const Logs& logs) {
  const std::string separator(1, options_.separator);
  if (columns_.empty() && !kept_.empty()) {
    // Appending: the rows go under the file's own header, so they follow its columns ("NA"
    // where this run lacks a figure), with its line ends.
    std::string header = kept_.substr(0, kept_.find('\n'));
    if (!header.empty() && header.back() == '\r') {
      header.pop_back();
      crlf_ = true;
    }
    std::vector<std::string> columns;
    for (size_t begin = 0;;) {
      size_t end = header.find(options_.separator, begin);
      columns.push_back(header.substr(begin, end == std::string::npos ? std::string::npos : end - begin));
      if (end == std::string::npos) break;
      begin = end + 1;
    }
    TG_CHECK(columns.size() >= 1 && columns[0] == "epoch",
             "CSVLogger: '{}' does not start with a header of this logger, \"epoch\" then the figures separated "
             "by {:?} (its first line is {:?}); append to a file it wrote with the same separator",
             path_, options_.separator, header);
    for (size_t i = 1; i < columns.size(); ++i)
      TG_CHECK(std::find(columns.begin(), columns.begin() + static_cast<std::ptrdiff_t>(i), columns[i]) ==
                   columns.begin() + static_cast<std::ptrdiff_t>(i),
               "CSVLogger: '{}' names the column '{}' twice in its header", path_, columns[i]);
    columns_ = std::move(columns);
  }
  if (columns_.empty()) {
    std::vector<std::string> columns = csv_columns(logs);
    for (const std::string& column : columns) {
      check_utf8(column, "CSVLogger", "a column name");
      TG_CHECK(column.find_first_of(std::string{options_.separator, '\n', '\r', '"'}) == std::string::npos,
               "CSVLogger: '{}': the column name {:?} holds the separator {:?}, a quote or a line end", path_,
               column, options_.separator);
    }
    columns_ = std::move(columns);
  }
  // A figure without a column (appending to another run's file, or first logged after epoch 0)
  // cannot be written; Keras' CSVLogger (a csv.DictWriter) refuses it too.
  std::vector<std::string> missing;
  for (const auto& [name, value] : logs)
    if (std::find(columns_.begin(), columns_.end(), name) == columns_.end()) missing.push_back(name);
  TG_CHECK(missing.empty(), "CSVLogger: '{}' has the columns [{}]; epoch {} also logs [{}]{}", path_,
           fmt::join(columns_, ", "), epoch, fmt::join(missing, ", "),
           kept_.empty() ? "" : ": append to another file");
  std::string row = fmt::format("{}", epoch);  // Keras' CSVLogger writes epochs from 0
  for (size_t i = 1; i < columns_.size(); ++i) {
    auto found = logs.find(columns_[i]);
    // The shortest text that reads back as the same double.
    row += options_.separator + (found == logs.end() ? std::string("NA") : shortest_text(found->second));
  }
  rows_.push_back(std::move(row));

  const char* line_end = crlf_ ? "\r\n" : "\n";
  std::string text = kept_;
  if (kept_.empty()) text += fmt::format("{}{}", fmt::join(columns_, separator), line_end);
  for (const std::string& r : rows_) text += r + line_end;
  write_file_atomically(path_, text, "CSVLogger");
}

// ---- TerminateOnNaN ----

void TerminateOnNaN::on_train_begin(Model& /*model*/) {
  terminated_batch_.reset();
  reported_ = false;
}

void TerminateOnNaN::on_batch_end(Model& model, int batch, const Logs& logs) {
  auto loss = logs.find("loss");
  if (loss == logs.end() || std::isfinite(loss->second)) return;
  terminated_batch_ = batch;
  model.stop_training = true;
}

// Said once the epoch's progress line is complete, so that it follows the line instead of
// breaking into it.
void TerminateOnNaN::on_epoch_end(Model& /*model*/, int /*epoch*/, const Logs& /*logs*/) {
  if (terminated_batch_ && !reported_) fmt::print("Batch {}: Invalid loss, terminating training\n", *terminated_batch_);
  reported_ = terminated_batch_.has_value();
}

// ---- LambdaCallback ----

void LambdaCallback::on_train_begin(Model& model) {
  if (functions_.on_train_begin) functions_.on_train_begin(model);
}
void LambdaCallback::on_epoch_begin(Model& model, int epoch) {
  if (functions_.on_epoch_begin) functions_.on_epoch_begin(model, epoch);
}
void LambdaCallback::on_batch_end(Model& model, int batch, const Logs& logs) {
  if (functions_.on_batch_end) functions_.on_batch_end(model, batch, logs);
}
void LambdaCallback::on_epoch_end(Model& model, int epoch, const Logs& logs) {
  if (functions_.on_epoch_end) functions_.on_epoch_end(model, epoch, logs);
}
void LambdaCallback::on_train_end(Model& model, const Logs& logs) {
  if (functions_.on_train_end) functions_.on_train_end(model, logs);
}

}  // namespace callbacks

// ---- Factories ----

std::shared_ptr<callbacks::EarlyStopping> EarlyStopping(EarlyStoppingOptions options) {
  return std::make_shared<callbacks::EarlyStopping>(std::move(options));
}
std::shared_ptr<callbacks::ModelCheckpoint> ModelCheckpoint(std::string path,
                                                           ModelCheckpointOptions options) {
  return std::make_shared<callbacks::ModelCheckpoint>(std::move(path), std::move(options));
}
std::shared_ptr<callbacks::CSVLogger> CSVLogger(std::string path, CSVLoggerOptions options) {
  return std::make_shared<callbacks::CSVLogger>(std::move(path), options);
}
std::shared_ptr<callbacks::TerminateOnNaN> TerminateOnNaN() {
  return std::make_shared<callbacks::TerminateOnNaN>();
}
std::shared_ptr<callbacks::LambdaCallback> LambdaCallback(LambdaCallbackOptions functions) {
  return std::make_shared<callbacks::LambdaCallback>(std::move(functions));
}

}  // namespace nn
