// Compiles a fuzzer-provided pattern in each of the three syntaxes and searches a
// fuzzer-provided subject with the patterns that compile.
//
// Input layout: the first byte picks where the data splits, the pattern comes before the split
// and the subject after it. Each pattern searches the subject sanitised to valid UTF-8, as
// callers of Pattern::Search pass it, and the raw subject, which must be safe as well.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "analysis/pattern/pattern.h"
#include "analysis/pattern/translate.h"
#include "common/logging.h"
#include "common/text.h"

namespace {

using vigil::analysis::MatchResult;
using vigil::analysis::Pattern;
using vigil::analysis::PatternSyntax;

void CheckMatch(std::string_view subject, const Pattern& pattern, const MatchResult& match) {
  if (match.begin > match.end || match.end > subject.size()) std::abort();
  if (static_cast<int>(match.captures.size()) > pattern.capture_count()) std::abort();
  for (std::string_view capture : match.captures) {
    // Every capture must be a view into the subject.
    if (capture.data() < subject.data() ||
        capture.data() + capture.size() > subject.data() + subject.size()) {
      std::abort();
    }
  }
}

bool IsAscii(std::string_view text) {
  for (char c : text) {
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  }
  return true;
}

// Aborts unless `native` and the PCRE2 pattern `engine_text` find the same match. Callers pass
// only ASCII subjects without a newline, where ASCII case folding and PCRE2's agree and PCRE2's
// `$` means the end of the subject.
void CompareWithEngine(const Pattern& native, const std::string& engine_text,
                       std::string_view subject) {
  auto engine = Pattern::Compile(PatternSyntax::kPcre2, engine_text);
  if (!engine.ok()) return;  // the translation can exceed the maximum pattern size
  MatchResult native_match;
  MatchResult engine_match;
  bool found = native.Search(subject, &native_match);
  if (engine->Search(subject, &engine_match) != found) std::abort();
  if (!found) return;
  if (native_match.begin != engine_match.begin || native_match.end != engine_match.end) {
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  // Backtracking-limit warnings are expected for fuzzed patterns and would flood the output.
  vigil::ConfigureLogging({.level = "off"});
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  size_t split = std::min<size_t>(data[0], size - 1);
  std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  std::string_view pattern_text = rest.substr(0, split);
  std::string raw_subject(rest.substr(split));
  std::string subject = raw_subject;
  vigil::SanitizeText(&subject);

  MatchResult match;
  for (PatternSyntax syntax :
       {PatternSyntax::kOsMatch, PatternSyntax::kOsRegex, PatternSyntax::kPcre2}) {
    auto pattern = Pattern::Compile(syntax, pattern_text);
    if (!pattern.ok()) continue;
    bool found = pattern->Search(subject, &match);
    if (found) CheckMatch(subject, *pattern, match);
    // A search without a result must agree with one that fills it.
    if (pattern->Search(subject) != found) std::abort();
    // Callers sanitise subjects, but a raw one must be safe to search as well.
    if (pattern->Search(raw_subject, &match)) CheckMatch(raw_subject, *pattern, match);
  }

  // The native paths must agree with PCRE2 wherever both case foldings are the same.
  bool comparable =
      IsAscii(pattern_text) && IsAscii(subject) && subject.find('\n') == std::string::npos;
  if (!comparable) return 0;
  auto os_match = Pattern::Compile(PatternSyntax::kOsMatch, pattern_text);
  if (os_match.ok()) {
    CompareWithEngine(*os_match,
                      vigil::analysis::pattern_internal::TranslateOsMatch(pattern_text).pcre2,
                      subject);
  }
  if (vigil::analysis::pattern_internal::ParseAnchoredLiteral(pattern_text).has_value()) {
    auto literal = Pattern::Compile(PatternSyntax::kOsRegex, pattern_text);
    if (literal.ok()) CompareWithEngine(*literal, "(?:)" + std::string(pattern_text), subject);
  }
  // The tests made before a PCRE2 search (the required prefix, the first byte and the
  // minimum length) must decide as PCRE2 alone does. A leading "(?:)" hides the anchor from
  // them.
  auto pcre2 = Pattern::Compile(PatternSyntax::kPcre2, pattern_text);
  if (pcre2.ok()) CompareWithEngine(*pcre2, "(?:)" + std::string(pattern_text), subject);
  return 0;
}
