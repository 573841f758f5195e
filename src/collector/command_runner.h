// Runs a configured command through /bin/sh and captures its standard output.
#pragma once

#include <chrono>
#include <string>

#include "common/status.h"

namespace vigil::collector {

struct CommandResult {
  std::string output;      // standard output; standard error goes to Vigil's own stderr
  int exit_status = 0;     // exit code, or 128 + signal number when a signal ended it
  bool timed_out = false;  // the command ran past its timeout and was killed
};

// Runs `command` with `/bin/sh -c`, as OSSEC's command and full_command do with popen(3), so
// operators can write pipelines. Stops reading after `max_output_bytes` (the rest is
// discarded) and kills the command's process group after `timeout`. Errors are failures to
// start the shell; a command that fails still returns its output and exit status.
Expected<CommandResult> RunCommand(const std::string& command, std::chrono::milliseconds timeout,
                                   size_t max_output_bytes);

}  // namespace vigil::collector
