#include "analysis/pattern/pattern.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "analysis/pattern/translate.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

namespace vigil::analysis {
namespace {

using ::testing::ElementsAreArray;
using ::testing::HasSubstr;

constexpr PatternSyntax kOsMatch = PatternSyntax::kOsMatch;
constexpr PatternSyntax kOsRegex = PatternSyntax::kOsRegex;
constexpr PatternSyntax kPcre2 = PatternSyntax::kPcre2;

Pattern MustCompile(PatternSyntax syntax, std::string_view text) {
  auto pattern = Pattern::Compile(syntax, text);
  EXPECT_TRUE(pattern.ok()) << PatternSyntaxName(syntax) << " '" << text
                            << "': " << pattern.status().message();
  if (!pattern.ok()) return std::move(Pattern::Compile(kOsMatch, "").value());
  return std::move(pattern).value();
}

// One search: the pattern, the subject, whether it matches and, when it does, the captures.
struct SearchCase {
  PatternSyntax syntax;
  std::string pattern;
  std::string subject;
  bool matches;
  std::vector<std::string> captures = {};
};

std::string Describe(const SearchCase& c) {
  return std::string(PatternSyntaxName(c.syntax)) + " '" + c.pattern + "' on '" + c.subject + "'";
}

void RunSearchCases(const std::vector<SearchCase>& cases) {
  for (const SearchCase& c : cases) {
    SCOPED_TRACE(Describe(c));
    Pattern pattern = MustCompile(c.syntax, c.pattern);
    MatchResult match;
    ASSERT_EQ(pattern.Search(c.subject, &match), c.matches);
    EXPECT_EQ(pattern.Search(c.subject), c.matches);
    if (!c.matches) continue;
    std::vector<std::string> captures(match.captures.begin(), match.captures.end());
    EXPECT_THAT(captures, ElementsAreArray(c.captures));
    EXPECT_LE(match.begin, match.end);
    EXPECT_LE(match.end, c.subject.size());
  }
}

// Characters of each OS_Regex class escape, as OSSEC's character maps define them.
bool InEscapeClass(char escape, unsigned char c) {
  bool digit = c >= '0' && c <= '9';
  bool word =
      digit || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' || c == '@' || c == '_';
  std::string_view punctuation = "()*+,-.:;<=>?[]!\"'#$%&|{}";
  switch (escape) {
    case 'd':
      return digit;
    case 'D':
      return !digit;
    case 'w':
      return word;
    case 'W':
      return !word;
    case 's':
      return c == ' ';
    case 'S':
      return c != ' ';
    case 'p':
      return punctuation.find(static_cast<char>(c)) != std::string_view::npos;
    case '.':
      return true;
    case 't':
      return c == '\t';
    default:
      return false;
  }
}

TEST(OsRegexEscapes, ClassesMatchExactSets) {
  for (char escape : std::string_view("dDwWsSp.t")) {
    Pattern pattern = MustCompile(kOsRegex, std::string("^\\") + escape + "$");
    for (int c = 1; c < 0x80; ++c) {
      SCOPED_TRACE("\\" + std::string(1, escape) + " on byte " + std::to_string(c));
      std::string subject(1, static_cast<char>(c));
      EXPECT_EQ(pattern.Search(subject), InEscapeClass(escape, static_cast<unsigned char>(c)));
    }
  }
}

TEST(OsRegexEscapes, PunctuationSetHasTwentyFiveCharacters) {
  Pattern pattern = MustCompile(kOsRegex, "^\\p$");
  int count = 0;
  for (int c = 1; c < 0x80; ++c) {
    if (pattern.Search(std::string(1, static_cast<char>(c)))) ++count;
  }
  EXPECT_EQ(count, 25);
}

TEST(OsRegexEscapes, NonAsciiCharacterIsOnlyInNegatedClasses) {
  const std::string e_acute = "\xc3\xa9";  // é, one character of two bytes
  for (char escape : std::string_view("dDwWsSp.")) {
    SCOPED_TRACE(std::string("\\") + escape);
    Pattern pattern = MustCompile(kOsRegex, std::string("^\\") + escape + "$");
    bool negated = escape == 'D' || escape == 'W' || escape == 'S' || escape == '.';
    EXPECT_EQ(pattern.Search(e_acute), negated);
  }
}

TEST(OsRegexEscapes, LiteralEscapesMatchTheirCharacter) {
  for (char c : std::string_view("$()\\|<[]{}")) {
    SCOPED_TRACE(std::string("\\") + c);
    Pattern pattern = MustCompile(kOsRegex, std::string("^x\\") + c + "y$");
    EXPECT_TRUE(pattern.Search(std::string("x") + c + "y"));
    EXPECT_FALSE(pattern.Search("xzy"));
    EXPECT_FALSE(pattern.Search("xy"));
  }
}

TEST(OsRegexEscapes, OtherEscapesAreErrorsWithOffset) {
  std::string_view valid = "dDwWsSp.t$()\\|<[]{}";
  for (int c = 0x21; c < 0x7f; ++c) {
    if (valid.find(static_cast<char>(c)) != std::string_view::npos) continue;
    std::string text = std::string("ab\\") + static_cast<char>(c);
    SCOPED_TRACE(text);
    auto pattern = Pattern::Compile(kOsRegex, text);
    ASSERT_FALSE(pattern.ok());
    EXPECT_EQ(pattern.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(pattern.status().message(), "invalid OS_Regex: '\\" +
                                              std::string(1, static_cast<char>(c)) +
                                              "' is not a valid escape at offset 2");
  }
}

TEST(OsRegexSyntax, ErrorsNameReasonAndOffset) {
  struct ErrorCase {
    std::string pattern;
    std::string message;
  };
  std::vector<ErrorCase> cases = {
      {"abc\\n", "invalid OS_Regex: '\\n' is not a valid escape at offset 3"},
      {"\\-", "invalid OS_Regex: '\\-' is not a valid escape at offset 0"},
      {"x\\\x01", "invalid OS_Regex: '\\\\x01' is not a valid escape at offset 1"},
      {"ab\\", "invalid OS_Regex: the pattern ends with an unfinished escape at offset 2"},
      {"(ab", "invalid OS_Regex: '(' is not closed at offset 0"},
      {"a(b(c)", "invalid OS_Regex: '(' is not closed at offset 1"},
      {"ab)", "invalid OS_Regex: ')' has no matching '(' at offset 2"},
      {"(a))", "invalid OS_Regex: ')' has no matching '(' at offset 3"},
  };
  for (const ErrorCase& c : cases) {
    SCOPED_TRACE(c.pattern);
    auto pattern = Pattern::Compile(kOsRegex, c.pattern);
    ASSERT_FALSE(pattern.ok());
    EXPECT_EQ(pattern.status().message(), c.message);
  }
}

TEST(OsRegexSyntax, InvalidUtf8PatternIsRejected) {
  auto pattern = Pattern::Compile(kOsRegex, "ab\xff(\\d+)");
  ASSERT_FALSE(pattern.ok());
  EXPECT_THAT(pattern.status().message(), HasSubstr("invalid OS_Regex: "));
  EXPECT_THAT(pattern.status().message(), HasSubstr("at offset 2"));
}

TEST(PatternCompile, ErrorOffsetsPointIntoSourceText) {
  struct ErrorCase {
    PatternSyntax syntax;
    std::string pattern;
    std::string message;
  };
  std::string deep = "x" + std::string(300, '(') + "a" + std::string(300, ')');
  std::vector<ErrorCase> cases = {
      // Invalid UTF-8 is reported at the offset of the bad sequence in the text as written,
      // not in the PCRE2 translation, which is longer.
      {kOsMatch, "a.b|c\xc3(d",
       "invalid OS_Match: UTF-8 error: byte 2 top bits not 0x80 at offset 5"},
      {kOsRegex, "\\d+\\s\xe2\x82",
       "invalid OS_Regex: UTF-8 error: 1 byte missing at end at offset 5"},
      {kOsRegex, deep, "invalid OS_Regex: parentheses are too deeply nested at offset 252"},
      {kPcre2, deep, "invalid PCRE2: parentheses are too deeply nested at offset 252"},
  };
  for (const ErrorCase& c : cases) {
    SCOPED_TRACE(c.pattern.substr(0, 40));
    auto pattern = Pattern::Compile(c.syntax, c.pattern);
    ASSERT_FALSE(pattern.ok());
    EXPECT_EQ(pattern.status().message(), c.message);
  }
}

TEST(OsRegexSearch, QuantifiersAndLiterals) {
  RunSearchCases({
      // `+` and `*` quantify only an escape; after anything else they are literal.
      {kOsRegex, "a+", "a+", true},
      {kOsRegex, "a+", "aa", false},
      {kOsRegex, "ab*c", "ab*c", true},
      {kOsRegex, "ab*c", "ac", false},
      {kOsRegex, "ab*c", "abbc", false},
      {kOsRegex, "+x", "+x", true},
      {kOsRegex, "(+)", "+", true, {"+"}},
      {kOsRegex, "\\d+", "x123", true},
      {kOsRegex, "\\d+", "xyz", false},
      {kOsRegex, "x\\d*y", "xy", true},
      {kOsRegex, "x\\d*y", "x12y", true},
      {kOsRegex, "x\\d*y", "x1ay", false},
      {kOsRegex, "\\d+*", "12*", true},
      {kOsRegex, "\\d+*", "12", false},
      {kOsRegex, "\\t+x", "\t\tx", true},
      {kOsRegex, "\\(+x", "((x", true},
      // The other PCRE2 metacharacters are literal.
      {kOsRegex, "a.c", "a.c", true},
      {kOsRegex, "a.c", "abc", false},
      {kOsRegex, "a?", "a?", true},
      {kOsRegex, "ab?", "a", false},
      {kOsRegex, "[ab]", "[ab]", true},
      {kOsRegex, "[ab]", "a", false},
      {kOsRegex, "x{2}", "x{2}", true},
      {kOsRegex, "x{2}", "xx", false},
      {kOsRegex, "a#b c", "A#B C", true},
      {kOsRegex, "(?i)", "?i", true, {"?i"}},
      {kOsRegex, "(*FAIL)", "*FAIL", true, {"*FAIL"}},
      // `\.` is any character, including a newline and a multi-byte character.
      {kOsRegex, "a\\.c", "abc", true},
      {kOsRegex, "a\\.c", "a\nc", true},
      {kOsRegex, "^a\\.c$",
       "a\xc3\xa9"
       "c",
       true},
  });
}

TEST(OsRegexSearch, LazyExceptLastQuantifier) {
  RunSearchCases({
      {kOsRegex, "^(\\S+) (\\S+)", "user1 host2 rest", true, {"user1", "host2"}},
      // \. is any character: the lazy first group takes as little as the rest allows.
      {kOsRegex, "(\\d+)\\.(\\d+)", "12.34", true, {"12", "34"}},
      {kOsRegex, "(\\d+)\\.(\\d+)", "1234", true, {"1", "34"}},
      {kOsRegex, "(\\d+)\\.(\\d+)", "12a34", true, {"12", "34"}},
      // \w contains '-', so the split point shows which quantifier is lazy.
      {kOsRegex, "^(\\w+)-(\\w+)", "a-b-c", true, {"a", "b-c"}},
      {kOsRegex, "^(\\w+)-(\\w+)$", "a-b-c", true, {"a", "b-c"}},
      {kOsRegex, "^(\\w+)-(\\w+)-", "a-b-c-d", true, {"a", "b"}},
      {kOsRegex, "^(\\w+)-(\\w+)|^z", "a-b-c", true, {"a", "b-c"}},
      {kOsRegex, "^z|^(\\w+)-(\\w+)", "a-b-c", true, {"a", "b-c"}},
      {kOsRegex, "^((\\w+))", "a-b", true, {"a-b", "a-b"}},
      {kOsRegex, "^(\\w*)", "abc", true, {"abc"}},
      {kOsRegex, "^(\\w*)x", "abxcx", true, {"ab"}},
      // Lazy means as short as the rest allows: \s* may match nothing, so \S+ stops early.
      {kOsRegex, "^(\\S+)\\s*(\\S*)", "one two", true, {"o", "ne"}},
      {kOsRegex, "^(\\S+)\\s+(\\S*)", "one two", true, {"one", "two"}},
      {kOsRegex, "port (\\d+)", "from 10.0.0.1 port 22 ssh2", true, {"22"}},
  });
}

TEST(OsRegexSearch, AnchorsAndAlternatives) {
  RunSearchCases({
      {kOsRegex, "^abc", "abcdef", true},
      {kOsRegex, "^abc", "xabc", false},
      {kOsRegex, "def$", "abcdef", true},
      {kOsRegex, "def$", "defx", false},
      {kOsRegex, "def$", "abcdef\n", false},
      {kOsRegex, "^abc$", "ABC", true},
      {kOsRegex, "^abc$", "abcc", false},
      {kOsRegex, "^\\d+$", "123", true},
      {kOsRegex, "^\\d+$", "123a", false},
      {kOsRegex, "^$", "", true},
      {kOsRegex, "^$", "a", false},
      {kOsRegex, "", "anything", true},
      {kOsRegex, "a^b", "a^b", false},
      {kOsRegex, "a$b", "a$b", false},
      {kOsRegex, "a\\$b", "a$b", true},
      {kOsRegex, "^foo|bar$", "foo x", true},
      {kOsRegex, "^foo|bar$", "x bar", true},
      {kOsRegex, "^foo|bar$", "x foo", false},
      {kOsRegex, "^foo|bar$", "bar x", false},
      {kOsRegex, "a\\|b", "a|b", true},
      {kOsRegex, "a\\|b", "a", false},
      {kOsRegex, "x(a|b)y", "xby", true, {"b"}},
      {kOsRegex, "(a)(b)", "ab", true, {"a", "b"}},
  });
}

TEST(OsRegexSearch, CaseInsensitive) {
  RunSearchCases({
      {kOsRegex, "FAILED password", "failed PASSWORD for root", true},
      {kOsRegex, "^user (\\w+)$", "USER Root", true, {"Root"}},
      {kOsRegex,
       "\xc3\x84"
       "B",
       "x\xc3\xa4"
       "b",
       true},  // ÄB matches äb
      {kOsRegex, "^\xc3\x84\\w$",
       "\xc3\xa4"
       "b",
       true},
  });
}

TEST(OsRegexSearch, DecoderStylePatterns) {
  const std::string accepted =
      "Accepted publickey for deploy from 192.0.2.10 port 51022 ssh2: RSA SHA256:abc";
  const std::string invalid_user =
      "Failed password for invalid user admin from 198.51.100.7 "
      "port 40404 ssh2";
  const std::string syslog_header = "Dec  4 16:20:01 web-01 sshd[2404]: Connection closed";
  RunSearchCases({
      {kOsRegex,
       "^Accepted \\S+ for (\\S+) from (\\S+) port (\\d+)",
       accepted,
       true,
       {"deploy", "192.0.2.10", "51022"}},
      {kOsRegex,
       "^Failed \\S+ for invalid user (\\S+) from (\\S+) port (\\d+) ",
       invalid_user,
       true,
       {"admin", "198.51.100.7", "40404"}},
      // \S+ never crosses a space, so "invalid user admin" is no user name.
      {kOsRegex, "^Failed \\S+ for (\\S+) from", invalid_user, false},
      {kOsRegex,
       "^\\w\\w\\w \\s*\\d+ \\d\\d:\\d\\d:\\d\\d (\\S+) (\\w+)\\[(\\d+)\\]: ",
       syslog_header,
       true,
       {"web-01", "sshd", "2404"}},
      {kOsRegex, "^(\\S+)\\[(\\d+)\\]: ", "sshd[2404]: x", true, {"sshd", "2404"}},
      {kOsRegex,
       "^\\S+ \\S+ \\S+ \\[\\S+ \\S+\\] \"\\w+ (\\S+) HTTP\\S+\" (\\d+) ",
       "192.0.2.1 - - [04/Dec/2026:16:20:01 +0000] \"GET /index.php?id=1 HTTP/1.1\" 404 512",
       true,
       {"/index.php?id=1", "404"}},
      {kOsRegex, "^\\S+ \\S+ \\S+ \\[\\S+ \\S+\\] \"\\w+ (\\S+) HTTP\\S+\" (\\d+) ",
       "not an access log line", false},
      {kOsRegex, "user=(\\S+)$|user=(\\S+) ", "rhost=10.0.0.1  user=root", true, {"root"}},
      {kOsRegex,
       "^pam_unix\\(\\S+\\): authentication failure; logname=(\\S*) ",
       "pam_unix(sshd:auth): authentication failure; logname= uid=0",
       true,
       {""}},
  });
}

TEST(OsRegexSearch, FastPathLiteralsMatchLikeTheEngine) {
  std::vector<SearchCase> cases = {
      {kOsRegex, "^Accepted password for ", "accepted PASSWORD for root", true},
      {kOsRegex, "^Accepted password for ", "x Accepted password for ", false},
      {kOsRegex, "ssh2$", "port 22 SSH2", true},
      {kOsRegex, "ssh2$", "ssh2 ", false},
      {kOsRegex, "^ssh2$", "Ssh2", true},
      {kOsRegex, "^ssh2$", "ssh", false},
      {kOsRegex, "^ssh2$", "", false},
      {kOsRegex, "^", "", true},
      {kOsRegex, "$", "x", true},
      {kOsRegex, "^$", "", true},
      {kOsRegex, "^$", "x", false},
      {kOsRegex, "^a,b:c;d<e=f>g@h_i`j~k-l!m\"n#o%p&q'r/s$",
       "A,B:C;D<E=F>G@H_I`J~K-L!M\"N#O%P&Q'R/S", true},
  };
  RunSearchCases(cases);
  // Anchored literals skip PCRE2. A leading "(?:)" forces the same text through PCRE2, where
  // these characters are literal too, and both must report the same match.
  for (const SearchCase& c : cases) {
    SCOPED_TRACE(Describe(c));
    Pattern native = MustCompile(kOsRegex, c.pattern);
    Pattern engine = MustCompile(kPcre2, "(?:)" + c.pattern);
    MatchResult native_match;
    MatchResult engine_match;
    ASSERT_EQ(native.Search(c.subject, &native_match), engine.Search(c.subject, &engine_match));
    if (!c.matches) continue;
    EXPECT_EQ(native_match.begin, engine_match.begin);
    EXPECT_EQ(native_match.end, engine_match.end);
  }
}

TEST(DecidingLiterals, OnlyUnanchoredLiteralAlternatives) {
  struct Case {
    PatternSyntax syntax;
    std::string pattern;
    std::vector<std::string> literals;  // empty: none
  };
  const Case cases[] = {
      {kOsMatch, "Invalid user|ILLEGAL user", {"invalid user", "illegal user"}},
      {kOsMatch, "session opened", {"session opened"}},
      {kOsMatch, "^Accepted|session opened", {}},
      {kOsMatch, "session opened$", {}},
      {kOsMatch, "a||b", {}},
      {kOsMatch, "", {}},
      {kOsMatch, "caf\xC3\xA9", {}},
      {kOsMatch, "a.b(c)*", {"a.b(c)*"}},
      {kOsRegex, "Connection closed", {"connection closed"}},
      {kOsRegex, "illegal user|invalid user", {"illegal user", "invalid user"}},
      {kOsRegex,
       "a,b:c;d<e=f>g@h_i`j~k-l!m\"n#o%p&q'r/s",
       {"a,b:c;d<e=f>g@h_i`j~k-l!m\"n#o%p&q'r/s"}},
      {kOsRegex, "^Failed|^error: PAM", {}},
      {kOsRegex, "from (\\S+)", {}},
      {kOsRegex, "a.b", {}},
      {kOsRegex, "\\(pam_unix\\)", {}},
      {kPcre2, "Connection closed|reset", {"connection closed", "reset"}},
      {kPcre2, "colou?r", {}},
      {kPcre2, "a.b", {}},
      {kPcre2, "(a)", {}},
      {kPcre2, "end$", {}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(PatternSyntaxName(c.syntax)) + " '" + c.pattern + "'");
    Pattern pattern = MustCompile(c.syntax, c.pattern);
    const std::vector<std::string>* literals = pattern.DecidingLiterals();
    if (c.literals.empty()) {
      EXPECT_EQ(literals, nullptr);
    } else {
      ASSERT_NE(literals, nullptr);
      EXPECT_EQ(*literals, c.literals);
    }
  }
}

// What DecidingLiterals() promises: on ASCII subjects the pattern matches exactly when the
// subject contains one of the literals, whatever the case.
TEST(DecidingLiterals, DecideEverySearchOnAsciiSubjects) {
  const std::pair<PatternSyntax, std::string> patterns[] = {
      {kOsMatch, "invalid user|illegal user"}, {kOsMatch, "a.b(c)*"},
      {kOsRegex, "Connection closed"},         {kOsRegex, "user|userx|ser"},
      {kPcre2, "Connection closed|reset"},     {kOsRegex, "a,b:c;d<e=f>g"},
  };
  const std::string subjects[] = {
      "",
      "Failed password for INVALID USER admin",
      "Failed password for illegal userfoo",
      "invalid use",
      "Connection closed by 203.0.113.4",
      "connection CLOSED",
      "Connection  closed",
      "peer reset the link",
      "xa.b(c)*y",
      "a.bc",
      "A,B:C;D<E=F>G",
      "us er",
      "USER",
  };
  for (const auto& [syntax, text] : patterns) {
    Pattern pattern = MustCompile(syntax, text);
    const std::vector<std::string>* literals = pattern.DecidingLiterals();
    ASSERT_NE(literals, nullptr) << text;
    for (const std::string& subject : subjects) {
      std::string lower = subject;
      for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      bool contains = std::any_of(literals->begin(), literals->end(), [&](const std::string& l) {
        return lower.find(l) != std::string::npos;
      });
      EXPECT_EQ(pattern.Search(subject), contains) << "'" << text << "' on '" << subject << "'";
    }
  }
}

// Alternatives of anchored literals run through PCRE2, as in OSSEC 3.3 and later, so caseless
// matching folds U+212A (the Kelvin sign) to "k" and U+017F (long s) to "s". Only a single
// anchored literal takes the ASCII literal path.
TEST(OsRegexSearch, AnchoredAlternativesFoldAsPcre2OnNonAscii) {
  const std::string kelvin = "\xE2\x84\xAA";
  const std::string long_s = "\xC5\xBF";
  EXPECT_TRUE(MustCompile(kOsRegex, "^kelvin|^zzz").Search(kelvin + "elvin x"));
  EXPECT_TRUE(MustCompile(kPcre2, "^kelvin|^zzz").Search(kelvin + "elvin x"));
  EXPECT_TRUE(MustCompile(kOsRegex, "^lsh|^zzz").Search("l" + long_s + "h"));
  EXPECT_TRUE(MustCompile(kOsRegex, "^zzz|x$").Search("caf\xC3\xA9 X"));
  EXPECT_TRUE(MustCompile(kOsRegex, "^zzz|as$").Search("xa" + long_s)) << "at the end";
  EXPECT_TRUE(MustCompile(kOsRegex, "^ss$|^zzz").Search("s" + long_s)) << "the whole subject";
  EXPECT_TRUE(MustCompile(kOsRegex, "^ab|^zzz").Search("AB" + kelvin)) << "after the window";
  EXPECT_FALSE(MustCompile(kOsRegex, "^kelvin|^zzz").Search("kelvi" + kelvin));
  MatchResult match;
  ASSERT_TRUE(MustCompile(kOsRegex, "^zzz|^k").Search(kelvin + "x", &match));
  EXPECT_EQ(match.begin, 0u);
  EXPECT_EQ(match.end, kelvin.size()) << "the match spans the three bytes of U+212A";
}

TEST(RequiredPrefix, StopsWhereTheLiteralEnds) {
  EXPECT_EQ(pattern_internal::RequiredPrefix("^User \\S+ from "), "user ");
  EXPECT_EQ(pattern_internal::RequiredPrefix("^Failed (\\S+)"), "failed ");
  EXPECT_EQ(pattern_internal::RequiredPrefix("^abc?d"), "ab") << "a quantified last character";
  EXPECT_EQ(pattern_internal::RequiredPrefix("^abc{2}"), "ab");
  EXPECT_EQ(pattern_internal::RequiredPrefix("^ab|^cd"), "") << "alternatives";
  EXPECT_EQ(pattern_internal::RequiredPrefix("User \\S+"), "") << "not anchored";
  EXPECT_EQ(pattern_internal::RequiredPrefix("^\\d+"), "");
}

// The tests made before PCRE2 runs (the required prefix, the first byte and the minimum
// length) must decide as PCRE2 does. A leading "(?:)" hides the anchor from them, so the
// same text runs through PCRE2 alone.
TEST(RequiredPrefix, AgreesWithPcre2) {
  const std::string kelvin = "\xE2\x84\xAA";  // U+212A, which PCRE2 folds to "k"
  for (const auto& [pattern, subject] : std::vector<std::pair<std::string, std::string>>{
           {"^User \\S+ from ", "User root from 203.0.113.4"},
           {"^User \\S+ from ", "USER root FROM x"},
           {"^User \\S+ from ", "user root from x"},
           {"^User \\S+ from ", "Use"},
           {"^User \\S+ from ", "Failed password for root"},
           {"^abc?d", "abd"},
           {"^abc?d", "abcd"},
           {"^kelvin \\d", kelvin + "elvin 5"},
           {"^kelvin \\d", "kelvin x"},
           // Anchored patterns whose first byte PCRE2 reports.
           {"^\\d+-\\d+", "2024-12"},
           {"^\\d+-\\d+", "x2024-12"},
           {"^\\[\\w+", "[notice"},
           {"^\\[\\w+", "notice"},
           {"^(\\S+) port", "host port"},
           {"^(\\S+) port", " port"},
           {"^%\\w+-\\d", "%LINK-3"},
           {"^%\\w+-\\d", "LINK-3"},
           {"^k\\w+", kelvin + "elvin"},
           {"^\\w+ \\d+ \\d+", "ab 1"},
       }) {
    SCOPED_TRACE(pattern + " on " + subject);
    EXPECT_EQ(MustCompile(kPcre2, pattern).Search(subject),
              MustCompile(kPcre2, "(?:)" + pattern).Search(subject));
    auto translation = pattern_internal::TranslateOsRegex(pattern);
    ASSERT_TRUE(translation.ok());
    EXPECT_EQ(MustCompile(kOsRegex, pattern).Search(subject),
              MustCompile(kPcre2, "(?:)" + translation->pcre2).Search(subject));
  }
}

TEST(OsRegexSearch, UnsetGroupsAreLeftOut) {
  RunSearchCases({
      {kOsRegex, "(a)|(b)", "b", true, {"b"}},
      {kOsRegex, "(a)|(b)", "a", true, {"a"}},
      {kOsRegex, "x(a|(b))(c)", "xac", true, {"a", "c"}},
      {kPcre2, "(a)?(b)", "b", true, {"b"}},
      {kPcre2, "(x)?(y)(z)?", "y", true, {"y"}},
      {kPcre2, "(x)?(y)(z)?", "xyz", true, {"x", "y", "z"}},
  });
  EXPECT_EQ(MustCompile(kOsRegex, "(a)|(b)").capture_count(), 2);
  EXPECT_EQ(MustCompile(kPcre2, "(x)?(y)(z)?").capture_count(), 3);
  EXPECT_EQ(MustCompile(kOsRegex, "^abc").capture_count(), 0);
  EXPECT_EQ(MustCompile(kOsMatch, "abc|def").capture_count(), 0);
}

TEST(OsMatchSearch, LiteralTextOnly) {
  RunSearchCases({
      {kOsMatch, "a.c", "abc", false},
      {kOsMatch, "a.c", "xa.cx", true},
      {kOsMatch, "\\d", "\\d", true},
      {kOsMatch, "\\d", "5", false},
      {kOsMatch, "f(x)*[y]+?{1}", "call F(X)*[Y]+?{1}", true},
      {kOsMatch, "f(x)*[y]", "fx", false},
      {kOsMatch, "a^b", "a^b", true},
      {kOsMatch, "a$b", "a$b", true},
      {kOsMatch, "Failed password", "sshd: failed PASSWORD for root", true},
      {kOsMatch, "failed password", "failed passwor", false},
  });
}

TEST(OsMatchSearch, AnchorsAndAlternatives) {
  RunSearchCases({
      {kOsMatch, "^abc", "ABCdef", true},
      {kOsMatch, "^abc", "xabc", false},
      {kOsMatch, "def$", "abcDEF", true},
      {kOsMatch, "def$", "defx", false},
      {kOsMatch, "^abc$", "abc", true},
      {kOsMatch, "^abc$", "abcabc", false},
      {kOsMatch, "^abc$", "ab", false},
      {kOsMatch, "^$", "", true},
      {kOsMatch, "^$", "x", false},
      {kOsMatch, "su|sudo|^login", "user ran SUDO", true},
      {kOsMatch, "xx|^login", "login: root", true},
      {kOsMatch, "xx|^login", "a login", false},
      {kOsMatch, "xx|yy$", "ayy", true},
      // An empty alternative matches every subject.
      {kOsMatch, "", "anything", true},
      {kOsMatch, "|", "anything", true},
      {kOsMatch, "xx|", "anything", true},
      {kOsMatch, "^", "anything", true},
      {kOsMatch, "$", "anything", true},
      {kOsMatch, "xx|^", "", true},
  });
}

TEST(OsMatchSearch, NativePathAgreesWithPcre2Translation) {
  // Non-ASCII OS_Match patterns go through this translation, so it must match exactly what
  // the native ASCII path matches, with the same bounds.
  // clang-format off
  std::vector<std::string> patterns = {
      "abc", "^abc", "abc$", "^abc$", "a.c", "(x)*", "b|^a|c$", "|", "^", "$", "^$", "zz|", "\\d",
      "[a]", "a|ab", "ab|a", "c|b", "|^x", "||x", "^|x", "\\E\\Q", "xyz|^abc|bc|c$|", "B|b|A",
      "ca|ab|bc",
      "zz|bc$|abc|b", "q|^ab|a", "x|y|z",
      // Eight or more unanchored alternatives take the one-pass scan.
      "q|w|e|r|t|y|u|i|o|p|bc|ab", "zz|yy|xx|ww|vv|uu|tt|ss|^a|c$|", "1|2|3|4|5|6|7|8|9|Ca|Bc|aB",
  };
  std::vector<std::string> subjects = {
      "abc", "ABC", "xabcx", "a.c", "(X)*", "cba", "", "\\d", "[A]", "ab", "zz", "\\e\\q", "abcabc",
      "xbcab", "zzz",
  };
  // clang-format on
  for (const std::string& text : patterns) {
    Pattern native = MustCompile(kOsMatch, text);
    Pattern engine = MustCompile(kPcre2, pattern_internal::TranslateOsMatch(text).pcre2);
    for (const std::string& subject : subjects) {
      SCOPED_TRACE("'" + text + "' on '" + subject + "'");
      MatchResult native_match;
      MatchResult engine_match;
      bool found = native.Search(subject, &native_match);
      ASSERT_EQ(found, engine.Search(subject, &engine_match));
      if (!found) continue;
      EXPECT_EQ(native_match.begin, engine_match.begin);
      EXPECT_EQ(native_match.end, engine_match.end);
    }
  }
}

TEST(OsMatchSearch, NonAsciiFoldsCase) {
  RunSearchCases({
      {kOsMatch,
       "\xc3\x84"
       "B",
       "x\xc3\xa4"
       "by",
       true},  // ÄB in xäby
      {kOsMatch,
       "^\xc3\x84"
       "B$",
       "\xc3\xa4"
       "b",
       true},
      {kOsMatch,
       "^\xc3\x84"
       "B$",
       "x\xc3\xa4"
       "b",
       false},
      {kOsMatch, "x|\xc3\xa9t\xc3\xa9$", "\xc3\x89T\xc3\x89", true},  // été against ÉTÉ
      {kOsMatch, "\xc3\xa9.(",
       "\xc3\xa9"
       "a(",
       false},
      {kOsMatch, "\xc3\xa9.(", "\xc3\xa9.(", true},
      {kOsMatch, "\xc3\xa9|", "x", true},
  });
}

TEST(Pcre2Search, RawSyntaxCaseInsensitive) {
  RunSearchCases({
      {kPcre2,
       "^Failed (\\w+) for (?:invalid user )?(\\S+) from ([\\d.]+)",
       "failed password for invalid user admin from 192.0.2.1 port 22",
       true,
       {"password", "admin", "192.0.2.1"}},
      {kPcre2, "a.c", "abc", true},
      {kPcre2, "\\d{3}", "ab123", true},
      {kPcre2, "\\d{3}", "ab12", false},
      {kPcre2,
       "\xc3\x84"
       "B",
       "\xc3\xa4"
       "b",
       true},
      {kPcre2, "^[\\p{L}]+$", "\xc3\xa9t\xc3\xa9", true},
      {kPcre2, "^telnetd|^in\\.telnetd", "in.telnetd", true},
      {kPcre2, "^abc$", "ABC", true},
  });
}

TEST(Pcre2Compile, ErrorsNameOffset) {
  auto empty = Pattern::Compile(kPcre2, "");
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.status().message(), "invalid PCRE2: the pattern is empty");

  auto bracket = Pattern::Compile(kPcre2, "ab[cd");
  ASSERT_FALSE(bracket.ok());
  EXPECT_EQ(bracket.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(bracket.status().message(), HasSubstr("invalid PCRE2: "));
  EXPECT_THAT(bracket.status().message(), HasSubstr("at offset 5"));

  auto group = Pattern::Compile(kPcre2, "a)b");
  ASSERT_FALSE(group.ok());
  EXPECT_THAT(group.status().message(), HasSubstr("at offset 1"));

  auto single_byte = Pattern::Compile(kPcre2, "a\\Cb");
  EXPECT_FALSE(single_byte.ok());
}

TEST(PatternCompile, RejectsPatternsOverMaximumSize) {
  for (PatternSyntax syntax : {kOsMatch, kOsRegex, kPcre2}) {
    SCOPED_TRACE(PatternSyntaxName(syntax));
    std::string at_limit(Pattern::kMaxPatternBytes, 'a');
    EXPECT_TRUE(Pattern::Compile(syntax, at_limit).ok());
    auto too_long = Pattern::Compile(syntax, at_limit + "a");
    ASSERT_FALSE(too_long.ok());
    EXPECT_EQ(too_long.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(too_long.status().message(),
              "invalid " + std::string(PatternSyntaxName(syntax)) +
                  ": the pattern is 16385 bytes, longer than the maximum of 16384 bytes");
  }
}

TEST(PatternCompile, KeepsSyntaxAndText) {
  Pattern pattern = MustCompile(kOsRegex, "^(\\d+)");
  EXPECT_EQ(pattern.syntax(), kOsRegex);
  EXPECT_EQ(pattern.text(), "^(\\d+)");
  EXPECT_EQ(PatternSyntaxName(kOsMatch), "OS_Match");
  EXPECT_EQ(PatternSyntaxName(kOsRegex), "OS_Regex");
  EXPECT_EQ(PatternSyntaxName(kPcre2), "PCRE2");
  Pattern moved = std::move(pattern);
  EXPECT_TRUE(moved.Search("42"));
}

TEST(PatternSearch, ReportsMatchBounds) {
  struct BoundsCase {
    PatternSyntax syntax;
    std::string pattern;
    std::string subject;
    size_t begin;
    size_t end;
  };
  std::vector<BoundsCase> cases = {
      {kOsRegex, "\\d+", "ab123cd", 2, 5},
      {kOsRegex, "^ab", "ab123cd", 0, 2},
      {kOsRegex, "cd$", "ab123cd", 5, 7},
      {kOsRegex, "^ab\\d+", "ab123cd", 0, 5},
      {kOsRegex, "b\\d+c", "ab123cd", 1, 6},
      {kOsRegex, "", "abc", 0, 0},
      {kOsMatch, "123", "ab123cd", 2, 5},
      {kOsMatch, "^AB", "ab123cd", 0, 2},
      {kOsMatch, "CD$", "ab123cd", 5, 7},
      {kOsMatch, "^ab123cd$", "ab123cd", 0, 7},
      {kOsMatch, "cd|3", "ab123cd", 4, 5},
      {kOsMatch, "cd|12|1", "ab123cd", 2, 4},
      {kOsMatch, "\xc3\xa9", "ab\xc3\x89", 2, 4},
      // The substring search looks for the literal's rarest byte ('q' or 'z') first.
      {kOsMatch, "pQz", "abcpqzpqz", 3, 6},
      {kOsMatch, "zqa", "zqab", 0, 3},
      {kOsMatch, "eeq", "eeeeeeEEQ", 6, 9},
      {kOsMatch, "q ee", "q e q ee", 4, 8},
      {kPcre2, "(\\d)(\\d)", "ab123cd", 2, 4},
      {kPcre2, "^ab", "ab123cd", 0, 2},
  };
  for (const BoundsCase& c : cases) {
    SCOPED_TRACE(std::string(PatternSyntaxName(c.syntax)) + " '" + c.pattern + "'");
    Pattern pattern = MustCompile(c.syntax, c.pattern);
    MatchResult match;
    ASSERT_TRUE(pattern.Search(c.subject, &match));
    EXPECT_EQ(match.begin, c.begin);
    EXPECT_EQ(match.end, c.end);
  }
}

TEST(PatternSearch, ReusesMatchResult) {
  Pattern pattern = MustCompile(kOsRegex, "(\\d+)-(\\d+)");
  MatchResult match;
  ASSERT_TRUE(pattern.Search("1-2", &match));
  ASSERT_EQ(match.captures.size(), 2u);
  Pattern literal = MustCompile(kOsMatch, "x");
  ASSERT_TRUE(literal.Search("x", &match));
  EXPECT_TRUE(match.captures.empty());
}

TEST(PatternSearch, CatastrophicPatternStopsAtLimit) {
  struct LimitCase {
    PatternSyntax syntax;
    std::string pattern;
    std::string subject;
  };
  std::vector<LimitCase> cases = {
      {kPcre2, "^(\\w+\\s?)+$", std::string(40, 'a') + "!"},
      {kPcre2, "(a|aa)+$", std::string(60, 'a') + "b"},
      {kOsRegex, "^\\w*\\w*\\w*\\w*\\w*\\w*\\w*\\w*\\w*\\w*\\w*\\w*$", std::string(50, 'a') + "!"},
  };
  for (const LimitCase& c : cases) {
    SCOPED_TRACE(c.pattern);
    Pattern pattern = MustCompile(c.syntax, c.pattern);
    uint64_t hits_before = Pattern::limit_hits();
    auto start = std::chrono::steady_clock::now();
    EXPECT_FALSE(pattern.Search(c.subject));
    auto elapsed = std::chrono::steady_clock::now() - start;
    EXPECT_GT(Pattern::limit_hits(), hits_before);
    // Generous for sanitizer builds on a loaded machine; unbounded backtracking takes hours.
    EXPECT_LT(elapsed, std::chrono::seconds(10));
  }
}

TEST(PatternSearch, InterpreterStopsAtLimit) {
  // (*NO_JIT) makes PCRE2 use its interpreter, where the depth and heap limits apply too.
  Pattern pattern = MustCompile(kPcre2, "(*NO_JIT)^(\\w+\\s?)+$");
  uint64_t hits_before = Pattern::limit_hits();
  auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(pattern.Search(std::string(40, 'a') + "!"));
  auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_GT(Pattern::limit_hits(), hits_before);
  EXPECT_LT(elapsed, std::chrono::seconds(20));

  Pattern simple = MustCompile(kPcre2, "(*NO_JIT)^(\\w+) (\\w+)$");
  MatchResult match;
  ASSERT_TRUE(simple.Search("alpha beta", &match));
  ASSERT_EQ(match.captures.size(), 2u);
  EXPECT_EQ(match.captures[1], "beta");
}

TEST(PatternSearch, GroupRepetitionOverLongSubject) {
  std::string subject;
  for (int i = 0; i < 32 * 1024; ++i) subject += "ab";
  Pattern pattern = MustCompile(kPcre2, "^(?:a|b)*$");
  uint64_t hits_before = Pattern::limit_hits();
  EXPECT_TRUE(pattern.Search(subject));
  EXPECT_EQ(Pattern::limit_hits(), hits_before);
}

TEST(PatternSearch, ManyGroupsAfterFewOnSameThread) {
  Pattern few = MustCompile(kOsRegex, "(\\d)-(\\d)");
  std::string many_text;
  std::string subject;
  for (int i = 0; i < 40; ++i) {
    many_text += "(\\w)";
    subject += static_cast<char>('a' + i % 26);
  }
  Pattern many = MustCompile(kOsRegex, many_text);
  EXPECT_EQ(many.capture_count(), 40);
  MatchResult match;
  ASSERT_TRUE(few.Search("1-2", &match));
  EXPECT_EQ(match.captures.size(), 2u);
  ASSERT_TRUE(many.Search(subject, &match));
  ASSERT_EQ(match.captures.size(), 40u);
  EXPECT_EQ(match.captures[39], std::string(1, subject[39]));
  ASSERT_TRUE(few.Search("3-4", &match));
  ASSERT_EQ(match.captures.size(), 2u);
  EXPECT_EQ(match.captures[1], "4");
}

TEST(PatternSearch, LongSubjectWithinLimit) {
  // A lazy quantifier over a 64 KiB line must finish well under the backtracking limit.
  // (*NO_JIT) runs the same search in PCRE2's interpreter, where the depth limit applies.
  std::string subject = "user=" + std::string(64 * 1024, 'x') + " host=h1";
  std::vector<std::pair<PatternSyntax, std::string>> patterns = {
      {kOsRegex, "user=(\\S+) host=(\\S+)"},
      {kPcre2, "(*NO_JIT)user=(\\S+?) host=(\\S+)"},
  };
  for (const auto& [syntax, text] : patterns) {
    SCOPED_TRACE(text);
    Pattern pattern = MustCompile(syntax, text);
    uint64_t hits_before = Pattern::limit_hits();
    MatchResult match;
    ASSERT_TRUE(pattern.Search(subject, &match));
    ASSERT_EQ(match.captures.size(), 2u);
    EXPECT_EQ(match.captures[0].size(), 64u * 1024u);
    EXPECT_EQ(match.captures[1], "h1");
    EXPECT_EQ(Pattern::limit_hits(), hits_before);
  }
}

TEST(PatternSearch, ConcurrentSearchesAgree) {
  Pattern pattern = MustCompile(kOsRegex, "^(\\S+) from (\\S+) port (\\d+)");
  constexpr int kThreads = 4;
  constexpr int kIterations = 2000;
  std::vector<int> failures(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      MatchResult match;
      for (int i = 0; i < kIterations; ++i) {
        std::string user = "u" + std::to_string(t) + "_" + std::to_string(i);
        std::string port = std::to_string(i);
        std::string subject = user + " from 10.0.0." + std::to_string(t) + " port " + port;
        if (!pattern.Search(subject, &match) || match.captures.size() != 3 ||
            match.captures[0] != user || match.captures[2] != port) {
          ++failures[t];
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(failures[t], 0) << "thread " << t;
}

TEST(PatternSearch, InvalidUtf8SubjectIsABarrier) {
  // Callers sanitise subjects, but a subject with invalid UTF-8 must still be safe to search:
  // an invalid byte matches nothing, not even \. or a negated class.
  const std::string subject =
      "ab\xff"
      "cd \xc3(x";
  RunSearchCases({
      {kOsRegex, "^(\\w+)", subject, true, {"ab"}},
      {kOsRegex,
       "(\\w+)$",
       "ab\xff"
       "cd",
       true,
       {"cd"}},
      {kOsRegex, "b\\.c", subject, false},
      {kOsRegex, "b\\Wc", subject, false},
      {kOsRegex, "(\\S+) ", subject, true, {"cd"}},
      {kPcre2, "a.+d", subject, false},
      {kOsMatch, "\xc3\xa9", subject, false},
      {kOsMatch, "cd", subject, true},
  });
}

// What PCRE2 compiled for UTF-8, with the options Pattern uses for non-ASCII subjects, finds in
// `subject`: nullopt for no match, else the bounds and the groups that took part.
std::optional<std::vector<std::string>> Utf8Oracle(const std::string& pcre2,
                                                   const std::string& subject) {
  int error = 0;
  PCRE2_SIZE offset = 0;
  pcre2_code* code =
      pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pcre2.data()), pcre2.size(),
                    PCRE2_UTF | PCRE2_MATCH_INVALID_UTF | PCRE2_CASELESS | PCRE2_NEVER_BACKSLASH_C,
                    &error, &offset, nullptr);
  EXPECT_NE(code, nullptr) << pcre2;
  if (code == nullptr) return std::nullopt;
  pcre2_match_data* data = pcre2_match_data_create_from_pattern(code, nullptr);
  int rc = pcre2_match(code, reinterpret_cast<PCRE2_SPTR>(subject.data()), subject.size(), 0, 0,
                       data, nullptr);
  std::optional<std::vector<std::string>> found;
  if (rc > 0) {
    const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(data);
    found.emplace();
    found->push_back(std::to_string(ovector[0]) + "-" + std::to_string(ovector[1]));
    for (int i = 1; i < rc; ++i) {
      if (ovector[2 * i] == PCRE2_UNSET) continue;
      found->push_back(subject.substr(ovector[2 * i], ovector[2 * i + 1] - ovector[2 * i]));
    }
  }
  pcre2_match_data_free(data);
  pcre2_code_free(code);
  return found;
}

// ASCII subjects run code compiled without UTF-8 support, which must find what the UTF-8 code
// finds, bounds and groups included, whether the caller passes SubjectText::kAscii or not.
TEST(PatternSearch, AsciiSubjectsMatchAsUtf8Code) {
  const std::vector<std::string> patterns = {
      "^(\\S+) from (\\S+) port (\\d+)",
      "\\bro+t\\b",
      "[[:alpha:]]+\\d",
      "(\\w+)@(\\S+)",
      "(?<=x)y+",
      "[^a-z ]{2,}",
      "\\p{L}+ \\p{Lu}",
      "\\X\\X$",
      "a\\Rb",
      "\\h+\\v",
      "^.{3}(.)",
      "\\x{41}|\\x4b",
      "k(?i:EL)VIN|(?-i)Ss",
      "(a|b)*?c",
      "\\W+(\\w)",
      "[\\x00-\\x1f]",
      "^a?$",
      "(?s).\\Z",
  };
  std::mt19937 random(20261205);
  const std::string alphabet =
      "abckKsSxyLROT t@.\t\r\n\x01\x7f"
      "019AZ-_";
  std::vector<std::string> subjects = {
      "", "root from 203.0.113.4 port 22", "KELVIN", "kelvin ss", "a\r\nb", "Ab1 x"};
  for (int i = 0; i < 300; ++i) {
    std::string subject(random() % 24, ' ');
    for (char& c : subject) c = alphabet[random() % alphabet.size()];
    subjects.push_back(subject);
  }
  for (const std::string& text : patterns) {
    Pattern pattern = MustCompile(kPcre2, text);
    for (const std::string& subject : subjects) {
      SCOPED_TRACE("'" + text + "' on '" + subject + "'");
      std::optional<std::vector<std::string>> expected = Utf8Oracle(text, subject);
      for (SubjectText known : {SubjectText::kAscii, SubjectText::kUnknown}) {
        MatchResult match;
        ASSERT_EQ(pattern.Search(subject, &match, known), expected.has_value());
        if (!expected) continue;
        std::vector<std::string> found = {std::to_string(match.begin) + "-" +
                                          std::to_string(match.end)};
        found.insert(found.end(), match.captures.begin(), match.captures.end());
        EXPECT_EQ(found, *expected);
      }
    }
  }
}

// Non-ASCII subjects run the UTF-8 code, compiled at the first one. Patterns that need UTF-8
// support or have non-ASCII text use it for every subject.
TEST(PatternSearch, NonAsciiSubjectsMatchAsUtf8Code) {
  const std::string kelvin = "\xE2\x84\xAA";  // U+212A, which caseless UTF-8 folds to "k"
  const std::string e_acute = "\xC3\xA9";
  RunSearchCases({
      {kPcre2, "^k(\\w+)", kelvin + "elvin", true, {"elvin"}},
      {kPcre2, "^k(\\w+)", "Kelvin", true, {"elvin"}},
      {kPcre2, "^x.y$", "x\xC3\xA9y", true},
      {kPcre2, "^x...y$", "x\xC3\xA9y", false},
      {kPcre2, "x\xC3\xA9?y", "xy", true},
      {kPcre2, "x\xC3\xA9?y", "X\xC3\x89Y", true},
      {kPcre2, "\\x{100}", "\xC4\x81", true},
      {kPcre2, "\\x{100}", "x", false},
      {kOsRegex, "^(\\S+) user", "s" + e_acute + "b user", true, {"s" + e_acute + "b"}},
  });
  // Threads that meet a fresh pattern's first non-ASCII subject at once share one compile.
  Pattern pattern = MustCompile(kPcre2, "^k(\\w+)$");
  std::vector<int> matches(4, 0);
  std::vector<std::thread> threads;
  for (size_t t = 0; t < matches.size(); ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) matches[t] += pattern.Search(kelvin + "elvin") ? 1 : 0;
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(matches, std::vector<int>(4, 200));
}

// A pattern that fits PCRE2's limit only without UTF-8 support is rejected at load, as the
// UTF-8 code it needs for non-ASCII subjects cannot be compiled.
TEST(Pcre2Compile, TooLargeForUtf8IsAnError) {
  std::string classes;
  for (int i = 0; i < 1490; ++i) classes += "[a-z]";
  Expected<Pattern> pattern = Pattern::Compile(kPcre2, classes);
  ASSERT_FALSE(pattern.ok());
  EXPECT_THAT(pattern.status().message(), HasSubstr("too large"));
  std::string fewer;
  for (int i = 0; i < 200; ++i) fewer += "[a-z]";
  Pattern fits = MustCompile(kPcre2, fewer);
  EXPECT_TRUE(fits.Search(std::string(200, 'K')));
  EXPECT_TRUE(fits.Search("\xE2\x84\xAA" + std::string(199, 'x'))) << "U+212A is a k";
}

TEST(PatternSearch, EmptySubject) {
  RunSearchCases({
      {kOsMatch, "a", "", false},
      {kOsRegex, "\\d*", "", true},
      {kOsRegex, "\\d+", "", false},
      {kPcre2, "^$", "", true},
  });
  Pattern pattern = MustCompile(kOsRegex, "\\d*");
  EXPECT_TRUE(pattern.Search(std::string_view()));
}

// Returns the syntax OSSEC uses for a decoder or rule element, or nothing for elements that
// hold no pattern.
std::optional<PatternSyntax> ElementSyntax(std::string_view name) {
  if (name == "pcre2" || name.ends_with("_pcre2")) return kPcre2;
  if (name == "regex" || name == "prematch") return kOsRegex;
  for (std::string_view match_element : {"match", "program_name", "user", "url", "id", "status",
                                         "hostname", "extra_data", "srcport", "dstport"}) {
    if (name == match_element) return kOsMatch;
  }
  return std::nullopt;
}

struct FilePattern {
  std::string element;
  std::string text;
};

// Returns the text of every pattern element in an OSSEC decoder or rule file. OSSEC's XML
// dialect keeps `&` and `\<` literal, so the elements are cut out by their tags.
std::vector<FilePattern> ReadPatternElements(const std::string& content) {
  std::string text = content;
  for (size_t start = text.find("<!--"); start != std::string::npos;
       start = text.find("<!--", start)) {
    size_t end = text.find("-->", start);
    text.erase(start, end == std::string::npos ? std::string::npos : end + 3 - start);
  }
  std::vector<FilePattern> patterns;
  size_t pos = 0;
  while ((pos = text.find('<', pos)) != std::string::npos) {
    size_t name_end = text.find_first_of(" \t\n>/", pos + 1);
    if (name_end == std::string::npos) break;
    std::string name = text.substr(pos + 1, name_end - pos - 1);
    size_t open_end = text.find('>', name_end);
    if (!ElementSyntax(name).has_value() || open_end == std::string::npos) {
      ++pos;
      continue;
    }
    if (text[open_end - 1] == '/') {
      patterns.push_back({name, ""});  // an empty element such as <program_name />
      pos = open_end;
      continue;
    }
    size_t close = text.find("</" + name + ">", open_end);
    if (close == std::string::npos) break;
    patterns.push_back({name, text.substr(open_end + 1, close - open_end - 1)});
    pos = close;
  }
  return patterns;
}

TEST(OssecFiles, EveryDecoderAndRulePatternCompiles) {
  namespace fs = std::filesystem;
  const fs::path etc = fs::path(VIGIL_SOURCE_DIR) / "../shared/compat/ossec-3.7.0/etc";
  if (!fs::is_directory(etc)) {
    GTEST_SKIP() << "the OSSEC 3.7.0 decoder and rule files are not at " << etc;
  }
  std::vector<fs::path> files = {etc / "decoder.xml"};
  for (const auto& entry : fs::directory_iterator(etc / "rules")) {
    if (entry.path().extension() == ".xml") files.push_back(entry.path());
  }
  size_t compiled = 0;
  for (const fs::path& file : files) {
    std::ifstream stream(file);
    std::stringstream content;
    content << stream.rdbuf();
    for (const FilePattern& pattern : ReadPatternElements(content.str())) {
      SCOPED_TRACE(file.filename().string() + " <" + pattern.element + ">" + pattern.text);
      auto compiled_pattern = Pattern::Compile(*ElementSyntax(pattern.element), pattern.text);
      EXPECT_TRUE(compiled_pattern.ok()) << compiled_pattern.status().message();
      ++compiled;
    }
  }
  // The 3.7.0 decoder and rule files have 1,719 pattern elements outside comments.
  EXPECT_EQ(compiled, 1719u);
}

// Returns the sshd messages of the loghub OpenSSH sample (the text after "]: "), or an empty
// vector when the sample is absent.
std::vector<std::string> ReadOpenSshMessages() {
  std::ifstream stream(std::string(VIGIL_SOURCE_DIR) + "/../shared/samples/loghub/OpenSSH_2k.log");
  std::vector<std::string> messages;
  std::string line;
  while (std::getline(stream, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    size_t colon = line.find("]: ");
    if (colon != std::string::npos) messages.push_back(line.substr(colon + 3));
  }
  return messages;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::vector<std::string> SplitOnSpace(const std::string& text) {
  std::vector<std::string> tokens;
  size_t start = 0;
  while (true) {
    size_t space = text.find(' ', start);
    tokens.push_back(text.substr(start, space - start));
    if (space == std::string::npos) return tokens;
    start = space + 1;
  }
}

bool IsDigits(std::string_view text) {
  return !text.empty() &&
         std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Expected captures of `^Failed password for (\S+) from (\S+) port (\d+) ssh2$`, worked out
// with plain string operations; nullopt when the message must not match.
std::optional<std::vector<std::string>> FailedPasswordFields(const std::string& message) {
  std::vector<std::string> t = SplitOnSpace(message);
  if (t.size() != 9 || !EqualsIgnoreCase(t[0], "failed") || !EqualsIgnoreCase(t[1], "password") ||
      !EqualsIgnoreCase(t[2], "for") || t[3].empty() || !EqualsIgnoreCase(t[4], "from") ||
      t[5].empty() || !EqualsIgnoreCase(t[6], "port") || !IsDigits(t[7]) ||
      !EqualsIgnoreCase(t[8], "ssh2")) {
    return std::nullopt;
  }
  return std::vector<std::string>{t[3], t[5], t[7]};
}

// Expected captures of `^Invalid user (\S*) from (\S+)`: the user ends at the first space and
// the address runs to the next space or the end.
std::optional<std::vector<std::string>> InvalidUserFields(const std::string& message) {
  const std::string prefix = "invalid user ";
  if (message.size() < prefix.size() || !EqualsIgnoreCase(message.substr(0, 13), prefix)) {
    return std::nullopt;
  }
  size_t user_end = message.find(' ', prefix.size());
  if (user_end == std::string::npos) return std::nullopt;
  std::string rest = message.substr(user_end);
  if (rest.size() <= 6 || !EqualsIgnoreCase(rest.substr(0, 6), " from ") || rest[6] == ' ') {
    return std::nullopt;
  }
  std::string user = message.substr(prefix.size(), user_end - prefix.size());
  return std::vector<std::string>{user, rest.substr(6, rest.find(' ', 6) - 6)};
}

// Expected capture of `port (\d+)`: the first "port " followed by a digit, and all its digits.
std::optional<std::vector<std::string>> PortField(const std::string& message) {
  std::string lower = message;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (size_t at = lower.find("port "); at != std::string::npos; at = lower.find("port ", at + 1)) {
    size_t digits = at + 5;
    size_t end = digits;
    while (end < message.size() && message[end] >= '0' && message[end] <= '9') ++end;
    if (end > digits) return std::vector<std::string>{message.substr(digits, end - digits)};
  }
  return std::nullopt;
}

TEST(SampleLogs, SshdCapturesMatchStringOracle) {
  std::vector<std::string> messages = ReadOpenSshMessages();
  if (messages.empty()) GTEST_SKIP() << "the loghub OpenSSH sample is not present";
  struct OracleCase {
    std::string pattern;
    std::optional<std::vector<std::string>> (*expected)(const std::string&);
    size_t min_matches;  // how many messages of the sample the pattern must match at least
  };
  std::vector<OracleCase> cases = {
      {"^Failed password for (\\S+) from (\\S+) port (\\d+) ssh2$", FailedPasswordFields, 100},
      {"^Invalid user (\\S*) from (\\S+)", InvalidUserFields, 100},
      {"port (\\d+)", PortField, 500},
  };
  for (const OracleCase& c : cases) {
    Pattern pattern = MustCompile(kOsRegex, c.pattern);
    size_t matches = 0;
    MatchResult match;
    for (const std::string& message : messages) {
      SCOPED_TRACE(c.pattern + " on '" + message + "'");
      std::optional<std::vector<std::string>> expected = c.expected(message);
      ASSERT_EQ(pattern.Search(message, &match), expected.has_value());
      if (!expected.has_value()) continue;
      ++matches;
      std::vector<std::string> captures(match.captures.begin(), match.captures.end());
      EXPECT_EQ(captures, *expected);
    }
    EXPECT_GE(matches, c.min_matches) << c.pattern;
  }
}

}  // namespace
}  // namespace vigil::analysis
