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

// Fewest unanchored alternatives for which LiteralSet scans the subject once for all of them.
constexpr size_t kScanMinAlternatives = 8;

inline unsigned char Lower(char c) { return kLower[static_cast<unsigned char>(c)]; }

// Returns how common a byte is in log text, higher for more common bytes and 0 for bytes outside
// the list. The order is an estimate from English letter frequencies with digits and log
// punctuation mixed in.
size_t CommonnessScore(char c) {
  static constexpr std::string_view kByFrequency =
      " etaoinsrhldcu0123456789mfpgwybvk.:-=/_[]x()jqz";
  size_t position = kByFrequency.find(c);
  return position == std::string_view::npos ? 0 : kByFrequency.size() - position;
}

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
  if (lower_.empty()) return;
  size_t best_score = 0;
  for (size_t i = 0; i < lower_.size(); ++i) {
    size_t score = CommonnessScore(lower_[i]);
    if (i == 0 || score < best_score) {
      best_score = score;
      key_offset_ = i;
    }
  }
  key_lower_ = lower_[key_offset_];
  key_upper_ = key_lower_ >= 'a' && key_lower_ <= 'z' ? static_cast<char>(key_lower_ - ('a' - 'A'))
                                                      : key_lower_;
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
  // Key positions that leave room for the whole literal around the key.
  size_t from = key_offset_;
  size_t end = subject.size() - n + key_offset_ + 1;
  while (from < end) {
    // memchr is vectorised; the upper-case search stops where the lower-case key was found.
    const char* hit = static_cast<const char*>(std::memchr(s + from, key_lower_, end - from));
    if (key_upper_ != key_lower_) {
      size_t limit = hit != nullptr ? static_cast<size_t>(hit - s) : end;
      const void* upper = std::memchr(s + from, key_upper_, limit - from);
      if (upper != nullptr) hit = static_cast<const char*>(upper);
    }
    if (hit == nullptr) return std::string_view::npos;
    size_t key_position = static_cast<size_t>(hit - s);
    size_t begin = key_position - key_offset_;
    if (EqualsIgnoreAsciiCase(std::string_view(s + begin, n), lower_)) return begin;
    from = key_position + 1;
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
  // On an 80-byte sshd line, a memchr search costs 30 to 60 ns per alternative and the scan
  // 200 to 400 ns for any count. So the scan pays off from about 8 alternatives (measured on
  // a 2-core x86_64 VM).
  if (unanchored_.size() < kScanMinAlternatives) return;

  // Groups the alternatives by first byte. A letter goes in both case groups, and each group
  // keeps pattern order.
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
  // Keeps the leftmost match and, on equal offsets, the alternative first in pattern order.
  auto consider = [&](size_t found, size_t index) {
    if (best_begin == std::string_view::npos || found < best_begin ||
        (found == best_begin && index < best_index)) {
      best_begin = found;
      best_index = index;
    }
  };
  for (size_t i : fixed_) {
    size_t found = literals_[i].Find(subject);
    if (found == std::string_view::npos) continue;
    if (!want_bounds) return true;
    consider(found, i);
  }
  if (!bucket_starts_.empty()) {
    size_t last_begin = best_begin == std::string_view::npos ? subject.size() : best_begin;
    size_t found = 0;
    size_t found_index = 0;
    if (ScanUnanchored(subject, last_begin, &found, &found_index)) consider(found, found_index);
  } else {
    for (size_t i : unanchored_) {
      size_t found = literals_[i].Find(subject);
      if (found == std::string_view::npos) continue;
      if (!want_bounds) return true;
      consider(found, i);
    }
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

std::string RequiredPrefix(std::string_view text) {
  if (text.empty() || text.front() != '^' || text.find('|') != std::string_view::npos) return {};
  size_t end = 1;
  while (end < text.size() && IsFastPathLiteralChar(text[end])) ++end;
  bool quantified = end < text.size() && std::strchr("?*+{", text[end]) != nullptr;
  if (quantified) --end;
  std::string prefix;
  for (size_t i = 1; i < end; ++i) prefix.push_back(static_cast<char>(Lower(text[i])));
  return prefix;
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

std::optional<std::vector<std::string>> ParsePlainAlternatives(std::string_view text) {
  std::vector<std::string> alternatives;
  while (true) {
    size_t bar = text.find('|');
    std::string_view alternative = text.substr(0, bar);
    if (alternative.empty() ||
        !std::all_of(alternative.begin(), alternative.end(), IsFastPathLiteralChar)) {
      return std::nullopt;
    }
    std::string& lower = alternatives.emplace_back(alternative);
    for (char& c : lower) c = static_cast<char>(Lower(c));
    if (bar == std::string_view::npos) return alternatives;
    text.remove_prefix(bar + 1);
  }
}

}  // namespace vigil::analysis::pattern_internal
