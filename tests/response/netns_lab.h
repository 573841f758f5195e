// A two-namespace network for end-to-end tests of active response: a victim namespace with a
// TCP listener that logs a failed login for every connection, and an attacker namespace that
// connects to it over a veth pair, by IPv4 and IPv6. Everything it creates is named
// `vigil-test-<pid>-...` and removed by the destructor, also when a test fails.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <regex>
#include <string>
#include <thread>

#include "common/status.h"
#include "response/responder.h"

namespace vigil::response::testing {

// Returns an empty string when the process can build the lab (CAP_NET_ADMIN and
// CAP_SYS_ADMIN, and the ip and nft programs), else the reason to skip.
std::string LabUnavailableReason();

class NetnsLab {
 public:
  // Creates the namespaces, the veth pair (10.231.0.1 victim, 10.231.0.2 attacker,
  // fd00:7a6c::1 and ::2), and the listener on port 2222 in the victim namespace, which
  // appends an sshd-style failed-login line with the peer's address to `log_path`.
  static Expected<std::unique_ptr<NetnsLab>> Create(const std::string& log_path);
  ~NetnsLab();

  const std::string& victim() const { return victim_; }
  const std::string& attacker() const { return attacker_; }
  // A name for the nftables table, unique to this lab.
  const std::string& table() const { return table_; }
  static constexpr const char* kVictimV4 = "10.231.0.1";
  static constexpr const char* kAttackerV4 = "10.231.0.2";
  static constexpr const char* kVictimV6 = "fd00:7a6c::1";
  static constexpr const char* kAttackerV6 = "fd00:7a6c::2";

  // Connects from the attacker namespace to the listener; returns true when the TCP
  // handshake completes within `timeout`.
  bool AttackerConnects(const std::string& victim_address, std::chrono::milliseconds timeout);

  // Calls `function` on a thread that has entered the victim namespace, and waits for it.
  // Threads and processes that `function` starts stay in that namespace.
  Status CallInVictim(const std::function<void()>& function);

  // Runs a command line (split at spaces) inside the victim namespace and returns its output.
  std::string RunInVictim(const std::string& command);

 private:
  NetnsLab() = default;
  void Listen();

  std::string victim_, attacker_, veth_victim_, veth_attacker_, table_, log_path_;
  int victim_fd_ = -1, attacker_fd_ = -1, listen_fd_ = -1, listen6_fd_ = -1, stop_fd_ = -1;
  std::thread listener_;
};

// Tails a log file with inotify and turns each sshd failed-login line into an alert for the
// Responder. It replaces the collector and the analysis engine, which the full-daemon test
// will use instead. The regex plays rule 5716, at level 10 (OSSEC's is level 5) so that the
// test's response binds.
class FailedLoginMatcher {
 public:
  FailedLoginMatcher(std::string path, Responder* responder);
  ~FailedLoginMatcher();
  Status Start();
  uint64_t alerts() const { return alerts_; }

 private:
  void Run();
  std::string path_;
  Responder* responder_;
  int inotify_fd_ = -1, stop_fd_ = -1, file_fd_ = -1;
  std::thread thread_;
  std::atomic<uint64_t> alerts_{0};
};

// Appends one line to a file with a single write().
void AppendLine(const std::string& path, const std::string& line);

}  // namespace vigil::response::testing
