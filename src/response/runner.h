// Runs a response program directly (posix_spawn, which forks and execs; never a shell) with a
// time limit, and collects its exit status and output.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "common/status.h"

namespace vigil::response {

struct ProgramResult {
  Status spawn_status;      // not OK when the program could not be started
  int exit_status = -1;     // exit code, or -1 when it was killed by a signal
  int signal = 0;           // the signal that ended it, 0 when it exited
  bool timed_out = false;   // it ran past the time limit and was killed with SIGKILL
  std::string stderr_text;  // the first kMaxCapturedBytes of its standard error
  std::string stdout_text;  // the first kMaxCapturedBytes of its standard output
  std::chrono::milliseconds duration{0};

  bool succeeded() const { return spawn_status.ok() && exit_status == 0; }
};

inline constexpr size_t kMaxCapturedBytes = 4096;

// Runs `path` with argv[0] = path and then `args`, the environment `env` ("NAME=value"
// strings, nothing inherited), `stdin_text` on standard input (empty: /dev/null-like EOF),
// in a new session. When the program runs longer than `time_limit`, its whole process group
// gets SIGKILL. Blocks until the program has ended. Thread-safe.
ProgramResult RunProgram(const std::string& path, const std::vector<std::string>& args,
                         const std::vector<std::string>& env, const std::string& stdin_text,
                         std::chrono::milliseconds time_limit);

// Returns a one-line summary such as "exit status 0", "killed by signal 9" or
// "timed out after 60000 ms".
std::string DescribeResult(const ProgramResult& result);

}  // namespace vigil::response
