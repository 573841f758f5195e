// A small PCRE2 wrapper for the readers' start_regex, end_regex and key_regex.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace vigil::collector {

// A compiled PCRE2 pattern with its own match data, so Match() allocates nothing. Not
// thread-safe: each reader owns its patterns.
class Regex {
 public:
  // Compiles `pattern`; `case_sensitive` false adds PCRE2_CASELESS. Uses the JIT when the
  // library has it. Errors name the pattern, the reason and the offset.
  static Expected<std::unique_ptr<Regex>> Compile(std::string_view pattern, bool case_sensitive);

  ~Regex();
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;

  // Returns true when the pattern matches somewhere in `subject`. When `captures` is not null,
  // it receives the text of each capture group (empty for a group that did not take part).
  bool Match(std::string_view subject, std::vector<std::string>* captures = nullptr);

  int capture_count() const { return capture_count_; }
  const std::string& pattern() const { return pattern_; }

  // Returns `text` with every PCRE2 metacharacter escaped, for use as a literal.
  static std::string Escape(std::string_view text);

 private:
  Regex() = default;

  void* code_ = nullptr;        // pcre2_code*
  void* match_data_ = nullptr;  // pcre2_match_data*
  int capture_count_ = 0;
  std::string pattern_;
};

}  // namespace vigil::collector
