// Text helpers shared by the readers and the analysis engine.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace vigil {

// Counts of what SanitizeText changed.
struct SanitizeCounts {
  uint64_t nul_bytes = 0;      // NUL bytes replaced by the text "\x00"
  uint64_t invalid_bytes = 0;  // bytes of invalid UTF-8 replaced by "\xHH"
};

// Returns true when `text` is valid UTF-8 with no NUL byte.
bool IsCleanUtf8(std::string_view text);

// Rewrites `text` in place so that it is valid UTF-8 without NUL bytes: each NUL and each byte
// that is not part of a valid UTF-8 sequence becomes the four characters `\xHH`. Nothing is
// dropped. Adds what it changed to `*counts` when it is not null.
void SanitizeText(std::string* text, SanitizeCounts* counts = nullptr);

// Rewrites each ASCII control character except tab (0x01-0x08, 0x0a-0x1f and 0x7f) as `\xHH`,
// so text from the network cannot start a new line in alerts.log or move a terminal's cursor.
// Returns how many characters it rewrote. Run it after SanitizeText, which handles NUL.
uint64_t EscapeControlCharacters(std::string* text);

// Strips ASCII spaces, tabs, carriage returns and newlines from both ends.
std::string_view Trim(std::string_view text);

// Splits at every `separator` and trims the parts; empty parts are dropped.
std::vector<std::string> SplitList(std::string_view text, std::string_view separators);

// A hash for unordered containers keyed by std::string that also finds a std::string_view
// key without building a string (with std::equal_to<> as the key equality).
struct TransparentStringHash {
  using is_transparent = void;
  size_t operator()(std::string_view text) const { return std::hash<std::string_view>{}(text); }
};

// ASCII lower-case copy.
std::string ToLower(std::string_view text);

// True when no byte of `text` has its high bit set. Tests eight bytes at a time.
bool IsAsciiText(std::string_view text);

// Parses a non-negative decimal integer that fills the whole text.
bool ParseUint(std::string_view text, uint64_t* out);

}  // namespace vigil
