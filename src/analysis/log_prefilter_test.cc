#include "analysis/log_prefilter.h"

#include <gtest/gtest.h>

#include <iterator>
#include <string>
#include <utility>
#include <vector>

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
      {PatternSyntax::kPcre2, "abcd{2}", {"abcdd"}},
      {PatternSyntax::kPcre2, "ab{2,}cdef", {"cdef"}},
      {PatternSyntax::kPcre2, "xab{3}?c", {"xabbb"}},
      {PatternSyntax::kPcre2, "\\?{21}", {std::string(16, '?')}},
      {PatternSyntax::kPcre2, "@{25}", {std::string(16, '@')}},
      {PatternSyntax::kPcre2, "x{0,3}abc", {"abc"}},
      {PatternSyntax::kPcre2, "@{3}*bcd", {"bcd"}},
      {PatternSyntax::kPcre2, "a{2}", {}},
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

// Passes() of TestFor(id) returns what MayMatch(id) returns, for requirements whose literals
// share a word of the hits and for those whose literals do not.
TEST(LogPrefilter, TestsAgreeWithRequirements) {
  LogPrefilter prefilter;
  std::vector<int> ids;
  std::vector<Pattern> patterns;
  auto add = [&](PatternSyntax syntax, const std::string& text) {
    Expected<Pattern> pattern = Pattern::Compile(syntax, text);
    ASSERT_TRUE(pattern.ok()) << text;
    patterns.push_back(std::move(*pattern));
  };
  // Seventy literals fill more than one 64-bit word.
  for (int i = 0; i < 70; ++i) add(PatternSyntax::kOsMatch, "word" + std::to_string(i) + "x");
  add(PatternSyntax::kOsMatch, "word0x|word69x");
  add(PatternSyntax::kOsMatch, "word1x|word2x");
  add(PatternSyntax::kPcre2, "\\d+");
  for (const Pattern& pattern : patterns) ids.push_back(prefilter.Add(pattern));
  prefilter.Build();
  EXPECT_GE(prefilter.TestFor(ids[70]).id, 0) << "word0x and word69x lie in two words";
  EXPECT_EQ(prefilter.TestFor(ids[71]).id, -1) << "word1x and word2x share a word";
  LiteralHits hits;
  for (const char* log : {"a word0x b", "word69x", "WORD2X", "word3x word68x", "nothing", ""}) {
    prefilter.Scan(log, &hits);
    ASSERT_TRUE(hits.filtering) << log;
    for (int id : ids) {
      EXPECT_EQ(prefilter.Passes(prefilter.TestFor(id), hits.bits.data()),
                prefilter.MayMatch(id, hits))
          << "requirement " << id << " on '" << log << "'";
    }
  }
}

TEST(LogPrefilter, DecidesOnlyLongLiteralAlternatives) {
  struct Case {
    PatternSyntax syntax;
    const char* pattern;
    bool decides;
  };
  const Case cases[] = {
      {PatternSyntax::kOsMatch, "invalid user|illegal user", true},
      {PatternSyntax::kOsRegex, "Connection closed", true},
      {PatternSyntax::kOsRegex, "^Connection closed", false},
      {PatternSyntax::kOsRegex, "closed|ab", false},  // "ab" is shorter than the scanner takes
      {PatternSyntax::kOsRegex, "Failed \\S+ for", false},
      {PatternSyntax::kPcre2, "\\d+", false},
  };
  LogPrefilter prefilter;
  std::vector<int> ids;
  for (const Case& c : cases) {
    Expected<Pattern> pattern = Pattern::Compile(c.syntax, c.pattern);
    ASSERT_TRUE(pattern.ok()) << c.pattern;
    ids.push_back(prefilter.Add(*pattern));
  }
  prefilter.Build();
  for (size_t i = 0; i < std::size(cases); ++i) {
    EXPECT_EQ(prefilter.Decides(ids[i]), cases[i].decides) << cases[i].pattern;
  }
  EXPECT_FALSE(prefilter.Decides(-1));
}

// A rule whose <match> the prefilter decides is not searched on ASCII logs, so MayMatch()
// must return what the search returns on every ASCII log, and true on other logs.
TEST(LogPrefilter, DecidingRequirementAgreesWithSearch) {
  const std::pair<PatternSyntax, const char*> patterns[] = {
      {PatternSyntax::kOsMatch, "invalid user|illegal user"},
      {PatternSyntax::kOsRegex, "Connection closed"},
      {PatternSyntax::kPcre2, "reset by peer|timed out"},
  };
  const char* logs[] = {
      "Failed password for INVALID USER admin from 203.0.113.4",
      "Failed password for illegal user",
      "Invalid user admin from 203.0.113.4",
      "Connection closed by 203.0.113.4 port 22",
      "connection  closed",
      "Connection reset by peer",
      "Read from socket failed: Connection timed out",
      "Connection reset by p\xC3\xA9"
      "er",
      "\xC3\xA9 Connection closed",
  };
  LogPrefilter prefilter;
  std::vector<Pattern> compiled;
  std::vector<int> ids;
  for (const auto& [syntax, text] : patterns) {
    Expected<Pattern> pattern = Pattern::Compile(syntax, text);
    ASSERT_TRUE(pattern.ok()) << text;
    ids.push_back(prefilter.Add(*pattern));
    compiled.push_back(std::move(*pattern));
  }
  prefilter.Build();
  LiteralHits hits;
  for (const char* log : logs) {
    prefilter.Scan(log, &hits);
    for (size_t i = 0; i < compiled.size(); ++i) {
      SCOPED_TRACE(std::string(compiled[i].text()) + " on " + log);
      ASSERT_TRUE(prefilter.Decides(ids[i]));
      bool searched = compiled[i].Search(log);
      if (hits.filtering) {
        EXPECT_EQ(prefilter.MayMatch(ids[i], hits), searched);
      } else {
        EXPECT_TRUE(prefilter.MayMatch(ids[i], hits)) << "non-ASCII logs are searched";
      }
    }
  }
}

}  // namespace
}  // namespace vigil::analysis
