// What the apps share: one way of turning a user's mistake (a bad file, an option value the
// library refuses) into one line and exit code 1, and truth tables of models whose inputs
// and outputs are tensors of bits.
//
//   int main(int argc, char** argv) {
//     ...parse options...
//     return apps::run_reporting_errors("xor", [&] { ... });
//   }
//   fmt::print("{}", nn::to_string(apps::truth_table_of(X, perceptron.predict(X), {"A", "B"}, {"A XOR B"})));
#pragma once
#include <fmt/format.h>

#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "tapegrad/autodiff/tensor.h"
#include "tapegrad/nn/logic_unit.h"

namespace apps {

template <typename Body>
int run_reporting_errors(const char* app, Body&& body) {
  try {
    body();
    return 0;
  } catch (const std::exception& error) {
    std::fflush(stdout);  // what the app printed so far comes first
    fmt::print(stderr, "{}: {}\n", app, error.what());
    return 1;
  }
}

// inputs [rows,inputs] of 0/1; outputs [rows] or [rows,outputs], read as 1 from 0.5 up (so
// that probabilities can be given as they are).
inline nn::TruthTable truth_table_of(const ad::Tensor& inputs, const ad::Tensor& outputs,
                                     std::vector<std::string> input_names, std::vector<std::string> output_names) {
  const int64_t rows = inputs.dim(0), width = inputs.dim(1), outputs_per_row = outputs.size() / rows;
  TG_CHECK(width == int64_t(input_names.size()) && outputs_per_row == int64_t(output_names.size()) &&
               outputs.dim(0) == rows,
           "truth_table_of: inputs {} and outputs {} do not match {} input and {} output names",
           ad::to_string(inputs.shape()), ad::to_string(outputs.shape()), input_names.size(), output_names.size());
  nn::TruthTable table{.inputs = std::move(input_names), .outputs = std::move(output_names), .rows = {}};
  for (int64_t i = 0; i < rows; ++i) {
    std::vector<int> row;
    for (int64_t j = 0; j < width; ++j) row.push_back(inputs[i * width + j] >= 0.5f);
    for (int64_t j = 0; j < outputs_per_row; ++j) row.push_back(outputs[i * outputs_per_row + j] >= 0.5f);
    table.rows.push_back(std::move(row));
  }
  return table;
}

}  // namespace apps
