// The built-in tests a rule can name with <compiled_rule>. They do what OSSEC's functions of
// the same names do.
#include <cstring>

#include "analysis/rule.h"

namespace vigil::analysis {
namespace {

// True when srcuser and dstuser are equal, or either is missing.
bool CompareSrcUserDstUser(const Event& event) {
  if (!event.Has(Field::kSrcUser) || !event.Has(Field::kDstUser)) return true;
  return event.Get(Field::kSrcUser) == event.Get(Field::kDstUser);
}

// True when the id field is at least 10 bytes long.
bool CheckIdSize(const Event& event) {
  return event.Has(Field::kId) && event.Get(Field::kId).size() >= 10;
}

// Windows logs: true when "Target Account Name:" and "Caller User Name:" name different
// accounts. An account name ends at a tab or at two spaces.
bool CompareTargetAndCallerUser(const Event& event) {
  std::string_view log = event.log();
  size_t target = log.find("Target Account Name");
  size_t caller = log.find("Caller User Name");
  if (target == std::string_view::npos || caller == std::string_view::npos) return false;
  target = log.find(':', target);
  caller = log.find(':', caller);
  if (target == std::string_view::npos || caller == std::string_view::npos) return false;
  ++target;
  ++caller;
  while (target < log.size()) {
    char c = log[target];
    if (caller >= log.size() || c != log[caller]) return true;
    if (c == '\t' || (c == ' ' && target + 1 < log.size() && log[target + 1] == ' ')) break;
    ++target;
    ++caller;
  }
  return false;
}

// True for a web request without a query string: the URL is "/" or has no '?'.
bool IsSimpleHttpRequest(const Event& event) {
  if (!event.Has(Field::kUrl)) return false;
  std::string_view url = event.Get(Field::kUrl);
  return url == "/" || url.find('?') == std::string_view::npos;
}

// True when the log starts with an address of Google's, Microsoft's or Yahoo's crawlers.
bool IsValidCrawler(const Event& event) {
  static constexpr std::string_view kPrefixes[] = {"66.249.", "72.14.", "209.85.", "65.55.",
                                                   "207.46.", "74.6.",  "72.30.",  "67.195."};
  std::string_view log = event.log();
  for (std::string_view prefix : kPrefixes) {
    if (log.starts_with(prefix)) return true;
  }
  return false;
}

constexpr std::pair<std::string_view, CompiledRule> kCompiledRules[] = {
    {"comp_srcuser_dstuser", CompareSrcUserDstUser},
    {"check_id_size", CheckIdSize},
    {"comp_mswin_targetuser_calleruser_diff", CompareTargetAndCallerUser},
    {"is_simple_http_request", IsSimpleHttpRequest},
    {"is_valid_crawler", IsValidCrawler},
};

}  // namespace

CompiledRule FindCompiledRule(std::string_view name) {
  for (const auto& [known, function] : kCompiledRules) {
    if (known == name) return function;
  }
  return nullptr;
}

}  // namespace vigil::analysis
