#include "analysis/expectation.h"

#include "analysis/decoder.h"
#include "common/text.h"

namespace vigil::analysis {

bool ParseExpectation(std::string_view text, Expectation* out) {
  size_t first = text.find(':');
  if (first == std::string_view::npos) return false;
  size_t second = text.find(':', first + 1);
  if (second == std::string_view::npos) return false;
  uint64_t rule = 0, level = 0;
  if (!ParseUint(text.substr(0, first), &rule) ||
      !ParseUint(text.substr(first + 1, second - first - 1), &level)) {
    return false;
  }
  out->rule = static_cast<int>(rule);
  out->level = static_cast<int>(level);
  out->decoder = std::string(text.substr(second + 1));
  return true;
}

int CheckExpectation(const Expectation& expected, const Event& event, const RuleMatch& match) {
  if (event.decoder == nullptr || event.decoder->ReportedName() != expected.decoder) return 3;
  if (match.rule == nullptr || match.rule->id != expected.rule) return 2;
  if (match.rule->level != expected.level) return 1;
  return 0;
}

}  // namespace vigil::analysis
