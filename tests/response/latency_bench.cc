// Measures the time from a failed-login line appended to a monitored file until the
// nftables element that blocks its address is committed, over many runs, and prints the
// median and the 99th percentile.
//
// Pipeline per run: write() to the file, inotify wakes FailedLoginMatcher (a regex standing
// in for the collector and analysis engine), Responder, JSON datagram on execq, execd,
// worker thread, the shipped firewall-drop (bash, one nft -f) inside the victim namespace.
// With --builtin, execd applies the same ruleset through libnftables on its worker thread
// (builtin:firewall-drop) instead of starting the program.
// The end time is when `nft monitor new elements`, started in that namespace beforehand,
// prints the address. Needs root; exits 0 with a message when it cannot build the lab.
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "bench_support.h"
#include "common/file.h"
#include "netns_lab.h"
#include "response/builtin_firewall.h"
#include "response/execd.h"
#include "response/responder.h"
#include "response/test_support.h"

namespace vigil::response {
namespace {

using Clock = std::chrono::steady_clock;

int Run(int runs, bool builtin) {
  const std::string reason = testing::LabUnavailableReason();
  if (!reason.empty()) {
    std::printf("skipped: %s\n", reason.c_str());
    return 0;
  }
  testing::TempDir dir;
  const std::string log_path = dir.path() + "/auth.log";
  testing::AppendLine(log_path, "start");
  auto lab = testing::NetnsLab::Create(log_path);
  if (!lab.ok()) {
    std::fprintf(stderr, "cannot build the namespaces: %s\n", lab.status().message().c_str());
    return 1;
  }
  // execd starts inside the victim namespace, so its threads and the programs they start are
  // there too, as on a real host. firewall-drop reads its table name from firewall-drop.conf.
  const std::string bin = dir.path() + "/bin";
  (void)MakeDirectories(bin);
  for (const char* name : {"firewall-drop", "common.sh"}) {
    if (builtin) break;
    std::filesystem::copy_file(std::string(VIGIL_SOURCE_DIR) + "/active-response/" + name,
                               bin + "/" + name);
  }
  std::ofstream(bin + "/firewall-drop.conf") << "table=" << (*lab)->table() << "\n";
  config::Config config = testing::MakeConfig(dir.path() + "/state", bin);
  testing::AddResponse(&config, "firewall-drop",
                       builtin ? std::string(kBuiltinFirewallDrop) : "firewall-drop", true, false,
                       600);
  ExecdOptions options;
  options.state_dir = config.paths.state_dir;
  options.responses_dir = bin;
  Expected<std::unique_ptr<Execd>> execd = Status::Internal("execd did not start");
  Status entered = (*lab)->CallInVictim([&] { execd = Execd::Start(config, options); });
  if (!entered.ok() || !execd.ok()) {
    std::fprintf(stderr, "%s\n", (entered.ok() ? execd.status() : entered).message().c_str());
    return 1;
  }
  auto sink = ExecqSink::Create((*execd)->paths().execq);
  auto responder = Responder::Create(config, sink->get(), nullptr);
  if (!sink.ok() || !responder.ok()) return 1;
  testing::FailedLoginMatcher matcher(log_path, responder->get());
  if (!matcher.Start().ok()) return 1;

  // A first run creates the table, so the monitor and the measured runs see only elements.
  testing::AppendLine(log_path, "sshd[1]: Failed password for root from 10.250.0.1 port 22 ssh2");
  (*execd)->WaitIdle(std::chrono::seconds(1));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  testing::ElementMonitor monitor((*lab)->victim());
  std::this_thread::sleep_for(std::chrono::milliseconds(300));

  std::vector<double> samples;
  int lost = 0;
  for (int i = 0; i < runs; ++i) {
    const std::string address =
        "10.240." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1);
    const auto start = Clock::now();
    testing::AppendLine(log_path, "Dec  4 16:00:00 victim sshd[" + std::to_string(i) +
                                      "]: Failed password for root from " + address +
                                      " port 22 ssh2");
    Clock::time_point done;
    if (!monitor.WaitFor(address, std::chrono::seconds(5), &done)) {
      ++lost;
      continue;
    }
    samples.push_back(std::chrono::duration<double, std::milli>(done - start).count());
    // Runs are sequential: the next line is written once this block is in place.
    (*execd)->WaitIdle(std::chrono::seconds(5));
  }
  if (samples.empty()) {
    std::fprintf(stderr, "no run completed\n");
    return 1;
  }
  testing::PrintLatencySummary(samples, lost);
  return lost == 0 ? 0 : 1;
}

}  // namespace
}  // namespace vigil::response

int main(int argc, char** argv) {
  const vigil::response::testing::BenchOptions options =
      vigil::response::testing::ParseBenchOptions(argc, argv);
  vigil::ConfigureLogging({"warn", ""});
  return vigil::response::Run(options.runs, options.builtin);
}
