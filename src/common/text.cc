#include "common/text.h"

#include <charconv>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace vigil {
namespace {

// Returns the length of the valid UTF-8 sequence at `p`, or 0 when it is invalid or a NUL.
size_t ValidSequenceLength(const unsigned char* p, size_t remaining) {
  unsigned char c = p[0];
  if (c == 0) return 0;
  if (c < 0x80) return 1;
  size_t length;
  uint32_t min;
  if ((c & 0xE0) == 0xC0) {
    length = 2;
    min = 0x80;
  } else if ((c & 0xF0) == 0xE0) {
    length = 3;
    min = 0x800;
  } else if ((c & 0xF8) == 0xF0) {
    length = 4;
    min = 0x10000;
  } else {
    return 0;
  }
  if (remaining < length) return 0;
  uint32_t code = c & (0x3F >> (length - 1));
  for (size_t i = 1; i < length; ++i) {
    if ((p[i] & 0xC0) != 0x80) return 0;
    code = (code << 6) | (p[i] & 0x3F);
  }
  if (code < min || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return 0;
  return length;
}

// True when none of the eight bytes in `word` is NUL or has its high bit set.
bool IsPlainAsciiWord(uint64_t word) {
  constexpr uint64_t kHigh = 0x8080808080808080ULL;
  bool has_high = (word & kHigh) != 0;
  bool has_zero = ((word - 0x0101010101010101ULL) & ~word & kHigh) != 0;
  return !has_high && !has_zero;
}

// Returns how many of the first bytes of `p`, a multiple of 16 and at most `n`, are plain
// ASCII without NUL, in blocks of 16 when the CPU has SSE2 (every x86-64 CPU does).
size_t PlainAsciiBlocks(const unsigned char* p, size_t n) {
  size_t i = 0;
#if defined(__SSE2__)
  const __m128i zero = _mm_setzero_si128();
  for (; i + 16 <= n; i += 16) {
    __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
    // movemask collects the high bits, and the compare marks the NUL bytes.
    if (_mm_movemask_epi8(_mm_or_si128(bytes, _mm_cmpeq_epi8(bytes, zero))) != 0) break;
  }
#else
  (void)p;
  (void)n;
#endif
  return i;
}

}  // namespace

bool IsCleanUtf8(std::string_view text) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  size_t n = text.size();
  size_t i = PlainAsciiBlocks(p, n);
  while (i < n) {
    // Fast path over plain ASCII, eight bytes at a time.
    while (i + 8 <= n) {
      uint64_t word;
      __builtin_memcpy(&word, p + i, 8);
      if (!IsPlainAsciiWord(word)) break;
      i += 8;
    }
    if (i >= n) break;
    if (n - i < 8 && n >= 8) {
      // The last eight bytes cover the short tail, so plain ASCII there ends the test.
      uint64_t word;
      __builtin_memcpy(&word, p + n - 8, 8);
      if (IsPlainAsciiWord(word)) break;
    }
    size_t length = ValidSequenceLength(p + i, n - i);
    if (length == 0) return false;
    i += length;
  }
  return true;
}

bool IsAsciiText(std::string_view text) {
  const char* p = text.data();
  size_t n = text.size();
  size_t i = 0;
#if defined(__SSE2__)
  if (n >= 16) {
    __m128i high = _mm_setzero_si128();
    for (; i + 16 <= n; i += 16) {
      high = _mm_or_si128(high, _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i)));
    }
    // The last 16 bytes cover the tail.
    high = _mm_or_si128(high, _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + n - 16)));
    return _mm_movemask_epi8(high) == 0;
  }
#endif
  uint64_t high = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t word;
    std::memcpy(&word, p + i, 8);
    high |= word;
  }
  if (n >= 8) {
    // The last eight bytes cover the tail.
    uint64_t word;
    std::memcpy(&word, p + n - 8, 8);
    high |= word;
  } else {
    for (; i < n; ++i) high |= static_cast<unsigned char>(p[i]);
  }
  return (high & 0x8080808080808080ULL) == 0;
}

void SanitizeText(std::string* text, SanitizeCounts* counts) {
  if (IsCleanUtf8(*text)) return;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(text->size() + 16);
  const auto* p = reinterpret_cast<const unsigned char*>(text->data());
  size_t n = text->size();
  size_t i = 0;
  while (i < n) {
    size_t length = ValidSequenceLength(p + i, n - i);
    if (length > 0) {
      out.append(reinterpret_cast<const char*>(p + i), length);
      i += length;
      continue;
    }
    if (counts != nullptr) {
      if (p[i] == 0) {
        ++counts->nul_bytes;
      } else {
        ++counts->invalid_bytes;
      }
    }
    out += "\\x";
    out += kHex[p[i] >> 4];
    out += kHex[p[i] & 0xF];
    ++i;
  }
  text->swap(out);
}

uint64_t EscapeControlCharacters(std::string* text) {
  auto is_control = [](unsigned char c) { return (c < 0x20 && c != '\t') || c == 0x7f; };
  size_t first = 0;
  while (first < text->size() && !is_control(static_cast<unsigned char>((*text)[first]))) {
    ++first;
  }
  if (first == text->size()) return 0;

  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(*text, 0, first);
  uint64_t escaped = 0;
  for (size_t i = first; i < text->size(); ++i) {
    auto c = static_cast<unsigned char>((*text)[i]);
    if (!is_control(c)) {
      out.push_back(static_cast<char>(c));
      continue;
    }
    out += "\\x";
    out += kHex[c >> 4];
    out += kHex[c & 0xF];
    ++escaped;
  }
  text->swap(out);
  return escaped;
}

std::string_view Trim(std::string_view text) {
  constexpr std::string_view kSpace = " \t\r\n";
  size_t begin = text.find_first_not_of(kSpace);
  if (begin == std::string_view::npos) return {};
  size_t end = text.find_last_not_of(kSpace);
  return text.substr(begin, end - begin + 1);
}

std::vector<std::string> SplitList(std::string_view text, std::string_view separators) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find_first_of(separators, start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view part = Trim(text.substr(start, end - start));
    if (!part.empty()) parts.emplace_back(part);
    start = end + 1;
  }
  return parts;
}

std::string ToLower(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool ParseUint(std::string_view text, uint64_t* out) {
  if (text.empty()) return false;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && ptr == text.data() + text.size();
}

}  // namespace vigil
