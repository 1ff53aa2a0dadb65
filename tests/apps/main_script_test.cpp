// scripts/main.sh, run on a copy whose set-up step and app are stand-ins that only record
// what they were given, so that its handling of --out is checked without a build.
#include <doctest/doctest.h>
#include <fmt/format.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "../nn/scratch_folder.h"
#include "run_app.h"

namespace {

// The arguments main.sh hands to the app, one per line.
std::string app_arguments(const std::string& arguments) {
  tests::ScratchFolder root;
  const std::filesystem::path scripts = root.path() / "scripts", apps = root.path() / "build" / "apps";
  std::filesystem::create_directories(scripts);
  std::filesystem::create_directories(apps);
  std::filesystem::copy_file(std::filesystem::path(TAPEGRAD_SOURCE_DIR) / "scripts" / "main.sh", scripts / "main.sh");
  std::ofstream(scripts / "setup.sh") << "exit 0\n";
  const std::filesystem::path app = apps / "fashion_mnist";
  std::ofstream(app) << "#!/bin/sh\nfor a in \"$@\"; do echo \"$a\"; done\n";
  std::filesystem::permissions(app, std::filesystem::perms::owner_all);
  const std::string command =
      fmt::format("env -u BUILD_DIR bash '{}' {} 2>&1", (scripts / "main.sh").string(), arguments);
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(command.c_str(), "r"), pclose);
  REQUIRE(pipe != nullptr);
  std::string output;
  char buffer[4096];
  for (size_t count; (count = fread(buffer, 1, sizeof buffer, pipe.get())) > 0;) output.append(buffer, count);
  CHECK(pclose(pipe.release()) == 0);
  // The root's own path differs per run: name it ROOT.
  for (size_t at; (at = output.find(root.path().string())) != std::string::npos;)
    output.replace(at, root.path().string().size(), "ROOT");
  return output;
}

}  // namespace

TEST_CASE("scripts/main.sh writes to ./out by default and lets the user's --out win") {
  CHECK(app_arguments("--epochs 5") == "--out\nROOT/out\n--epochs\n5\n");
  CHECK(app_arguments("--epochs 5 --out /tmp/mine") == "--epochs\n5\n--out\n/tmp/mine\n");
  CHECK(app_arguments("--out=/tmp/mine") == "--out=/tmp/mine\n");
}
