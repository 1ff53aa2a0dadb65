/// @file
/// Numeric tables from CSV files with a header line, split into features and one target column
/// chosen by name, for regression and small classification problems.
///
/// @code
/// datasets::CsvTable table = datasets::load_csv("housing.csv", {.target = "price"});
/// table.features;        // [n, d]: every other column, in file order
/// table.target;          // [n]
/// table.feature_names;   // the d header names
/// @endcode
///
/// Fields may be quoted ("1,5" is one field; "" inside quotes is a quote); lines may end in
/// LF or CRLF, and blank lines are skipped. Every cell must be a finite number. A broken file
/// throws ad::Error naming the file, the 1-based line and column and the header name, e.g.
/// `load_csv: housing.csv: line 7, column 3 ("rooms"): "n/a" is not a number`.
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "tapegrad/autodiff/tensor.h"

namespace datasets {

/// How load_csv() reads a table.
struct CsvOptions {
  std::string target = {};  ///< the target column's header name; empty: every column is a feature
  char delimiter = ',';     ///< ';' or a tab (`'\\t'`) for other conventions
};

/// A numeric table split into features and a target column.
struct CsvTable {
  ad::Tensor features;  ///< [rows, columns - 1], or [rows, columns] without a target
  ad::Tensor target;    ///< [rows], or empty without a target
  std::vector<std::string> feature_names;  ///< the header names of the feature columns, in file order
  std::string target_name;  ///< the target column's header name, empty without one
};

/// Reads the CSV file at `path`: a header line, then one row of finite numbers per line.
/// Throws ad::Error naming the file, line, column and header for an unreadable file, a missing
/// target column, a row of the wrong width or a cell that is not a finite number.
CsvTable load_csv(const std::string& path, const CsvOptions& options = {});

/// The same from text in memory; `name` stands for the file in error messages.
CsvTable parse_csv(std::string_view text, const CsvOptions& options = {}, std::string_view name = "<text>");

}  // namespace datasets
