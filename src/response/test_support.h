// Helpers for the response tests: temporary folders, a recording response program and
// configurations.
#pragma once

#include <string>
#include <vector>

#include "config/config.h"

namespace vigil::response::testing {

// A fresh folder under /tmp, removed with everything in it on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// One run of the recording program: its arguments after argv[0], its stdin and environment.
struct RecordedRun {
  std::vector<std::string> args;
  std::string stdin_text;
  std::vector<std::string> env;
};

// Writes an executable shell script `<dir>/<name>` that records each run under
// `<dir>/runs-<name>/` and then exits with `exit_status` after `sleep_seconds`.
void WriteRecorder(const std::string& dir, const std::string& name, int exit_status = 0,
                   double sleep_seconds = 0);

// Returns the runs recorded by WriteRecorder's program `name`, in the order they started.
std::vector<RecordedRun> ReadRuns(const std::string& dir, const std::string& name);

// Returns a configuration with the paths set and one command `name` per executable.
config::Config MakeConfig(const std::string& state_dir, const std::string& responses_dir);

// Adds a command and a response bound to rules of `level` and above.
config::ActiveResponseConfig& AddResponse(config::Config* config, const std::string& name,
                                          const std::string& executable, bool expect_srcip,
                                          bool expect_user, int timeout_seconds, int level = 6);

}  // namespace vigil::response::testing
