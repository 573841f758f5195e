#include "response/test_support.h"

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace vigil::response::testing {

TempDir::TempDir() {
  std::string pattern = "/tmp/vigil-test-response-XXXXXX";
  path_ = ::mkdtemp(pattern.data());
}

TempDir::~TempDir() {
  std::error_code error;
  std::filesystem::remove_all(path_, error);
}

void WriteRecorder(const std::string& dir, const std::string& name, int exit_status,
                   double sleep_seconds) {
  const std::string runs = dir + "/runs-" + name;
  std::filesystem::create_directories(runs);
  std::ofstream script(dir + "/" + name);
  // Each run writes its NUL-separated arguments, stdin and environment to files named by the
  // start time in nanoseconds, so the runs sort in start order.
  script << "#!/bin/sh\n"
         << "f=" << runs << "/$(date +%s%N).$$\n"
         << "printf '%s\\0' \"$@\" > \"$f.args.tmp\"\n"
         << "cat > \"$f.stdin\"\n"
         << "env > \"$f.env\"\n"
         << "mv \"$f.args.tmp\" \"$f.args\"\n"
         << "echo \"recorder $1\" >&2\n";
  if (sleep_seconds > 0) script << "sleep " << sleep_seconds << "\n";
  script << "exit " << exit_status << "\n";
  script.close();
  ::chmod((dir + "/" + name).c_str(), 0755);
}

namespace {

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::vector<std::string> Split(const std::string& text, char separator) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find(separator, start);
    if (end == std::string::npos) end = text.size();
    parts.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return parts;
}

}  // namespace

std::vector<RecordedRun> ReadRuns(const std::string& dir, const std::string& name) {
  std::vector<std::string> files;
  std::error_code error;
  for (const auto& item : std::filesystem::directory_iterator(dir + "/runs-" + name, error)) {
    const std::string path = item.path().string();
    if (path.size() > 5 && path.compare(path.size() - 5, 5, ".args") == 0) {
      files.push_back(path.substr(0, path.size() - 5));
    }
  }
  std::sort(files.begin(), files.end());
  std::vector<RecordedRun> runs;
  for (const std::string& base : files) {
    RecordedRun run;
    run.args = Split(Slurp(base + ".args"), '\0');
    run.stdin_text = Slurp(base + ".stdin");
    run.env = Split(Slurp(base + ".env"), '\n');
    runs.push_back(std::move(run));
  }
  return runs;
}

config::Config MakeConfig(const std::string& state_dir, const std::string& responses_dir) {
  config::Config config;
  config.path = state_dir + "/vigil.conf";
  config.paths.state_dir = state_dir;
  config.paths.responses_dir = responses_dir;
  return config;
}

config::ActiveResponseConfig& AddResponse(config::Config* config, const std::string& name,
                                          const std::string& executable, bool expect_srcip,
                                          bool expect_user, int timeout_seconds, int level) {
  config::CommandConfig command;
  command.name = name;
  command.executable = executable;
  command.expect_srcip = expect_srcip;
  command.expect_user = expect_user;
  command.timeout_allowed = true;
  config->commands.push_back(command);
  config::ActiveResponseConfig response;
  response.command = name;
  response.locations = static_cast<unsigned>(config::ResponseLocation::kLocal);
  response.level = level;
  response.timeout_seconds = timeout_seconds;
  config->active_responses.push_back(response);
  return config->active_responses.back();
}

}  // namespace vigil::response::testing
