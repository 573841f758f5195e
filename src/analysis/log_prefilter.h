// A prefilter for the patterns that rules test against an event's log (<match>, <regex> and
// their _pcre2 forms). Each pattern is reduced to literals that any match must contain. One
// Hyperscan scan per event finds which of those literals the log contains, so a pattern
// whose literals are all absent is rejected without running it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "analysis/pattern/pattern.h"
#include "common/status.h"

struct hs_database;
struct hs_scratch;

namespace vigil::analysis {

// Returns literals, lowercased, of which every match of `text` in `syntax` contains at least
// one, or nullopt when none can be derived safely (alternatives without a literal of at least
// 3 bytes, constructs the analysis does not follow, non-ASCII text). The literals hold for
// ASCII subjects only, because PCRE2's caseless matching folds some non-ASCII characters to
// ASCII letters.
std::optional<std::vector<std::string>> RequiredLiterals(PatternSyntax syntax,
                                                         std::string_view text);

// Not thread-safe: one prefilter per engine (it owns its Hyperscan scratch space).
class LogPrefilter {
 public:
  LogPrefilter() = default;
  LogPrefilter(const LogPrefilter&) = delete;
  LogPrefilter& operator=(const LogPrefilter&) = delete;
  ~LogPrefilter();

  // Registers `pattern` and returns the id of its requirement, or -1 when the pattern gets no
  // prefilter (it must then always be run). Call before Build().
  int Add(const Pattern& pattern);

  // Compiles the registered literals. With no literal the prefilter stays inactive.
  Status Build();

  // Scans `log` for every literal. Call once per event before MayMatch().
  void Scan(std::string_view log);

  // Returns false when requirement `id` is not met by the last scanned log, because the
  // pattern cannot match then. Returns true otherwise, always for -1 and for a log with
  // non-ASCII bytes.
  bool MayMatch(int id) const {
    if (id < 0 || !filtering_) return true;
    for (uint32_t literal : requirements_[static_cast<size_t>(id)]) {
      if ((found_[literal >> 6] >> (literal & 63)) & 1u) return true;
    }
    return false;
  }

  size_t literal_count() const { return literals_.size(); }
  size_t requirement_count() const { return requirements_.size(); }

 private:
  static int OnMatch(unsigned int id, unsigned long long from, unsigned long long to,
                     unsigned int flags, void* context);

  std::vector<std::string> literals_;
  std::vector<std::vector<uint32_t>> requirements_;  // literal ids, any of which suffices
  std::vector<uint64_t> found_;                      // bit per literal, from the last scan
  bool filtering_ = false;  // true after a scan of an ASCII log by a built prefilter
  hs_database* database_ = nullptr;
  hs_scratch* scratch_ = nullptr;
};

}  // namespace vigil::analysis
