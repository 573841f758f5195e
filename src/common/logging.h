// Named spdlog loggers, one per component, sharing one set of sinks.
//
// Status logs only: alerts never go through these loggers.
#pragma once

#include <spdlog/spdlog.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace vigil {

// Returns the logger named `component` ("collector", "analysis", ...), creating it on first
// use with the current sinks and level. Thread-safe.
std::shared_ptr<spdlog::logger> GetLogger(const std::string& component);

struct LoggingOptions {
  // Minimum level written, as spdlog names it: trace, debug, info, warn, error, critical, off.
  std::string level = "info";
  // Status log file; empty writes to stderr.
  std::string file;
};

// Replaces the sinks and level of every existing and future logger. Call once at start-up,
// before threads start logging.
void ConfigureLogging(const LoggingOptions& options);

// Suppresses repeats of the same message key within a window and counts them, so a flood of
// identical errors costs one line per window plus a count. Thread-safe.
class RepeatLimiter {
 public:
  explicit RepeatLimiter(std::chrono::seconds window = std::chrono::seconds(60))
      : window_(window) {}

  // Returns true when a message with `key` should be written now. When it returns true after
  // suppressing repeats, `*suppressed` is set to how many were dropped since the last write.
  bool ShouldLog(std::string_view key, uint64_t* suppressed);

  // Total number of suppressed messages over the limiter's life.
  uint64_t total_suppressed() const;

 private:
  struct Entry {
    std::chrono::steady_clock::time_point last_logged;
    uint64_t suppressed = 0;
  };
  std::chrono::seconds window_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Entry> entries_;
  uint64_t total_suppressed_ = 0;
};

}  // namespace vigil
