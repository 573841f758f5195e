#include "analysis/log_prefilter.h"

#include <algorithm>

#include "common/text.h"

namespace vigil::analysis {
namespace {

// Shorter literals occur in too many logs to reject anything.
constexpr size_t kMinLiteralBytes = LiteralScanner::kMinLiteralBytes;

char LowerAscii(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }
bool IsAscii(char c) { return static_cast<unsigned char>(c) < 0x80; }

bool IsAlnum(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

// Collects runs of consecutive literal bytes and keeps the longest of an alternative.
class Runs {
 public:
  void Add(char c) {
    if (!IsAscii(c)) {
      Break();
      return;
    }
    current_.push_back(LowerAscii(c));
  }
  void Break() {
    if (current_.size() > best_.size()) best_ = current_;
    current_.clear();
  }
  // Ends the alternative; returns false when it has no usable literal.
  bool Finish(std::vector<std::string>* out) {
    Break();
    if (best_.size() < kMinLiteralBytes) return false;
    out->push_back(best_);
    best_.clear();
    return true;
  }

 private:
  std::string current_;
  std::string best_;
};

// The maximum number of copies of a repeated byte in a required literal.
constexpr size_t kMaxRepeatCopies = 16;

// Returns the index just past a PCRE2 `{n}`, `{n,}` or `{n,m}` quantifier at `i`, or 0 when
// the brace at `i` is a literal.
size_t SkipBraceQuantifier(std::string_view text, size_t i) {
  size_t j = i + 1;
  size_t digits = 0;
  while (j < text.size() && text[j] >= '0' && text[j] <= '9') ++j, ++digits;
  if (digits == 0) return 0;
  if (j < text.size() && text[j] == ',') {
    ++j;
    while (j < text.size() && text[j] >= '0' && text[j] <= '9') ++j;
  }
  return j < text.size() && text[j] == '}' ? j + 1 : 0;
}

// Returns the index just past the PCRE2 character class opening at `i`, or npos when the
// class is unterminated or uses POSIX `[:name:]` forms.
size_t SkipClass(std::string_view text, size_t i) {
  size_t j = i + 1;
  if (j < text.size() && text[j] == '^') ++j;
  if (j < text.size() && text[j] == ']') ++j;
  while (j < text.size()) {
    char c = text[j];
    if (c == '\\') {
      j += 2;
    } else if (c == '[' && j + 1 < text.size() &&
               (text[j + 1] == ':' || text[j + 1] == '.' || text[j + 1] == '=')) {
      return std::string_view::npos;
    } else if (c == ']') {
      return j + 1;
    } else {
      ++j;
    }
  }
  return std::string_view::npos;
}

// Returns the index just past the group opening at `i` (nesting, escapes and, for PCRE2,
// classes respected), or npos when it is unterminated.
size_t SkipGroup(std::string_view text, size_t i, bool pcre2) {
  int depth = 0;
  size_t j = i;
  while (j < text.size()) {
    char c = text[j];
    if (c == '\\') {
      j += 2;
      continue;
    }
    if (pcre2 && c == '[') {
      j = SkipClass(text, j);
      if (j == std::string_view::npos) return j;
      continue;
    }
    if (c == '(') ++depth;
    if (c == ')' && --depth == 0) return j + 1;
    ++j;
  }
  return std::string_view::npos;
}

// Skips quantifiers (and their lazy or possessive suffixes) at `i`.
size_t SkipQuantifiers(std::string_view text, size_t i) {
  while (i < text.size()) {
    if (text[i] == '?' || text[i] == '*' || text[i] == '+') {
      ++i;
    } else if (size_t end = text[i] == '{' ? SkipBraceQuantifier(text, i) : 0; end != 0) {
      i = end;
    } else {
      break;
    }
  }
  return i;
}

std::optional<std::vector<std::string>> Pcre2Literals(std::string_view text) {
  if (text.find("(?") != std::string_view::npos || text.find("\\Q") != std::string_view::npos) {
    return std::nullopt;
  }
  std::vector<std::string> literals;
  Runs runs;
  size_t i = 0;
  // Adds the literal byte at `i` of width `width` unless a quantifier makes it optional. A
  // byte repeated `{n}`, `{n,}` or `{n,m}` times adds its first n copies (at most
  // kMaxRepeatCopies), as in `\?{21}`.
  auto literal = [&](char c, size_t width) {
    size_t next = i + width;
    char q = next < text.size() ? text[next] : '\0';
    size_t brace_end = q == '{' ? SkipBraceQuantifier(text, next) : 0;
    char after = brace_end < text.size() ? text[brace_end] : '\0';
    if (brace_end != 0 && after != '*' && after != '{') {
      size_t copies = 0;
      for (size_t j = next + 1; text[j] >= '0' && text[j] <= '9'; ++j) {
        copies = std::min(copies * 10 + static_cast<size_t>(text[j] - '0'), kMaxRepeatCopies);
      }
      for (size_t k = 0; k < copies; ++k) runs.Add(c);
      runs.Break();
      i = SkipQuantifiers(text, brace_end);
      return;
    }
    if (q == '?' || q == '*' || brace_end != 0) {
      runs.Break();
    } else {
      runs.Add(c);
      if (q == '+') runs.Break();
    }
    i = next;
  };
  while (i < text.size()) {
    char c = text[i];
    if (c == '\\') {
      if (i + 1 >= text.size()) return std::nullopt;
      char n = text[i + 1];
      if (IsAlnum(n)) {
        static constexpr std::string_view kClassEscapes = "dDwWsShHvVbB";
        if (kClassEscapes.find(n) == std::string_view::npos) return std::nullopt;
        runs.Break();
        i = SkipQuantifiers(text, i + 2);
      } else {
        literal(n, 2);
      }
    } else if (c == '[') {
      runs.Break();
      size_t end = SkipClass(text, i);
      if (end == std::string_view::npos) return std::nullopt;
      i = SkipQuantifiers(text, end);
    } else if (c == '(') {
      runs.Break();
      size_t end = SkipGroup(text, i, true);
      if (end == std::string_view::npos) return std::nullopt;
      i = SkipQuantifiers(text, end);
    } else if (c == ')') {
      return std::nullopt;
    } else if (c == '|') {
      if (!runs.Finish(&literals)) return std::nullopt;
      ++i;
    } else if (c == '.' || c == '^' || c == '$') {
      runs.Break();
      i = SkipQuantifiers(text, i + 1);
    } else if (c == '?' || c == '*' || c == '+') {
      runs.Break();
      i = SkipQuantifiers(text, i);
    } else if (c == '{' && SkipBraceQuantifier(text, i) != 0) {
      runs.Break();
      i = SkipQuantifiers(text, i);
    } else {
      literal(c, 1);
    }
  }
  if (!runs.Finish(&literals)) return std::nullopt;
  return literals;
}

std::optional<std::vector<std::string>> OsRegexLiterals(std::string_view text) {
  std::vector<std::string> literals;
  Runs runs;
  size_t i = 0;
  while (i < text.size()) {
    char c = text[i];
    if (c == '\\') {
      if (i + 1 >= text.size()) return std::nullopt;
      char n = text[i + 1];
      static constexpr std::string_view kClassEscapes = "dwspWDS.t";
      static constexpr std::string_view kLiteralEscapes = "$()\\|<{}[]";
      if (kClassEscapes.find(n) != std::string_view::npos) {
        runs.Break();
        i += 2;
        // In OS_Regex only an escape takes a quantifier.
        if (i < text.size() && (text[i] == '+' || text[i] == '*')) ++i;
      } else if (kLiteralEscapes.find(n) != std::string_view::npos) {
        runs.Add(n);
        i += 2;
      } else {
        return std::nullopt;
      }
    } else if (c == '(') {
      runs.Break();
      size_t end = SkipGroup(text, i, false);
      if (end == std::string_view::npos) return std::nullopt;
      i = end;
    } else if (c == ')') {
      return std::nullopt;
    } else if (c == '|') {
      if (!runs.Finish(&literals)) return std::nullopt;
      ++i;
    } else if (c == '^' || c == '$') {
      runs.Break();
      ++i;
    } else {
      runs.Add(c);
      ++i;
    }
  }
  if (!runs.Finish(&literals)) return std::nullopt;
  return literals;
}

std::optional<std::vector<std::string>> OsMatchLiterals(std::string_view text) {
  std::vector<std::string> literals;
  size_t start = 0;
  while (start <= text.size()) {
    size_t bar = text.find('|', start);
    std::string_view alternative =
        text.substr(start, bar == std::string_view::npos ? std::string_view::npos : bar - start);
    if (!alternative.empty() && alternative.front() == '^') alternative.remove_prefix(1);
    if (!alternative.empty() && alternative.back() == '$') alternative.remove_suffix(1);
    Runs runs;
    for (char c : alternative) runs.Add(c);
    if (!runs.Finish(&literals)) return std::nullopt;
    if (bar == std::string_view::npos) break;
    start = bar + 1;
  }
  return literals;
}

}  // namespace

std::optional<std::vector<std::string>> RequiredLiterals(PatternSyntax syntax,
                                                         std::string_view text) {
  switch (syntax) {
    case PatternSyntax::kOsMatch:
      return OsMatchLiterals(text);
    case PatternSyntax::kOsRegex:
      return OsRegexLiterals(text);
    case PatternSyntax::kPcre2:
      return Pcre2Literals(text);
  }
  return std::nullopt;
}

int LogPrefilter::Add(const Pattern& pattern) {
  std::optional<std::vector<std::string>> literals;
  const std::vector<std::string>* deciding = pattern.DecidingLiterals();
  bool decides = deciding != nullptr &&
                 std::all_of(deciding->begin(), deciding->end(), [](const std::string& literal) {
                   return literal.size() >= kMinLiteralBytes;
                 });
  if (decides) {
    literals = *deciding;
  } else {
    literals = RequiredLiterals(pattern.syntax(), pattern.text());
  }
  if (!literals) return -1;
  decides_.push_back(decides);
  std::vector<uint32_t> ids;
  for (const std::string& literal : *literals) {
    auto [it, added] = literal_ids_.try_emplace(literal, static_cast<uint32_t>(literals_.size()));
    if (added) literals_.push_back(literal);
    ids.push_back(it->second);
  }
  requirements_.push_back(std::move(ids));
  return static_cast<int>(requirements_.size() - 1);
}

PrefilterTest LogPrefilter::TestFor(int id) const {
  if (id < 0) return PrefilterTest();
  const std::vector<uint32_t>& literals = requirements_[static_cast<size_t>(id)];
  PrefilterTest test{.mask = 0, .word = WordOf(literals.front()), .id = -1};
  for (uint32_t literal : literals) {
    if (WordOf(literal) != test.word) return PrefilterTest{.id = id};
    test.mask |= uint64_t{1} << (literal & 63);
  }
  return test;
}

void LogPrefilter::Build() {
  scanner_ = LiteralScanner(literals_);
  built_ = !literals_.empty();
}

void LogPrefilter::Scan(std::string_view log, LiteralHits* hits) const {
  hits->scanned = true;
  hits->filtering = false;
  if (!built_ || !IsAsciiText(log)) return;
  hits->bits.assign(1 + (literals_.size() + 63) / 64, 0);
  hits->bits[0] = ~uint64_t{0};
  scanner_.Scan(log, hits->bits.data() + 1);
  hits->filtering = true;
}

}  // namespace vigil::analysis
