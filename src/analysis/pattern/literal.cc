#include "analysis/pattern/literal.h"

#include <algorithm>
#include <cstring>

namespace vigil::analysis::pattern_internal {
namespace {

constexpr std::array<unsigned char, 256> MakeLowerTable() {
  std::array<unsigned char, 256> table{};
  for (int i = 0; i < 256; ++i) {
    table[i] = static_cast<unsigned char>(i >= 'A' && i <= 'Z' ? i + ('a' - 'A') : i);
  }
  return table;
}

constexpr std::array<unsigned char, 256> kLower = MakeLowerTable();

inline unsigned char Lower(char c) { return kLower[static_cast<unsigned char>(c)]; }

bool IsFastPathLiteralChar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::strchr(" !\"#%&',/:;<=>@_`~-", c) != nullptr && c != '\0';
}

}  // namespace

bool EqualsIgnoreAsciiCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (Lower(a[i]) != Lower(b[i])) return false;
  }
  return true;
}

Literal::Literal(Anchor anchor, std::string_view text) : anchor_(anchor), lower_(text) {
  for (char& c : lower_) c = static_cast<char>(Lower(c));
  if (anchor_ != Anchor::kNone || lower_.empty()) return;
  // Horspool: on a mismatch, shift by the distance from the last occurrence of the subject's
  // byte (under the window's last position) to the end of the needle.
  size_t n = lower_.size();
  uint16_t full = static_cast<uint16_t>(std::min<size_t>(n, UINT16_MAX));
  shift_.fill(full);
  for (size_t i = 0; i + 1 < n; ++i) {
    size_t distance = std::min<size_t>(n - 1 - i, UINT16_MAX);
    unsigned char c = static_cast<unsigned char>(lower_[i]);
    shift_[c] = static_cast<uint16_t>(distance);
    if (c >= 'a' && c <= 'z') shift_[c - ('a' - 'A')] = static_cast<uint16_t>(distance);
  }
}

size_t Literal::Find(std::string_view subject) const {
  size_t n = lower_.size();
  if (n > subject.size()) return std::string_view::npos;
  switch (anchor_) {
    case Anchor::kStart:
      return EqualsIgnoreAsciiCase(subject.substr(0, n), lower_) ? 0 : std::string_view::npos;
    case Anchor::kEnd: {
      size_t begin = subject.size() - n;
      return EqualsIgnoreAsciiCase(subject.substr(begin), lower_) ? begin : std::string_view::npos;
    }
    case Anchor::kBoth:
      return EqualsIgnoreAsciiCase(subject, lower_) ? 0 : std::string_view::npos;
    case Anchor::kNone:
      break;
  }
  return FindSubstring(subject);
}

size_t Literal::FindSubstring(std::string_view subject) const {
  size_t n = lower_.size();
  if (n == 0) return 0;
  const char* s = subject.data();
  const unsigned char last = static_cast<unsigned char>(lower_[n - 1]);
  if (n == 1) {
    for (size_t i = 0; i < subject.size(); ++i) {
      if (Lower(s[i]) == last) return i;
    }
    return std::string_view::npos;
  }
  std::string_view head(lower_.data(), n - 1);
  size_t limit = subject.size() - n;
  size_t pos = 0;
  while (pos <= limit) {
    char c = s[pos + n - 1];
    if (Lower(c) == last && EqualsIgnoreAsciiCase(std::string_view(s + pos, n - 1), head)) {
      return pos;
    }
    pos += shift_[static_cast<unsigned char>(c)];
  }
  return std::string_view::npos;
}

