// ASCII case-insensitive literal matching, the native path for OS_Match patterns and for
// anchored literal OS_Regex and PCRE2 patterns. Internal to vigil_pattern.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

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

 private:
  size_t FindSubstring(std::string_view subject) const;

  Anchor anchor_;
  std::string lower_;  // the literal, ASCII lower-case
  // Horspool shift for each subject byte with both cases folded. Filled for kNone only.
  std::array<uint16_t, 256> shift_{};
};

// Returns true when `a` and `b` have the same length and are equal ignoring ASCII case.
bool EqualsIgnoreAsciiCase(std::string_view a, std::string_view b);

// Returns the literal when `text` is an anchored literal pattern that OS_Regex and PCRE2 can
// match without a regex engine: `^` and/or `$` around characters that are literal in both
// languages (letters, digits, space and !"#%&',/:;<=>@_`~-), with at least one anchor.
std::optional<Literal> ParseAnchoredLiteral(std::string_view text);

}  // namespace vigil::analysis::pattern_internal
