// A prefilter for the patterns that decoders and rules test against an event's log (<prematch>,
// <regex>, <match> and their _pcre2 forms). Each pattern is reduced to literals that any match
// must contain. One scan per event finds which of those literals the log contains, so a
// pattern whose literals are all absent is rejected without running it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "analysis/event.h"
#include "analysis/literal_scanner.h"
#include "analysis/pattern/pattern.h"

namespace vigil::analysis {

// Returns literals, lowercased, of which every match of `text` in `syntax` contains at least
// one, or nullopt when none can be derived safely (alternatives without a literal of at least
// 3 bytes, constructs the analysis does not follow, non-ASCII text). The literals hold for
// ASCII subjects only, because PCRE2's caseless matching folds some non-ASCII characters to
// ASCII letters.
std::optional<std::vector<std::string>> RequiredLiterals(PatternSyntax syntax,
                                                         std::string_view text);

// A requirement of a LogPrefilter in the form its hot loops test: one AND of word `word` of
// LiteralHits::bits with `mask`, and, when `id` is not -1, the literals of requirement `id`
// one by one. When all the requirement's literals share a word, `mask` marks them there and
// `id` is -1. Otherwise, and for no requirement, the test reads word 0, whose bits are all
// set, so that the hot loops need no branch for either case.
struct PrefilterTest {
  uint64_t mask = ~uint64_t{0};
  uint32_t word = 0;
  int id = -1;
};

// A literal prefilter for the decoders' and rules' patterns. Add() and Build() are not
// thread-safe. After Build(), Scan(log, hits) and MayMatch(id, hits) may run on several
// threads at once.
class LogPrefilter {
 public:
  LogPrefilter() = default;
  LogPrefilter(const LogPrefilter&) = delete;
  LogPrefilter& operator=(const LogPrefilter&) = delete;

  // Registers `pattern` and returns the id of its requirement, or -1 when the pattern gets no
  // prefilter (it must then always be run). Call before Build().
  int Add(const Pattern& pattern);

  // Returns the test of requirement `id` (-1 for none) for Passes() below.
  PrefilterTest TestFor(int id) const;

  // True when requirement `id` decides its pattern (Pattern::DecidingLiterals()): for hits
  // whose `filtering` is true, the pattern matches the log exactly when MayMatch() is true, so
  // the search need not run. False for -1.
  bool Decides(int id) const { return id >= 0 && decides_[static_cast<size_t>(id)]; }

  // Prepares the scan for the registered literals. With no literal the prefilter stays
  // inactive and every MayMatch() is true.
  void Build();

  // Scans `log` for every literal into `hits`, whose `scanned` becomes true.
  void Scan(std::string_view log, LiteralHits* hits) const;

  // Returns false when requirement `id` is not met by the log that `hits` describes, because
  // the pattern cannot match then. Returns true otherwise, always for -1, for a log with
  // non-ASCII bytes and for hits that were never scanned.
  bool MayMatch(int id, const LiteralHits& hits) const {
    return id < 0 || !hits.filtering || AnyLiteral(id, hits.bits.data());
  }

  // Returns MayMatch() of a test from TestFor(), for hits whose `filtering` the caller found
  // true, given their `bits`.
  bool Passes(const PrefilterTest& test, const uint64_t* bits) const {
    return (bits[test.word] & test.mask) != 0 && (test.id < 0 || AnyLiteral(test.id, bits));
  }

  size_t literal_count() const { return literals_.size(); }
  const std::vector<std::string>& literals() const { return literals_; }
  size_t requirement_count() const { return requirements_.size(); }

 private:
  // The word of LiteralHits::bits that contains literal `literal`, after the all-ones word 0.
  static uint32_t WordOf(uint32_t literal) { return 1 + (literal >> 6); }
  // True when `bits` mark one of the literals of requirement `id`.
  bool AnyLiteral(int id, const uint64_t* bits) const {
    for (uint32_t literal : requirements_[static_cast<size_t>(id)]) {
      if ((bits[WordOf(literal)] >> (literal & 63)) & 1u) return true;
    }
    return false;
  }

  std::vector<std::string> literals_;
  std::unordered_map<std::string, uint32_t> literal_ids_;  // literal text to id
  std::vector<std::vector<uint32_t>> requirements_;        // literal ids, any of which suffices
  std::vector<bool> decides_;                              // by requirement, see Decides()
  LiteralScanner scanner_;
  bool built_ = false;
};

}  // namespace vigil::analysis
