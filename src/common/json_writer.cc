#include "common/json_writer.h"

#include <charconv>
#include <cstring>

namespace vigil {
namespace {

// True when one of the bytes in `word` (a uint64_t or uint32_t) is below 0x20, a quote or a
// backslash. Each test is the "has a byte less than n" bit trick, which is exact when only the
// presence matters.
template <typename Word>
bool NeedsEscape(Word word) {
  constexpr Word kOnes = static_cast<Word>(0x0101010101010101ULL);
  constexpr Word kHigh = static_cast<Word>(0x8080808080808080ULL);
  Word quote = word ^ (kOnes * '"');
  Word backslash = word ^ (kOnes * '\\');
  Word control = (word - kOnes * 0x20) & ~word;
  Word is_quote = (quote - kOnes) & ~quote;
  Word is_backslash = (backslash - kOnes) & ~backslash;
  return ((control | is_quote | is_backslash) & kHigh) != 0;
}

// True when `value` has a byte that a JSON string must escape.
bool HasEscape(std::string_view value) {
  const char* p = value.data();
  size_t n = value.size();
  if (n < 8) {
    if (n >= 4) {
      // Two words that overlap cover four to seven bytes.
      uint32_t head;
      uint32_t tail;
      std::memcpy(&head, p, sizeof head);
      std::memcpy(&tail, p + n - 4, sizeof tail);
      return NeedsEscape(head) || NeedsEscape(tail);
    }
    for (char c : value) {
      if (static_cast<unsigned char>(c) < 0x20 || c == '"' || c == '\\') return true;
    }
    return false;
  }
  uint64_t word;
  for (size_t i = 0; i + 8 <= n; i += 8) {
    std::memcpy(&word, p + i, sizeof word);
    if (NeedsEscape(word)) return true;
  }
  // The last eight bytes cover those after the last whole word, so some are tested twice.
  std::memcpy(&word, p + n - 8, sizeof word);
  return NeedsEscape(word);
}

}  // namespace

void JsonWriter::Key(std::string_view name) {
  BeforeValue();
  WriteString(name);
  out_->push_back(':');
  after_key_ = true;
}

void JsonWriter::Member(std::string_view name, std::string_view value) {
  // Most members are short and need no escape: they are put together on the stack and
  // appended in one piece, which costs less than the six appends of the general path.
  char buffer[256];
  size_t max_length = name.size() + value.size() + 6;  // ,"name":"value"
  if (max_length <= sizeof buffer && !after_key_ && !HasEscape(name) && !HasEscape(value)) {
    char* p = buffer;
    if (!first_) *p++ = ',';
    *p++ = '"';
    // An empty view may have no data pointer, which memcpy must not get.
    if (!name.empty()) std::memcpy(p, name.data(), name.size());
    p += name.size();
    *p++ = '"';
    *p++ = ':';
    *p++ = '"';
    if (!value.empty()) std::memcpy(p, value.data(), value.size());
    p += value.size();
    *p++ = '"';
    out_->append(buffer, static_cast<size_t>(p - buffer));
    first_ = false;
    return;
  }
  Key(name);
  String(value);
}

void JsonWriter::String(std::string_view value) {
  BeforeValue();
  WriteString(value);
}

void JsonWriter::WriteString(std::string_view value) {
  static constexpr char kHex[] = "0123456789abcdef";
  out_->push_back('"');
  // Most values need no escape: test them whole, then copy them in one piece.
  if (!HasEscape(value)) {
    out_->append(value);
    out_->push_back('"');
    return;
  }
  size_t start = 0;
  size_t i = 0;
  while (i < value.size()) {
    // Most text needs no escape: skip it eight bytes at a time.
    if (i + 8 <= value.size()) {
      uint64_t word;
      std::memcpy(&word, value.data() + i, sizeof word);
      if (!NeedsEscape(word)) {
        i += 8;
        continue;
      }
    }
    unsigned char c = static_cast<unsigned char>(value[i++]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out_->append(value.data() + start, i - 1 - start);
    start = i;
    switch (c) {
      case '"':
        out_->append("\\\"");
        break;
      case '\\':
        out_->append("\\\\");
        break;
      case '\n':
        out_->append("\\n");
        break;
      case '\r':
        out_->append("\\r");
        break;
      case '\t':
        out_->append("\\t");
        break;
      default:
        out_->append("\\u00");
        out_->push_back(kHex[c >> 4]);
        out_->push_back(kHex[c & 0xF]);
        break;
    }
  }
  out_->append(value.data() + start, value.size() - start);
  out_->push_back('"');
}

void JsonWriter::Int(int64_t value) {
  BeforeValue();
  char buffer[24];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  out_->append(buffer, end);
}

void JsonWriter::UInt(uint64_t value) {
  BeforeValue();
  char buffer[24];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  out_->append(buffer, end);
}

}  // namespace vigil
