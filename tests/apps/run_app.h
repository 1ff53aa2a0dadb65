// Runs one of the built apps the way a user would and captures what it prints, so that the
// app tests check the programs themselves rather than the functions behind them.
//
//   AppRun run = run_app("xor", "--seed 3");
//   CHECK(run.exit_code == 0);
//   CHECK(contains(run.output, "A XOR B"));
#pragma once
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <cstdio>
#include <filesystem>
#include <initializer_list>
#include <memory>
#include <regex>
#include <string>
#include <sys/wait.h>

struct AppRun {
  std::string output;  // stdout and stderr together
  int exit_code = -1;
};

// `arguments` goes to the shell as written: quote paths that may hold spaces.
inline AppRun run_app(const std::string& name, const std::string& arguments = "") {
  const std::filesystem::path binary = std::filesystem::path(TAPEGRAD_BINARY_DIR) / "apps" / name;
  REQUIRE_MESSAGE(std::filesystem::exists(binary), "build the app first: ", binary.string());
  const std::string command = fmt::format("'{}' {} 2>&1", binary.string(), arguments);
  AppRun run;
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(command.c_str(), "r"), pclose);
  REQUIRE_MESSAGE(pipe != nullptr, "cannot start ", command);
  char buffer[4096];
  size_t count;
  while ((count = fread(buffer, 1, sizeof buffer, pipe.get())) > 0) run.output.append(buffer, count);
  const int status = pclose(pipe.release());
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return run;
}

inline bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// `--help` succeeds and its text mentions each of `words` (options, what the app is about).
inline void check_help_mentions(const std::string& name, std::initializer_list<const char*> words) {
  AppRun help = run_app(name, "--help");
  CAPTURE(help.output);
  CHECK(help.exit_code == 0);
  for (const char* word : words) CHECK_MESSAGE(contains(help.output, word), "--help does not mention ", word);
}

// The app refuses `arguments` before doing any work, with `message` (the option and, in
// words, what it accepts), and no range of computer limits ("not in range 0.000000 to
// 1797693134862315708...") or internal names.
inline void check_option_refused(const std::string& name, const std::string& arguments, const std::string& message) {
  AppRun run = run_app(name, arguments);
  CAPTURE(arguments);
  CAPTURE(run.output);
  CHECK(run.exit_code != 0);
  CHECK_MESSAGE(contains(run.output, message), "expected: ", message);
  CHECK_FALSE(contains(run.output, "not in range"));
  CHECK_FALSE(std::regex_search(run.output, std::regex(R"(\d{12})")));
  CHECK_FALSE(contains(run.output, "Epoch 1/"));
}

struct RefusedOption {
  std::string arguments, message;
};

// check_option_refused for each row of a table.
inline void check_options_refused(const std::string& name, std::initializer_list<RefusedOption> table) {
  for (const RefusedOption& row : table) check_option_refused(name, row.arguments, row.message);
}
