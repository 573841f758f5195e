#include "common/logging.h"

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>

#include <vector>

namespace vigil {
namespace {

struct Registry {
  std::mutex mu;
  std::vector<spdlog::sink_ptr> sinks;
  spdlog::level::level_enum level = spdlog::level::info;
  std::unordered_map<std::string, std::shared_ptr<spdlog::logger>> loggers;
};

Registry& GetRegistry() {
  static Registry* registry = [] {
    auto* r = new Registry();
    r->sinks.push_back(std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
    return r;
  }();
  return *registry;
}

constexpr const char* kPattern = "%Y-%m-%d %H:%M:%S.%e %^%l%$ [%n] %v";

}  // namespace

std::shared_ptr<spdlog::logger> GetLogger(const std::string& component) {
  Registry& r = GetRegistry();
  std::lock_guard lock(r.mu);
  auto it = r.loggers.find(component);
  if (it != r.loggers.end()) return it->second;
  auto logger = std::make_shared<spdlog::logger>(component, r.sinks.begin(), r.sinks.end());
  logger->set_level(r.level);
  logger->set_pattern(kPattern);
  logger->flush_on(spdlog::level::info);
  r.loggers.emplace(component, logger);
  return logger;
}

void ConfigureLogging(const LoggingOptions& options) {
  Registry& r = GetRegistry();
  std::lock_guard lock(r.mu);
  r.level = spdlog::level::from_str(options.level);
  r.sinks.clear();
  if (options.file.empty()) {
    r.sinks.push_back(std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
  } else {
    r.sinks.push_back(std::make_shared<spdlog::sinks::basic_file_sink_mt>(options.file));
  }
  for (auto& [name, logger] : r.loggers) {
    logger->sinks() = r.sinks;
    logger->set_level(r.level);
    logger->set_pattern(kPattern);
    // Status lines are few (starts, stops, errors, rate-limited repeats), so each is written
    // out at once and a status file can be read while the daemon runs.
    logger->flush_on(spdlog::level::info);
  }
}

bool RepeatLimiter::ShouldLog(std::string_view key, uint64_t* suppressed) {
  auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(mu_);
  auto [it, inserted] = entries_.try_emplace(std::string(key));
  Entry& e = it->second;
  if (inserted || now - e.last_logged >= window_) {
    *suppressed = e.suppressed;
    e.suppressed = 0;
    e.last_logged = now;
    return true;
  }
  ++e.suppressed;
  ++total_suppressed_;
  return false;
}

uint64_t RepeatLimiter::total_suppressed() const {
  std::lock_guard lock(mu_);
  return total_suppressed_;
}

}  // namespace vigil
