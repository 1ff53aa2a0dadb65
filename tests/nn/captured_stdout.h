// What a piece of code writes to standard output (C stdio and std::cout alike, in the order
// written), for tests of messages that Keras prints there too (callbacks, progress).
//
//   std::string text = tests::captured_stdout([&] { checkpoint->on_epoch_end(model, 0, logs); });
#pragma once
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <stdexcept>
#include <string>

#include "tests/nn/scratch_folder.h"

namespace tests {

template <typename Body>
std::string captured_stdout(Body&& body) {
  ScratchFolder folder;
  const std::string path = folder.file("stdout.txt");
  std::cout.flush();
  std::fflush(stdout);
  const int saved = ::dup(STDOUT_FILENO);
  FILE* file = std::fopen(path.c_str(), "w");
  if (saved < 0 || file == nullptr) throw std::runtime_error("captured_stdout: cannot redirect standard output");
  ::dup2(::fileno(file), STDOUT_FILENO);
  auto restore = [&] {
    std::cout.flush();
    std::fflush(stdout);
    ::dup2(saved, STDOUT_FILENO);
    ::close(saved);
    std::fclose(file);
  };
  try {
    body();
  } catch (...) {
    restore();
    throw;
  }
  restore();
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace tests
