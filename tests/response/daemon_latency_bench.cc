// Measures, through the real daemon, the time from a failed-login line appended to a
// followed file until the nftables element that blocks its address is committed, over many
// runs, and prints the median and the 99th percentile.
//
// `vigil run` runs inside the victim namespace of a NetnsLab with the bundled rules and
// firewall-drop bound to the brute_force group, so rule 501100 fires on the 8th failed login
// from one address. Each run uses a new address: it appends 7 lines, waits until the 7th is
// in alerts.log, then times the 8th. The pipeline measured is the collector (inotify), the
// analysis engine, the Responder, the execq datagram, execd and firewall-drop (the shipped
// program, or with --builtin the libnftables action on execd's worker thread). The end time is
// when `nft monitor new elements` in the victim namespace prints the address. Needs root;
// exits 0 with a message when it cannot build the lab.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "bench_support.h"
#include "common/logging.h"
#include "daemon_lab.h"
#include "netns_lab.h"
#include "response/builtin_firewall.h"
#include "response/test_support.h"

namespace vigil::response {
namespace {

using testing::BenchClock;

constexpr int kFailuresToBlock = 8;

// Follows a growing file and waits for text to appear in it.
class FileFollower {
 public:
  explicit FileFollower(const std::string& path) : path_(path) {}
  ~FileFollower() {
    if (fd_ >= 0) ::close(fd_);
  }

  // Waits up to `timeout` until `needle` appears in text appended since the last match.
  bool WaitFor(const std::string& needle, std::chrono::milliseconds timeout) {
    return testing::WaitUntil(
        [&] {
          ReadNew();
          const size_t found = text_.find(needle);
          if (found == std::string::npos) return false;
          text_.erase(0, found + needle.size());
          return true;
        },
        timeout);
  }

 private:
  void ReadNew() {
    if (fd_ < 0) fd_ = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) return;
    char buffer[65536];
    ssize_t n;
    while ((n = ::read(fd_, buffer, sizeof(buffer))) > 0) text_.append(buffer, n);
  }

  std::string path_;
  int fd_ = -1;
  std::string text_;
};

std::string RunAddress(int run) {
  return "10.240." + std::to_string(run / 250) + "." + std::to_string(run % 250 + 1);
}

// Appends the lines of one brute-force run; the users differ so that only 501100 fires.
void AppendFailures(const testing::DaemonLab& daemon, const std::string& address, int run,
                    int first, int last) {
  for (int i = first; i <= last; ++i) {
    daemon.Append(testing::FailedPasswordLine("u" + std::to_string(run) + "x" + std::to_string(i),
                                              address, 40000 + i));
  }
}

int Run(int runs, bool builtin) {
  const std::string reason = testing::LabUnavailableReason();
  if (!reason.empty()) {
    std::printf("skipped: %s\n", reason.c_str());
    return 0;
  }
  testing::TempDir dir;
  auto lab = testing::NetnsLab::Create(dir.path() + "/listener.log");
  if (!lab.ok()) {
    std::fprintf(stderr, "cannot build the namespaces: %s\n", lab.status().message().c_str());
    return 1;
  }
  testing::DaemonLab daemon(dir.path());
  if (!builtin && !daemon.InstallShippedProgram("firewall-drop").ok()) return 1;
  std::ofstream(daemon.responses_dir() + "/firewall-drop.conf")
      << "table=" << (*lab)->table() << "\n";
  const std::string executable =
      builtin ? std::string(kBuiltinFirewallDrop) : std::string("firewall-drop");
  daemon.WriteConfig("  <command>\n    <name>firewall-drop</name>\n    <executable>" + executable +
                     "</executable>\n    <expect>srcip</expect>\n"
                     "    <timeout_allowed>yes</timeout_allowed>\n  </command>\n"
                     "  <active-response>\n    <command>firewall-drop</command>\n"
                     "    <location>local</location>\n    <rules_group>brute_force</rules_group>\n"
                     "    <timeout>600</timeout>\n  </active-response>\n");
  daemon.Append("Dec  4 15:59:59 victim sshd[1]: Server listening on 0.0.0.0 port 22.");
  Status started = daemon.Start((*lab)->victim());
  if (!started.ok()) {
    std::fprintf(stderr, "%s\n", started.message().c_str());
    return 1;
  }
  FileFollower alerts(daemon.dir() + "/var/alerts/alerts.log");

  // A first block creates the table, so the monitor and the measured runs see only elements.
  AppendFailures(daemon, "10.250.0.1", runs, 1, kFailuresToBlock);
  if (!alerts.WaitFor("Rule: 501100 ", std::chrono::seconds(10))) {
    std::fprintf(stderr, "the first block did not fire:\n%s\n", daemon.RunLog().c_str());
    return 1;
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  testing::ElementMonitor monitor((*lab)->victim());
  std::this_thread::sleep_for(std::chrono::milliseconds(300));

  std::vector<double> samples;
  int lost = 0;
  for (int run = 0; run < runs; ++run) {
    const std::string address = RunAddress(run);
    AppendFailures(daemon, address, run, 1, kFailuresToBlock - 1);
    const std::string last_warmup =
        "u" + std::to_string(run) + "x" + std::to_string(kFailuresToBlock - 1) + " from " + address;
    if (!alerts.WaitFor(last_warmup, std::chrono::seconds(5))) {
      ++lost;
      continue;
    }
    const auto start = BenchClock::now();
    AppendFailures(daemon, address, run, kFailuresToBlock, kFailuresToBlock);
    BenchClock::time_point done;
    if (!monitor.WaitFor(address, std::chrono::seconds(5), &done)) {
      ++lost;
      continue;
    }
    samples.push_back(std::chrono::duration<double, std::milli>(done - start).count());
  }
  const int stopped = daemon.Stop();
  if (samples.empty()) {
    std::fprintf(stderr, "no run completed:\n%s\n", daemon.RunLog().c_str());
    return 1;
  }
  testing::PrintLatencySummary(samples, lost);
  if (stopped != 0) std::fprintf(stderr, "vigil run exited with %d\n", stopped);
  return lost == 0 && stopped == 0 ? 0 : 1;
}

}  // namespace
}  // namespace vigil::response

int main(int argc, char** argv) {
  const vigil::response::testing::BenchOptions options =
      vigil::response::testing::ParseBenchOptions(argc, argv);
  vigil::ConfigureLogging({"warn", ""});
  return vigil::response::Run(options.runs, options.builtin);
}
