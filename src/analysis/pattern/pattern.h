// Patterns of OSSEC's three languages, compiled once and matched many times.
//
// - OS_Match (rule <match>, <user>, <url>, ..., decoder <program_name>): case-insensitive
//   literal text; `|` separates alternatives; `^` at the start of an alternative anchors it to
//   the start of the subject and `$` at its end to the end. No other character is special.
// - OS_Regex (rule <regex>, decoder <prematch> and <regex>): OSSEC's small regex language with
//   the escapes \d \w \s \p \W \D \S \. \t and literal escapes, `+` and `*` only after an
//   escape, lazy quantifiers except the last of each alternative, groups. Matching follows
//   OSSEC 3.3 and later, which translate it to PCRE2, so nested groups and `|` inside a group
//   work, `^` is an anchor anywhere in the pattern and `$` matches only at the end of the
//   subject.
// - PCRE2 (the *_pcre2 elements): PCRE2 syntax, always case-insensitive.
//
// All three match case-insensitively. Subjects should be valid UTF-8 (SanitizeText makes them
// so). In a subject that is not, an invalid sequence matches no pattern item, so no match
// crosses it. Matching never reads past the subject. Compiled patterns are immutable and
// Search() is safe to call from several threads at once.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace vigil::analysis {

enum class PatternSyntax { kOsMatch, kOsRegex, kPcre2 };

// The bytes a subject of Pattern::Search() may contain, as far as the caller has checked.
enum class SubjectText {
  kUnknown,  // any bytes
  kAscii,    // bytes below 0x80 only (checked by the caller, for example for a whole log)
};

// Returns "OS_Match", "OS_Regex" or "PCRE2".
std::string_view PatternSyntaxName(PatternSyntax syntax);

// Result of a successful search.
struct MatchResult {
  size_t begin = 0;  // offset of the first matched byte in the subject
  size_t end = 0;    // offset just past the last matched byte (OSSEC uses it as the next offset)
  // The groups that took part in the match, in group order; groups that did not take part are
  // left out, as OSSEC does, so captures[0] is the first group that matched.
  std::vector<std::string_view> captures;
};

class Pattern {
 public:
  // Longest pattern text accepted, in bytes. OSSEC's limit is 2048; Vigil allows more so that
  // concatenated elements keep working, and rejects anything longer with a clear error.
  static constexpr size_t kMaxPatternBytes = 16384;

  // Compiles `text`. Errors are InvalidArgument with a message naming the syntax, the reason
  // and the offset, for example "invalid OS_Regex: '\\n' is not a valid escape at offset 4".
  static Expected<Pattern> Compile(PatternSyntax syntax, std::string_view text);

  Pattern(Pattern&&) noexcept;
  Pattern& operator=(Pattern&&) noexcept;
  ~Pattern();

  // Returns true when the pattern matches somewhere in `subject`. When `match` is not null it
  // receives the match bounds and captures (views into `subject`); its vector is reused.
  // A search that exceeds the backtracking limit counts as no match (see limit_hits()).
  // `text` kAscii, when the caller has checked it, saves checking the subject again. PCRE2 runs
  // ASCII subjects on code compiled without UTF-8 support, which is faster and matches the same.
  bool Search(std::string_view subject, MatchResult* match = nullptr,
              SubjectText text = SubjectText::kUnknown) const;

  // Returns the literals, in ASCII lower case, that decide the pattern on ASCII subjects: it
  // matches such a subject exactly when the subject contains one of them, ignoring ASCII case.
  // Set for unanchored literal alternatives ("invalid user|illegal user") in every syntax;
  // null for patterns with anchors, classes, quantifiers or groups.
  const std::vector<std::string>* DecidingLiterals() const;

  // Number of capture groups in the pattern.
  int capture_count() const;
  PatternSyntax syntax() const;
  const std::string& text() const;

  // Process-wide count of searches stopped by the backtracking limit.
  static uint64_t limit_hits();

 private:
  struct Impl;
  explicit Pattern(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace vigil::analysis
