#include "bench_support.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace vigil::response::testing {

ElementMonitor::ElementMonitor(const std::string& victim_namespace) {
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

ElementMonitor::~ElementMonitor() {
  if (pid_ > 0) {
    ::kill(pid_, SIGTERM);
    ::waitpid(pid_, nullptr, 0);
  }
  if (reader_.joinable()) reader_.join();
  if (read_fd_ >= 0) ::close(read_fd_);
}

bool ElementMonitor::WaitFor(const std::string& address, std::chrono::milliseconds timeout,
                             BenchClock::time_point* when) {
  std::unique_lock lock(mu_);
  const bool seen = cv_.wait_for(lock, timeout, [&] { return seen_.count(address) > 0; });
  if (seen) *when = seen_[address];
  return seen;
}

void ElementMonitor::Read() {
  std::string buffer;
  char chunk[4096];
  ssize_t n;
  while ((n = ::read(read_fd_, chunk, sizeof(chunk))) > 0) {
    const auto now = BenchClock::now();
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

double Percentile(std::vector<double> values, double fraction) {
  std::sort(values.begin(), values.end());
  const size_t index =
      std::min(values.size() - 1, static_cast<size_t>(fraction * (values.size() - 1) + 0.5));
  return values[index];
}

BenchOptions ParseBenchOptions(int argc, char** argv) {
  BenchOptions options;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--runs") == 0 && i + 1 < argc) {
      options.runs = std::max(1, std::atoi(argv[i + 1]));
    }
    if (std::strcmp(argv[i], "--builtin") == 0) options.builtin = true;
  }
  return options;
}

void PrintLatencySummary(const std::vector<double>& samples, int lost) {
  std::printf("runs %zu (lost %d)\nmedian %.2f ms\np90 %.2f ms\np99 %.2f ms\nmax %.2f ms\n",
              samples.size(), lost, Percentile(samples, 0.5), Percentile(samples, 0.9),
              Percentile(samples, 0.99), *std::max_element(samples.begin(), samples.end()));
}

}  // namespace vigil::response::testing
