// The end-of-run summary that `vigil analyze` prints on a terminal.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>

#include "analysis/event.h"
#include "analysis/rule.h"

namespace vigil::alerting {

class Summary {
 public:
  // Counts one alert.
  void AddAlert(const analysis::Rule& rule, const analysis::Event& event);

  // Formats the summary: `lines` read, `decoded` events, alerts by rule and by level, and the
  // `top` most frequent source addresses and users.
  std::string Format(uint64_t lines, uint64_t decoded, size_t top = 5) const;

  uint64_t alerts() const { return alerts_; }

 private:
  struct RuleCount {
    int level = 0;
    std::string description;
    uint64_t count = 0;
  };
  uint64_t alerts_ = 0;
  std::map<int, RuleCount> by_rule_;
  std::map<int, uint64_t> by_level_;
  std::unordered_map<std::string, uint64_t> by_srcip_;
  std::unordered_map<std::string, uint64_t> by_user_;
};

}  // namespace vigil::alerting
