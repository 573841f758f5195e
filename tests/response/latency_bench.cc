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

#include "common/file.h"
#include "netns_lab.h"
#include "response/builtin_firewall.h"
#include "response/execd.h"
#include "response/responder.h"
#include "response/test_support.h"

namespace vigil::response {
namespace {

using Clock = std::chrono::steady_clock;

// Reads `nft monitor` output and records when each address first appears.
class ElementMonitor {
 public:
  explicit ElementMonitor(const std::string& victim_namespace) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return;
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
    const char* argv[] = {"/usr/sbin/ip", "netns",   "exec", victim_namespace.c_str(),
                          "nft",          "monitor", "new",  "elements",
                          nullptr};
    char* env[] = {const_cast<char*>("PATH=/usr/sbin:/usr/bin:/sbin:/bin"), nullptr};
    posix_spawn(&pid_, argv[0], &actions, nullptr, const_cast<char**>(argv), env);
    posix_spawn_file_actions_destroy(&actions);
    ::close(fds[1]);
    read_fd_ = fds[0];
    reader_ = std::thread([this] { Read(); });
  }

  ~ElementMonitor() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      ::waitpid(pid_, nullptr, 0);
    }
    if (reader_.joinable()) reader_.join();
    if (read_fd_ >= 0) ::close(read_fd_);
  }

  // Waits until a line naming `address` arrives; returns its arrival time.
  bool WaitFor(const std::string& address, std::chrono::milliseconds timeout,
               Clock::time_point* when) {
    std::unique_lock lock(mu_);
    const bool seen = cv_.wait_for(lock, timeout, [&] { return seen_.count(address) > 0; });
    if (seen) *when = seen_[address];
    return seen;
  }

 private:
  void Read() {
    std::string buffer;
    char chunk[4096];
    ssize_t n;
    while ((n = ::read(read_fd_, chunk, sizeof(chunk))) > 0) {
      const auto now = Clock::now();
      buffer.append(chunk, n);
      size_t newline;
      while ((newline = buffer.find('\n')) != std::string::npos) {
        const std::string line = buffer.substr(0, newline);
        buffer.erase(0, newline + 1);
        const size_t open = line.find("{ ");
        if (open == std::string::npos) continue;
        const std::string address = line.substr(open + 2, line.find(' ', open + 2) - open - 2);
        std::lock_guard lock(mu_);
        seen_.emplace(address, now);
        cv_.notify_all();
      }
    }
  }

  pid_t pid_ = -1;
  int read_fd_ = -1;
  std::thread reader_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, Clock::time_point> seen_;
};

double Percentile(std::vector<double> values, double fraction) {
  std::sort(values.begin(), values.end());
  const size_t index =
      std::min(values.size() - 1, static_cast<size_t>(fraction * (values.size() - 1) + 0.5));
  return values[index];
}

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
  ElementMonitor monitor((*lab)->victim());
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
  std::printf("runs %zu (lost %d)\nmedian %.2f ms\np90 %.2f ms\np99 %.2f ms\nmax %.2f ms\n",
              samples.size(), lost, Percentile(samples, 0.5), Percentile(samples, 0.9),
              Percentile(samples, 0.99), *std::max_element(samples.begin(), samples.end()));
  return lost == 0 ? 0 : 1;
}

}  // namespace
}  // namespace vigil::response

int main(int argc, char** argv) {
  int runs = 200;
  bool builtin = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--runs") == 0 && i + 1 < argc) {
      runs = std::max(1, std::atoi(argv[i + 1]));
    }
    if (std::strcmp(argv[i], "--builtin") == 0) builtin = true;
  }
  vigil::ConfigureLogging({"warn", ""});
  return vigil::response::Run(runs, builtin);
}
