// Loading reports every problem of every file at once, each with file and line, and hostile
// input gives a clear error or a bounded, correct result.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "analysis/test_fixture.h"
#include "analysis/xml_vars.h"

namespace vigil::analysis {
namespace {

using LoadErrorsTest = AnalyzerFixture;

const char* kDecoders = R"(<decoder name="app"><program_name>^app</program_name></decoder>)";

std::string Rules(const std::string& body) {
  return std::string(kTemplateRules) + "<group name=\"app,\">\n" + body + "\n</group>\n";
}

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST_F(LoadErrorsTest, ReportsEveryRuleProblemAtOnce) {
  std::string error = Load(kDecoders, Rules(R"(
  <rule id="100" level="3"><if_sid>4242</if_sid><description>a</description></rule>
  <rule id="101" level="3"><match>x</match><description>b</description></rule>
  <rule id="101" level="4"><match>y</match><description>c</description></rule>
  <rule id="102" level="3"><regex>(\d+</regex><description>d</description></rule>
  <rule id="103" level="3"><pcre2>(?&lt;bad</pcre2><description>e</description></rule>
  <rule id="104" level="3" frequency="4"><same_source_ip /><description>f</description></rule>
  <rule id="105" level="3"><decoded_as>nosuch</decoded_as><description>g</description></rule>
  <rule id="106" level="3"><if_matched_sid>999</if_matched_sid><description>h</description></rule>
  <rule id="107" level="3" overwrite="yes"><match>z</match><description>i</description></rule>
  <rule id="108" level="3"><weekday>someday</weekday><description>j</description></rule>
  <rule id="109" level="3"><time>25:00 - 26:00</time><description>k</description></rule>
  <rule id="110" level="3"><bogus>1</bogus><description>l</description></rule>
)"));
  SCOPED_TRACE(error);
  EXPECT_TRUE(Contains(error,
                       "rules.xml:8: rule 100: <if_sid> names rule 4242, which is not "
                       "defined"));
  EXPECT_TRUE(Contains(error, "rules.xml:10: rule 101: duplicate rule id 101 (first defined at"));
  EXPECT_TRUE(Contains(error, "add overwrite=\"yes\" to replace it"));
  EXPECT_TRUE(Contains(error, "rules.xml:11: <regex>: invalid OS_Regex"));
  EXPECT_TRUE(Contains(error, "rules.xml:12: <pcre2>: invalid PCRE2"));
  EXPECT_TRUE(Contains(error, "rules.xml:13: rule 104: frequency and same_*/different_* need"));
  EXPECT_TRUE(Contains(error, "rules.xml:14: <decoded_as> names decoder 'nosuch'"));
  EXPECT_TRUE(Contains(error, "rule 106: <if_matched_sid> names rule 999, which is not defined"));
  EXPECT_TRUE(Contains(error, "rule 107 is not defined"));
  EXPECT_TRUE(Contains(error, "rules.xml:17: <weekday>: expected day names"));
  EXPECT_TRUE(Contains(error, "rules.xml:18: <time>: expected a range"));
  EXPECT_TRUE(Contains(error, "rules.xml:19: <bogus> is not a rule element"));
}

config::XmlNode Element(std::string name,
                        std::vector<std::pair<std::string, std::string>> attributes, int line) {
  config::XmlNode node;
  node.name = std::move(name);
  node.attributes = std::move(attributes);
  node.line = line;
  return node;
}

TEST(IgnoredAttributeWarnings, UnknownAttributes) {
  config::XmlNode regex = Element("regex", {{"type", "pcre2"}, {"offset", "after_parent"}}, 7);
  EXPECT_EQ(IgnoredAttributeWarnings("r.xml:7: ", regex, {}),
            (std::vector<std::string>{
                "r.xml:7: attribute type=\"pcre2\" of <regex> is ignored, as OSSEC ignores it; "
                "the pattern is read as OS_Regex. For a PCRE2 pattern, write <pcre2>",
                "r.xml:7: attribute offset=\"after_parent\" of <regex> is ignored, as OSSEC "
                "ignores it"}));
  EXPECT_EQ(IgnoredAttributeWarnings("r.xml:7: ", regex, {"offset"}).size(), 1u);
  EXPECT_EQ(IgnoredAttributeWarnings("r.xml:3: ", Element("User", {{"negate", "yes"}}, 3), {}),
            (std::vector<std::string>{"r.xml:3: attribute negate=\"yes\" of <User> is ignored, "
                                      "as OSSEC ignores it; the condition is not negated"}));
  EXPECT_NE(IgnoredAttributeWarnings("", Element("match", {{"type", "pcre2"}}, 4), {})[0].find(
                "read as OS_Match. For a PCRE2 pattern, write <match_pcre2>"),
            std::string::npos);
  EXPECT_TRUE(
      IgnoredAttributeWarnings("", Element("info", {{"type", "link"}}, 5), {"type"}).empty());
}

// OSSEC loads a rule with Wazuh's <regex type="pcre2"> and reads the pattern as OS_Regex, so
// Vigil does the same, with a warning.
TEST_F(LoadErrorsTest, WazuhPatternTypeIgnored) {
  ASSERT_EQ(Load(kDecoders, Rules(R"(
  <rule id="100" level="3"><regex type="pcre2">^id \d+$</regex><description>a</description></rule>
)")),
            "");
  RuleMatch digits = Feed("Dec  1 10:00:00 host app: id 42");
  ASSERT_NE(digits.rule, nullptr);
  EXPECT_EQ(digits.rule->id, 100);
  RuleMatch letter = Feed("Dec  1 10:00:00 host app: id 4x");
  EXPECT_TRUE(letter.rule == nullptr || letter.rule->id != 100);
  std::vector<std::string> warnings = analyzer_->load_warnings();
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_TRUE(Contains(warnings[0], "rules.xml:8: attribute type=\"pcre2\" of <regex>"))
      << warnings[0];
}

// OSSEC rejects a decoder file when the first attribute of a <prematch> or <regex> is not
// offset, or when a later one of the same decoder has an offset. It ignores further attributes
// and those of other elements.
TEST_F(LoadErrorsTest, DecoderPatternAttributes) {
  const char* rules = R"(<group name="base,">
  <rule id="1" level="0"><category>syslog</category><description>s</description></rule>
</group>)";
  std::string error = Load(R"(<decoder name="a">
  <program_name>^a</program_name>
  <regex type="pcre2">^(\d+)</regex>
  <order>id</order>
</decoder>
<decoder name="b">
  <program_name>^b</program_name>
  <prematch>^x </prematch>
  <regex>^(\d+) </regex>
  <regex offset="after_prematch">(\w+)</regex>
  <order>id, user</order>
</decoder>)",
                           rules);
  EXPECT_TRUE(Contains(error,
                       "decoders.xml:3: <regex>: attribute type=\"pcre2\" is not allowed, "
                       "only offset. For a PCRE2 pattern, write <pcre2>"))
      << error;
  EXPECT_TRUE(Contains(error,
                       "decoders.xml:10: decoder 'b': only the first <regex> of a decoder "
                       "may have an offset"))
      << error;

  ASSERT_EQ(Load(R"(<decoder name="c">
  <program_name note="x">^c</program_name>
  <prematch>^x </prematch>
  <regex offset="after_prematch" type="pcre2">^(\d+)</regex>
  <order>id</order>
</decoder>)",
                 rules),
            "");
  std::vector<std::string> warnings = analyzer_->load_warnings();
  ASSERT_EQ(warnings.size(), 2u);
  EXPECT_TRUE(Contains(warnings[0], "decoders.xml:2: attribute note=\"x\" of <program_name>"))
      << warnings[0];
  EXPECT_TRUE(Contains(warnings[1], "decoders.xml:4: attribute type=\"pcre2\" of <regex>"))
      << warnings[1];
  Feed("Dec  1 10:00:00 host c: x 42");
  EXPECT_EQ(event_.Get(Field::kId), "42");
}

TEST_F(LoadErrorsTest, PartlyUndefinedIfSidLeavesNoDanglingChild) {
  // Rule 101 names an existing parent and a missing one. It must not stay among rule 100's
  // children once it is rejected, or placing rule 102 next to it reads freed memory.
  std::string error = Load(kDecoders, Rules(R"(
  <rule id="100" level="3"><description>base</description></rule>
  <rule id="101" level="5"><if_sid>100, 999</if_sid><description>half placed</description></rule>
  <rule id="102" level="4"><if_sid>100</if_sid><description>sibling</description></rule>
  <rule id="103" level="2"><if_level>3</if_level><description>by level</description></rule>
)"));
  EXPECT_NE(error.find("<if_sid> names rule 999, which is not defined"), std::string::npos)
      << error;
}

TEST_F(LoadErrorsTest, DecoderAndRuleErrorsTogether) {
  std::string error = Load(R"(
<decoder name="child"><parent>later</parent></decoder>
<decoder name="later"><prematch>z</prematch></decoder>
<decoder name="many">
  <prematch>^m </prematch>
  <regex>(\w)(\w)(\w)(\w)(\w)(\w)(\w)(\w)(\w)(\w)(\w)</regex>
  <order>a,b,c,d,e,f,g,h,i,j,k</order>
</decoder>
<decoder name="bad"><prematch>\q</prematch></decoder>
)",
                           kTemplateRules);
  SCOPED_TRACE(error);
  EXPECT_TRUE(Contains(error,
                       "decoders.xml:2: decoder 'child': <parent> names decoder 'later', "
                       "which is not defined before it"));
  EXPECT_TRUE(Contains(error, "decoders.xml:6: decoder 'many': <regex> has 11 capture groups"));
  EXPECT_TRUE(Contains(error, "decoders.xml:9: <prematch>: invalid OS_Regex"));
}

TEST_F(LoadErrorsTest, BrokenXmlNamesFileAndLine) {
  std::string error = Load(kDecoders, Rules("<rule id=\"100\" level=\"3\"><match>x</rule>"));
  EXPECT_TRUE(Contains(error, "rules.xml:")) << error;
}

TEST_F(LoadErrorsTest, EmptyRuleFileLoadsNothing) {
  config::Config config;
  config.rules.decoder_files = {Write("decoders.xml", kDecoders)};
  config.rules.rule_files = {Write("base.xml", kTemplateRules), Write("empty.xml", "")};
  Expected<std::unique_ptr<Analyzer>> created = Analyzer::Create(config, &clock_);
  ASSERT_TRUE(created.ok()) << created.status().message();
  EXPECT_EQ((*created)->rules().size(), 2u);
}

TEST_F(LoadErrorsTest, MissingRuleFileIsAnError) {
  config::Config config;
  config.rules.decoder_files = {Write("decoders.xml", kDecoders)};
  config.rules.rule_files = {dir_ + "/no-such-rules.xml"};
  Expected<std::unique_ptr<Analyzer>> created = Analyzer::Create(config, &clock_);
  ASSERT_FALSE(created.ok());
  EXPECT_TRUE(Contains(created.status().message(), "no-such-rules.xml"))
      << created.status().message();
}

TEST_F(LoadErrorsTest, VeryLongRegexIsBounded) {
  std::string long_regex(10000, 'a');
  ASSERT_EQ(Load(kDecoders, Rules("<rule id=\"100\" level=\"3\"><regex>" + long_regex +
                                  "</regex><description>long</description></rule>")),
            "");
  EXPECT_EQ(Feed("Dec  1 10:00:00 h app: " + long_regex).rule->id, 100);
  EXPECT_EQ(Feed("Dec  1 10:00:00 h app: aaa").rule, nullptr);
  std::string too_long(Pattern::kMaxPatternBytes + 1, 'a');
  std::string error = Load(kDecoders, Rules("<rule id=\"100\" level=\"3\"><match>" + too_long +
                                            "</match><description>x</description></rule>"));
  EXPECT_TRUE(Contains(error, "rules.xml:")) << error.substr(0, 300);
}

TEST_F(LoadErrorsTest, BacktrackingPatternsStayFast) {
  ASSERT_EQ(Load(kDecoders, Rules(R"(
  <rule id="100" level="3"><pcre2>^(a+)+$</pcre2><description>nested</description></rule>
  <rule id="101" level="3"><regex>^\w+\w+\w+\w+\w+\w+X$</regex><description>chain</description></rule>
  <rule id="102" level="2"><match>aaa!</match><description>fallback</description></rule>
)")),
            "");
  std::string hostile = "Dec  1 10:00:00 h app: " + std::string(5000, 'a') + "!";
  auto start = std::chrono::steady_clock::now();
  RuleMatch match = Feed(hostile);
  auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_NE(match.rule, nullptr);
  EXPECT_EQ(match.rule->id, 102);
  EXPECT_LT(std::chrono::duration_cast<std::chrono::seconds>(elapsed).count(), 5);
}

TEST_F(LoadErrorsTest, MegabyteLineAndInvalidUtf8) {
  ASSERT_EQ(Load(kDecoders, Rules(R"(
  <rule id="100" level="3"><decoded_as>app</decoded_as><match>needle$</match><description>n</description></rule>
  <rule id="101" level="4"><decoded_as>app</decoded_as><match>bad byte</match><description>u</description></rule>
)")),
            "");
  std::string big = "Dec  1 10:00:00 h app: " + std::string(1 << 20, 'x') + " needle";
  RuleMatch match = Feed(big);
  ASSERT_NE(match.rule, nullptr);
  EXPECT_EQ(match.rule->id, 100);

  std::string invalid = "Dec  1 10:00:00 h app: \xff\xfe bad byte \xc3";
  match = Feed(invalid);
  ASSERT_NE(match.rule, nullptr);
  EXPECT_EQ(match.rule->id, 101);
  EXPECT_EQ(event_.program_name, "app");
  EXPECT_EQ(event_.full_log.find('\xff'), std::string::npos) << "invalid bytes are escaped";
}

}  // namespace
}  // namespace vigil::analysis
