// Runs the real `vigil` binary from tests and captures its output.
#pragma once

#include <string>
#include <vector>

namespace vigil::testing {

struct ProcessResult {
  int exit_code = -1;  // the exit status, or 128 + signal number
  std::string out;
  std::string err;
};

// Runs `vigil` with `args`, feeding `input` on stdin, and waits for it.
ProcessResult RunVigil(const std::vector<std::string>& args, const std::string& input = "");

// Starts `vigil` with `args` in the background; returns its pid. Output goes to `log_path`.
int StartVigil(const std::vector<std::string>& args, const std::string& log_path);

// Sends `signal` to `pid` and waits for it; returns its exit code (128 + signal if killed).
int StopProcess(int pid, int signal);

// Path of the vigil binary under test.
std::string VigilBinary();

}  // namespace vigil::testing