LiteralSet::LiteralSet(std::vector<Literal> literals) : literals_(std::move(literals)) {
  for (size_t i = 0; i < literals_.size(); ++i) {
    const Literal& literal = literals_[i];
    if (literal.anchor() != Anchor::kNone || literal.size() == 0) {
      fixed_.push_back(i);
    } else {
      unanchored_.push_back(i);
    }
  }
  if (unanchored_.size() < 2) return;

  // Counting sort of the alternatives by first byte; a letter goes in both case groups and
  // each group keeps pattern order.
  std::array<std::vector<uint32_t>, 256> groups;
  for (size_t i : unanchored_) {
    unsigned char first = static_cast<unsigned char>(literals_[i].lower()[0]);
    groups[first].push_back(static_cast<uint32_t>(i));
    if (first >= 'a' && first <= 'z')
      groups[first - ('a' - 'A')].push_back(static_cast<uint32_t>(i));
  }
  bucket_starts_.reserve(257);
  for (const std::vector<uint32_t>& group : groups) {
    bucket_starts_.push_back(static_cast<uint32_t>(bucket_items_.size()));
    bucket_items_.insert(bucket_items_.end(), group.begin(), group.end());
  }
  bucket_starts_.push_back(static_cast<uint32_t>(bucket_items_.size()));
}

bool LiteralSet::Search(std::string_view subject, size_t* begin, size_t* end) const {
  bool want_bounds = begin != nullptr || end != nullptr;
  size_t best_begin = std::string_view::npos;
  size_t best_index = 0;
  for (size_t i : fixed_) {
    size_t found = literals_[i].Find(subject);
    if (found == std::string_view::npos) continue;
    if (!want_bounds) return true;
    // fixed_ is in pattern order, so on equal offsets the earlier alternative stays.
    if (best_begin == std::string_view::npos || found < best_begin) {
      best_begin = found;
      best_index = i;
    }
  }
  size_t found = std::string_view::npos;
  size_t found_index = 0;
  if (unanchored_.size() == 1) {
    // One substring alone: the Horspool search of the literal beats the byte-by-byte scan.
    found_index = unanchored_[0];
    found = literals_[found_index].Find(subject);
  } else if (unanchored_.size() > 1) {
    size_t last_begin = best_begin == std::string_view::npos ? subject.size() : best_begin;
    if (!ScanUnanchored(subject, last_begin, &found, &found_index)) {
      found = std::string_view::npos;
    }
  }
  if (found != std::string_view::npos &&
      (best_begin == std::string_view::npos || found < best_begin ||
       (found == best_begin && found_index < best_index))) {
    best_begin = found;
    best_index = found_index;
  }
  if (best_begin == std::string_view::npos) return false;
  if (begin != nullptr) *begin = best_begin;
  if (end != nullptr) *end = best_begin + literals_[best_index].size();
  return true;
}

bool LiteralSet::ScanUnanchored(std::string_view subject, size_t last_begin, size_t* begin,
                                size_t* index) const {
  const char* s = subject.data();
  size_t n = subject.size();
  for (size_t pos = 0; pos <= last_begin && pos < n; ++pos) {
    unsigned char c = static_cast<unsigned char>(s[pos]);
    for (uint32_t k = bucket_starts_[c]; k < bucket_starts_[c + 1]; ++k) {
      size_t i = bucket_items_[k];
      const std::string& lower = literals_[i].lower();
      if (lower.size() > n - pos) continue;
      if (EqualsIgnoreAsciiCase(std::string_view(s + pos, lower.size()), lower)) {
        *begin = pos;
        *index = i;
        return true;
      }
    }
  }
  return false;
}

std::optional<Literal> ParseAnchoredLiteral(std::string_view text) {
  bool start = !text.empty() && text.front() == '^';
  if (start) text.remove_prefix(1);
  bool end = !text.empty() && text.back() == '$';
  if (end) text.remove_suffix(1);
  if (!start && !end) return std::nullopt;
  if (!std::all_of(text.begin(), text.end(), IsFastPathLiteralChar)) return std::nullopt;
  Anchor anchor = start && end ? Anchor::kBoth : (start ? Anchor::kStart : Anchor::kEnd);
  return Literal(anchor, text);
}

}  // namespace vigil::analysis::pattern_internal
