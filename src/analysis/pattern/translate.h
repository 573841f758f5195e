// Translation of OS_Regex and OS_Match patterns to PCRE2 syntax. Internal to vigil_pattern.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "analysis/pattern/literal.h"
#include "common/status.h"

namespace vigil::analysis::pattern_internal {

// A PCRE2 pattern and, for each of its bytes, the offset of the source byte it came from, so
// that PCRE2's compile errors can name an offset in the text the user wrote.
struct Translation {
  std::string pcre2;
  std::vector<size_t> source_offsets;  // one per byte of pcre2, plus one for its end

  // Appends `piece`, which came from the source byte at `source`.
  void Append(std::string_view piece, size_t source);

  // Returns the source offset for an offset into pcre2.
  size_t SourceOffset(size_t pcre2_offset) const;
};

// Translates OS_Regex to PCRE2 the way OSSEC 3.3 and later do:
// - \d [0-9], \D [^0-9], \w [A-Za-z0-9@_-], \W [^A-Za-z0-9@_-], \s a space, \S not a space,
//   \p the 25 punctuation characters ()*+,-.:;<=>?[]!"'#$%&|{}, \. any character, \t a TAB;
//   \$ \( \) \\ \| \< \[ \] \{ \} the character itself; any other escape is an error;
// - `+` and `*` after an escape are lazy quantifiers, except the last quantifier of an
//   alternative (followed only by `)`s and then `|`, `$` or the end), which is greedy;
//   elsewhere they are literal;
// - `(`, `)`, `|` and `^` keep their regex meaning, `$` is the end of the subject, and every
//   other character is literal.
// Errors are InvalidArgument naming the reason and the source offset.
Expected<Translation> TranslateOsRegex(std::string_view text);

// Splits an OS_Match pattern at every `|`. A leading `^` and a trailing `$` of an alternative
// become its anchors.
std::vector<Literal> SplitOsMatch(std::string_view text);

// Translates an OS_Match pattern to an equivalent PCRE2 pattern (used for non-ASCII text, where
// PCRE2 supplies Unicode case folding).
Translation TranslateOsMatch(std::string_view text);

}  // namespace vigil::analysis::pattern_internal
