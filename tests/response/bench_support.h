// Measuring helpers shared by the active-response latency benchmarks.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace vigil::response::testing {

using BenchClock = std::chrono::steady_clock;

// Reads `nft monitor new elements` output, run inside a network namespace, and records when
// each address first appears.
class ElementMonitor {
 public:
  explicit ElementMonitor(const std::string& victim_namespace);
  ~ElementMonitor();

  // Waits until a line naming `address` arrives; returns its arrival time.
  bool WaitFor(const std::string& address, std::chrono::milliseconds timeout,
               BenchClock::time_point* when);

 private:
  void Read();

  pid_t pid_ = -1;
  int read_fd_ = -1;
  std::thread reader_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, BenchClock::time_point> seen_;
};

// Returns the value at `fraction` (0 to 1) of `values`: the sorted value at index
// round(fraction * (size - 1)). `values` must not be empty.
double Percentile(std::vector<double> values, double fraction);

// Command-line options of the latency benchmarks: `--runs N` and `--builtin`.
struct BenchOptions {
  int runs = 200;        // measured runs, each with a new address
  bool builtin = false;  // builtin:firewall-drop in place of the shipped program
};
BenchOptions ParseBenchOptions(int argc, char** argv);

// Prints the number of runs, the median, p90, p99 and max of `samples` (milliseconds).
void PrintLatencySummary(const std::vector<double>& samples, int lost);

}  // namespace vigil::response::testing
