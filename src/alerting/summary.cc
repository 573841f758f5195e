#include "alerting/summary.h"

#include <fmt/format.h>

#include <algorithm>
#include <vector>

namespace vigil::alerting {
namespace {

std::vector<std::pair<std::string, uint64_t>> Top(
    const std::unordered_map<std::string, uint64_t>& counts, size_t n) {
  std::vector<std::pair<std::string, uint64_t>> items(counts.begin(), counts.end());
  std::sort(items.begin(), items.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });
  if (items.size() > n) items.resize(n);
  return items;
}

}  // namespace

void Summary::AddAlert(const analysis::Rule& rule, const analysis::Event& event) {
  ++alerts_;
  RuleCount& entry = by_rule_[rule.id];
  entry.level = rule.level;
  entry.description = rule.description;
  ++entry.count;
  ++by_level_[rule.level];
  if (event.Has(analysis::Field::kSrcIp))
    ++by_srcip_[std::string(event.Get(analysis::Field::kSrcIp))];
  std::string_view user = event.Has(analysis::Field::kDstUser)
                              ? event.Get(analysis::Field::kDstUser)
                              : event.Get(analysis::Field::kSrcUser);
  if (!user.empty()) ++by_user_[std::string(user)];
}

std::string Summary::Format(uint64_t lines, uint64_t decoded, size_t top) const {
  std::string out;
  out += fmt::format("Lines read: {}   Events decoded: {}   Alerts: {}\n", lines, decoded, alerts_);
  if (alerts_ == 0) return out;

  out += "\nAlerts by rule:\n";
  std::vector<std::pair<int, RuleCount>> rules(by_rule_.begin(), by_rule_.end());
  std::sort(rules.begin(), rules.end(), [](const auto& a, const auto& b) {
    if (a.second.level != b.second.level) return a.second.level > b.second.level;
    return a.second.count > b.second.count;
  });
  out += fmt::format("  {:>8}  {:>5}  {:>7}  {}\n", "rule", "level", "count", "description");
  for (const auto& [id, entry] : rules) {
    out +=
        fmt::format("  {:>8}  {:>5}  {:>7}  {}\n", id, entry.level, entry.count, entry.description);
  }

  out += "\nAlerts by level:\n";
  for (auto it = by_level_.rbegin(); it != by_level_.rend(); ++it) {
    out += fmt::format("  level {:>2}: {}\n", it->first, it->second);
  }
  if (!by_srcip_.empty()) {
    out += "\nTop source addresses:\n";
    for (const auto& [ip, count] : Top(by_srcip_, top)) {
      out += fmt::format("  {:<40} {}\n", ip, count);
    }
  }
  if (!by_user_.empty()) {
    out += "\nTop users:\n";
    for (const auto& [user, count] : Top(by_user_, top)) {
      out += fmt::format("  {:<40} {}\n", user, count);
    }
  }
  return out;
}

}  // namespace vigil::alerting
