#include "analysis/log_prefilter.h"

#include <gtest/gtest.h>

namespace vigil::analysis {
namespace {

struct LiteralCase {
  PatternSyntax syntax;
  const char* pattern;
  std::vector<std::string> literals;  // empty: no prefilter
};

TEST(RequiredLiterals, DerivesWhatEveryMatchContains) {
  const LiteralCase cases[] = {
      {PatternSyntax::kOsMatch, "Failed password", {"failed password"}},
      {PatternSyntax::kOsMatch, "^Accepted|session opened$", {"accepted", "session opened"}},
      {PatternSyntax::kOsMatch, "abc|x", {}},
      {PatternSyntax::kOsMatch, "", {}},
      {PatternSyntax::kOsRegex, "^Failed \\S+ for (\\S+) from", {"failed "}},
      {PatternSyntax::kOsRegex, "a+b.c[d]", {"a+b.c[d]"}},
      {PatternSyntax::kOsRegex, "user \\w+ logged|\\d+ times", {" logged", " times"}},
      {PatternSyntax::kOsRegex, "\\(ab\\)cd", {"(ab)cd"}},
      {PatternSyntax::kPcre2, "^Connection refused", {"connection refused"}},
      {PatternSyntax::kPcre2, "colou?r chart", {"r chart"}},
      {PatternSyntax::kPcre2, "abcd{2}", {"abc"}},
      {PatternSyntax::kPcre2, "ab{2,}cdef", {"cdef"}},
      {PatternSyntax::kPcre2, "x+yz[0-9]+ERROR", {"error"}},
      {PatternSyntax::kPcre2, "ERR(OR)? in \\.conf", {" in .conf"}},
      {PatternSyntax::kPcre2, "(?i)anything", {}},
      {PatternSyntax::kPcre2, "\\x41BCDEF", {}},
      {PatternSyntax::kPcre2, "[[:alpha:]]]abc", {}},
      {PatternSyntax::kPcre2, "a|bcd", {}},
      {PatternSyntax::kPcre2, "user (\\S+) from|Invalid user", {"user ", "invalid user"}},
      {PatternSyntax::kPcre2, "caf\xC3\xA9 bar", {" bar"}},
  };
  for (const LiteralCase& c : cases) {
    SCOPED_TRACE(c.pattern);
    std::optional<std::vector<std::string>> literals = RequiredLiterals(c.syntax, c.pattern);
    if (c.literals.empty()) {
      EXPECT_FALSE(literals.has_value());
    } else {
      ASSERT_TRUE(literals.has_value());
      EXPECT_EQ(*literals, c.literals);
    }
  }
}

TEST(LogPrefilter, RejectsOnlyWhenLiteralsAreAbsent) {
  Expected<Pattern> failed = Pattern::Compile(PatternSyntax::kPcre2, "Failed \\S+ for");
  Expected<Pattern> loose = Pattern::Compile(PatternSyntax::kPcre2, "\\d+");
  ASSERT_TRUE(failed.ok());
  ASSERT_TRUE(loose.ok());
  LogPrefilter prefilter;
  int failed_id = prefilter.Add(*failed);
  int loose_id = prefilter.Add(*loose);
  EXPECT_GE(failed_id, 0);
  EXPECT_EQ(loose_id, -1);
  prefilter.Build();

  LiteralHits hits;
  prefilter.Scan("FAILED password for root", &hits);
  EXPECT_TRUE(prefilter.MayMatch(failed_id, hits)) << "the scan is case-insensitive";
  prefilter.Scan("Accepted password for root", &hits);
  EXPECT_FALSE(prefilter.MayMatch(failed_id, hits));
  EXPECT_TRUE(prefilter.MayMatch(loose_id, hits));
  // A non-ASCII log turns the prefilter off: caseless PCRE2 folds some non-ASCII letters to
  // ASCII ones.
  prefilter.Scan("Accepted \xC5\xBF password", &hits);
  EXPECT_TRUE(prefilter.MayMatch(failed_id, hits));
}

}  // namespace
}  // namespace vigil::analysis
