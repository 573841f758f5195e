// A real `vigil run` process for end-to-end tests of active response. It gets its own folder
// with a configuration that follows one log file with the bundled rules, and a responses
// folder. Helpers start it (optionally inside a network namespace), append log lines and run
// `vigil control` against it. The destructor kills a daemon that is still running.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "cli/process.h"
#include "common/status.h"

namespace vigil::response::testing {

class DaemonLab {
 public:
  // Uses `dir` (which must exist) for everything: vigil.conf, auth.log (the followed file),
  // active-response/ (the responses folder), var/state and var/alerts.
  explicit DaemonLab(std::string dir);
  ~DaemonLab();
  DaemonLab(const DaemonLab&) = delete;
  DaemonLab& operator=(const DaemonLab&) = delete;

  // Writes vigil.conf: the bundled decoders and rules, auth.log as a syslog file, and
  // `response_xml` (the <command> and <active-response> elements) inside <ossec_config>.
  void WriteConfig(const std::string& response_xml);

  // Copies a shipped program (and common.sh) from active-response/ into the responses folder.
  Status InstallShippedProgram(const std::string& name);

  // Starts `vigil run -c vigil.conf`, inside the network namespace `netns` when it is not
  // empty, and waits up to 20 s until it logs "running:". `ip netns exec` replaces itself with
  // the daemon, so the pid is the daemon's.
  Status Start(const std::string& netns = "");
  // Stops the daemon with SIGTERM; returns its exit code.
  int Stop();
  bool running() const { return pid_ > 0; }

  // Appends one line to auth.log with a single write().
  void Append(const std::string& line) const;

  // Runs `vigil control -c vigil.conf` with `args`.
  vigil::testing::ProcessResult Control(const std::vector<std::string>& args) const;

  // The daemon's status log (stdout and stderr).
  std::string RunLog() const;
  // The contents of alerts.log.
  std::string Alerts() const;

  const std::string& dir() const { return dir_; }
  std::string log_path() const { return dir_ + "/auth.log"; }
  std::string responses_dir() const { return dir_ + "/active-response"; }
  std::string config_path() const { return dir_ + "/vigil.conf"; }

 private:
  std::string dir_;
  int pid_ = -1;
};

// An sshd line for a failed password of `user` from `address`, as the bundled sshd decoder
// reads it: user and address land in dstuser and srcip.
std::string FailedPasswordLine(const std::string& user, const std::string& address, int port);

// Polls `condition` every 20 ms until it is true or `timeout` passes; returns its last value.
bool WaitUntil(const std::function<bool()>& condition, std::chrono::milliseconds timeout);

}  // namespace vigil::response::testing
