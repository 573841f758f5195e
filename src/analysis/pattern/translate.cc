#include "analysis/pattern/translate.h"

#include <fmt/format.h>

namespace vigil::analysis::pattern_internal {
namespace {

// PCRE2 text for the escape `\c`, or an empty view when `c` does not form an OS_Regex escape.
std::string_view EscapeReplacement(char c) {
  switch (c) {
    case 'd':
      return "[0-9]";
    case 'D':
      return "[^0-9]";
    case 'w':
      return "[A-Za-z0-9@_-]";
    case 'W':
      return "[^A-Za-z0-9@_-]";
    case 's':
      return "[ ]";
    case 'S':
      return "[^ ]";
    case 'p':
      return "[()*+,.:;<=>?\\[\\]!\"'#%&$|{}-]";
    case '.':
      return "(?s:.)";
    case 't':
      return "\\t";
    case '$':
      return "\\$";
    case '(':
      return "\\(";
    case ')':
      return "\\)";
    case '\\':
      return "\\\\";
    case '|':
      return "\\|";
    case '<':
      return "<";
    case '[':
      return "\\[";
    case ']':
      return "\\]";
    case '{':
      return "\\{";
    case '}':
      return "\\}";
    default:
      return {};
  }
}

bool IsAsciiPunctuation(char c) {
  return (c >= '!' && c <= '/') || (c >= ':' && c <= '@') || (c >= '[' && c <= '`') ||
         (c >= '{' && c <= '~');
}

// Returns true when the quantifier just before `pos` is the last one of its alternative, that
// is when only `)`s are between it and a `|`, a `$` or the end of the pattern.
bool EndsAlternative(std::string_view text, size_t pos) {
  while (pos < text.size() && text[pos] == ')') ++pos;
  return pos == text.size() || text[pos] == '|' || text[pos] == '$';
}

// Formats a pattern byte for an error message. Bytes that are not printable ASCII become \xHH.
std::string Printable(char c) {
  auto byte = static_cast<unsigned char>(c);
  if (byte >= 0x20 && byte < 0x7f) return std::string(1, c);
  return fmt::format("\\x{:02x}", byte);
}

struct Alternative {
  Anchor anchor;
  std::string_view text;
};

std::vector<Alternative> SplitAlternatives(std::string_view text) {
  std::vector<Alternative> alternatives;
  while (true) {
    size_t bar = text.find('|');
    std::string_view part = text.substr(0, bar);
    bool start = !part.empty() && part.front() == '^';
    if (start) part.remove_prefix(1);
    bool end = !part.empty() && part.back() == '$';
    if (end) part.remove_suffix(1);
    Anchor anchor = start && end ? Anchor::kBoth
                    : start      ? Anchor::kStart
                    : end        ? Anchor::kEnd
                                 : Anchor::kNone;
    alternatives.push_back({anchor, part});
    if (bar == std::string_view::npos) break;
    text.remove_prefix(bar + 1);
  }
  return alternatives;
}

}  // namespace

void Translation::Append(std::string_view piece, size_t source) {
  pcre2.append(piece);
  source_offsets.resize(pcre2.size(), source);
}

size_t Translation::SourceOffset(size_t pcre2_offset) const {
  if (source_offsets.empty()) return 0;
  if (pcre2_offset >= source_offsets.size()) return source_offsets.back();
  return source_offsets[pcre2_offset];
}

Expected<Translation> TranslateOsRegex(std::string_view text) {
  Translation out;
  out.pcre2.reserve(text.size() * 2);
  out.source_offsets.reserve(text.size() * 2 + 1);
  auto emit = [&out](std::string_view piece, size_t source) { out.Append(piece, source); };
  auto error = [](std::string reason, size_t offset) {
    return Status::InvalidArgument(
        fmt::format("invalid OS_Regex: {} at offset {}", reason, offset));
  };

  std::vector<size_t> open_groups;  // source offsets of the `(`s not closed yet
  bool after_escape = false;        // the previous token was an escape, so it can be quantified
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '\\') {
      if (i + 1 == text.size()) return error("the pattern ends with an unfinished escape", i);
      std::string_view replacement = EscapeReplacement(text[i + 1]);
      if (replacement.empty()) {
        return error(fmt::format("'\\{}' is not a valid escape", Printable(text[i + 1])), i);
      }
      emit(replacement, i);
      ++i;
      after_escape = true;
      continue;
    }
    if ((c == '+' || c == '*') && after_escape) {
      emit(c == '+' ? "+" : "*", i);
      if (!EndsAlternative(text, i + 1)) emit("?", i);
      after_escape = false;
      continue;
    }
    after_escape = false;
    switch (c) {
      case '(':
        open_groups.push_back(i);
        emit("(", i);
        break;
      case ')':
        if (open_groups.empty()) return error("')' has no matching '('", i);
        open_groups.pop_back();
        emit(")", i);
        break;
      case '|':
        emit("|", i);
        break;
      case '^':
        emit("^", i);
        break;
      case '$':
        emit("\\z", i);
        break;
      default:
        if (IsAsciiPunctuation(c)) emit("\\", i);
        emit(std::string_view(&c, 1), i);
        break;
    }
  }
  if (!open_groups.empty()) return error("'(' is not closed", open_groups.back());
  out.source_offsets.push_back(text.size());
  return out;
}

std::vector<Literal> SplitOsMatch(std::string_view text) {
  std::vector<Literal> literals;
  for (const Alternative& alternative : SplitAlternatives(text)) {
    literals.emplace_back(alternative.anchor, alternative.text);
  }
  return literals;
}

Translation TranslateOsMatch(std::string_view text) {
  Translation out;
  auto emit = [&out](std::string_view piece, size_t source) { out.Append(piece, source); };
  emit("(?:", 0);
  bool first = true;
  for (const Alternative& alternative : SplitAlternatives(text)) {
    size_t offset = static_cast<size_t>(alternative.text.data() - text.data());
    if (!first) emit("|", offset);
    first = false;
    bool start = alternative.anchor == Anchor::kStart || alternative.anchor == Anchor::kBoth;
    bool end = alternative.anchor == Anchor::kEnd || alternative.anchor == Anchor::kBoth;
    if (start) emit("\\A", offset);
    // ASCII punctuation is escaped, so only the anchors added here are special.
    for (size_t i = 0; i < alternative.text.size(); ++i) {
      char c = alternative.text[i];
      if (IsAsciiPunctuation(c)) emit("\\", offset + i);
      emit(std::string_view(&c, 1), offset + i);
    }
    if (end) emit("\\z", offset + alternative.text.size());
  }
  emit(")", text.size());
  out.source_offsets.push_back(text.size());
  return out;
}

}  // namespace vigil::analysis::pattern_internal
