// ASCII case-insensitive literal matching, the native path for OS_Match patterns and for
// anchored literal OS_Regex and PCRE2 patterns. Internal to vigil_pattern.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vigil::analysis::pattern_internal {

// Position constraint of a literal within the subject.
enum class Anchor {
  kNone,   // anywhere (substring)
  kStart,  // prefix
  kEnd,    // suffix
  kBoth,   // the whole subject
};

// One literal alternative, compared ASCII case-insensitively. Immutable after construction.
class Literal {
 public:
  Literal(Anchor anchor, std::string_view text);

  // Returns the offset of the leftmost occurrence in `subject`, or std::string_view::npos.
  // The occurrence ends at the returned offset plus size().
  size_t Find(std::string_view subject) const;

  Anchor anchor() const { return anchor_; }
  size_t size() const { return lower_.size(); }
  // The literal in ASCII lower case.
  const std::string& lower() const { return lower_; }

 private:
  size_t FindSubstring(std::string_view subject) const;

  Anchor anchor_;
  std::string lower_;  // the literal, ASCII lower-case
  // The byte of the literal that a substring search looks for with memchr, chosen as the one
  // least likely in log text, and its offset in the literal. key_upper_ is its upper case
  // (the same byte when it is not a letter).
  size_t key_offset_ = 0;
  char key_lower_ = 0;
  char key_upper_ = 0;
};

// The alternatives of an OS_Match pattern, searched together. Immutable after construction.
class LiteralSet {
 public:
  explicit LiteralSet(std::vector<Literal> literals);

  // Finds the leftmost match and, among the alternatives matching at that offset, the first in
  // pattern order, which is the match PCRE2 reports for the same alternation. Returns false
  // when no alternative matches. `*begin` and `*end` may be null when the bounds are not needed.
  bool Search(std::string_view subject, size_t* begin, size_t* end) const;

 private:
  // Searches only the unanchored, non-empty alternatives, in one pass over the subject, for a
  // match starting at or before `last_begin`. Sets `*begin` and `*index` of the leftmost one.
  bool ScanUnanchored(std::string_view subject, size_t last_begin, size_t* begin,
                      size_t* index) const;

  std::vector<Literal> literals_;
  // Indexes of the anchored and empty alternatives, checked one by one.
  std::vector<size_t> fixed_;
  // Indexes of the unanchored non-empty alternatives grouped by their first byte (either
  // case), so a scan checks only the alternatives that can start at a position. The group of
  // byte b is bucket_items_[bucket_starts_[b] .. bucket_starts_[b + 1]). Built only when a
  // single scan is cheaper than one memchr search per alternative.
  std::vector<uint32_t> bucket_starts_;
  std::vector<uint32_t> bucket_items_;
  // Indexes of the unanchored non-empty alternatives, in pattern order.
  std::vector<size_t> unanchored_;
};

// Returns true when `a` and `b` have the same length and are equal ignoring ASCII case.
bool EqualsIgnoreAsciiCase(std::string_view a, std::string_view b);

// Returns the literal when `text` is an anchored literal pattern that OS_Regex and PCRE2 can
// match without a regex engine: `^` and/or `$` around characters that are literal in both
// languages (letters, digits, space and !"#%&',/:;<=>@_`~-), with at least one anchor.
std::optional<Literal> ParseAnchoredLiteral(std::string_view text);

// Returns the alternatives of `text`, in ASCII lower case, when it is one or more literals
// separated by `|`, made of characters that are literal in both OS_Regex and PCRE2 (as for
// ParseAnchoredLiteral), none empty and none anchored. Both languages then match a subject
// exactly when it contains one of the alternatives.
std::optional<std::vector<std::string>> ParsePlainAlternatives(std::string_view text);

// Returns the literal text that every match of the OS_Regex or PCRE2 pattern `text` starts
// the subject with, in ASCII lower case. That text is the characters after a leading `^` up
// to the first one that is not literal in both languages, less a last character that a
// quantifier follows. Returns an empty string when there is none or the pattern has a `|`.
std::string RequiredPrefix(std::string_view text);

}  // namespace vigil::analysis::pattern_internal
