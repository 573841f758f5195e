#include <gtest/gtest.h>

#include "analysis/test_fixture.h"

namespace vigil::analysis {
namespace {

using RuleEngineTest = AnalyzerFixture;

const char* kDecoders = R"(
<decoder name="sshd">
  <program_name>^sshd</program_name>
</decoder>
<decoder name="sshd-failed">
  <parent>sshd</parent>
  <prematch>^Failed password for </prematch>
  <regex offset="after_prematch">^(\S+) from (\S+) port (\d+)</regex>
  <order>user, srcip, srcport</order>
</decoder>
)";

std::string Rules(const std::string& body) {
  return std::string(kTemplateRules) + "<group name=\"sshd,\">\n" + body + "\n</group>\n";
}

const char* kBruteForce = R"(
  <rule id="100" level="0"><decoded_as>sshd</decoded_as><description>sshd</description></rule>
  <rule id="101" level="5"><if_sid>100</if_sid><match>Failed password</match>
    <group>authentication_failed,</group><description>failed password</description></rule>
  <rule id="102" level="10" frequency="4" timeframe="60">
    <if_matched_sid>101</if_matched_sid><same_source_ip />
    <description>brute force</description></rule>
  <rule id="103" level="0"><if_sid>101</if_sid><user>^ignored$</user>
    <description>ignored user</description></rule>
)";

std::string Failure(int port, const std::string& ip = "203.0.113.5",
                    const std::string& user = "root") {
  return "Dec  1 10:00:00 web1 sshd[9]: Failed password for " + user + " from " + ip + " port " +
         std::to_string(port) + " ssh2";
}

TEST_F(RuleEngineTest, ChildRuleWinsOverParent) {
  ASSERT_EQ(Load(kDecoders, Rules(kBruteForce)), "");
  RuleMatch match = Feed(Failure(1));
  ASSERT_NE(match.rule, nullptr);
  EXPECT_EQ(match.rule->id, 101);
  EXPECT_TRUE(match.alert);
  EXPECT_EQ(match.rule->groups, "sshd,authentication_failed,");
}

TEST_F(RuleEngineTest, LevelZeroChildSilencesEvent) {
  ASSERT_EQ(Load(kDecoders, Rules(kBruteForce)), "");
  RuleMatch match = Feed(Failure(1, "203.0.113.5", "ignored"));
  ASSERT_NE(match.rule, nullptr);
  EXPECT_EQ(match.rule->id, 103);
  EXPECT_FALSE(match.alert);
}

TEST_F(RuleEngineTest, FrequencyFiresOnFrequencyPlusTwo) {
  ASSERT_EQ(Load(kDecoders, Rules(kBruteForce)), "");
  // frequency="4": OSSEC fires on the sixth matching event.
  for (int i = 1; i <= 5; ++i) {
    SCOPED_TRACE(i);
    clock_.Advance(std::chrono::seconds(1));
    RuleMatch match = Feed(Failure(i));
    ASSERT_NE(match.rule, nullptr);
    EXPECT_EQ(match.rule->id, 101);
  }
  clock_.Advance(std::chrono::seconds(1));
  RuleMatch match = Feed(Failure(6));
  ASSERT_NE(match.rule, nullptr);
  EXPECT_EQ(match.rule->id, 102);
  EXPECT_EQ(match.previous.size(), 5u);
  EXPECT_NE(match.previous.front()->full_log.find("port 5 "), std::string::npos);
  // No immediate re-fire: the events that counted are marked.
  clock_.Advance(std::chrono::seconds(1));
  EXPECT_EQ(Feed(Failure(7)).rule->id, 101);
}

TEST_F(RuleEngineTest, FrequencyNeedsSameSourceIp) {
  ASSERT_EQ(Load(kDecoders, Rules(kBruteForce)), "");
  for (int i = 1; i <= 10; ++i) {
    clock_.Advance(std::chrono::seconds(1));
    RuleMatch match = Feed(Failure(i, "198.51.100." + std::to_string(i)));
    ASSERT_NE(match.rule, nullptr);
    EXPECT_EQ(match.rule->id, 101) << "event " << i;
  }
}

TEST_F(RuleEngineTest, EventsOutsideTimeframeDoNotCount) {
  ASSERT_EQ(Load(kDecoders, Rules(kBruteForce)), "");
  for (int i = 1; i <= 5; ++i) {
    clock_.Advance(std::chrono::seconds(30));
    EXPECT_EQ(Feed(Failure(i)).rule->id, 101) << "event " << i;
  }
  clock_.Advance(std::chrono::seconds(30));
  EXPECT_EQ(Feed(Failure(6)).rule->id, 101);
}

TEST_F(RuleEngineTest, IgnoreSuppressesRepeatsForItsWindow) {
  ASSERT_EQ(Load(kDecoders, Rules(R"(
  <rule id="100" level="6" ignore="60"><decoded_as>sshd</decoded_as><description>x</description></rule>
)")),
            "");
  EXPECT_TRUE(Feed(Failure(1)).alert);
  clock_.Advance(std::chrono::seconds(30));
  EXPECT_FALSE(Feed(Failure(2)).alert);
  clock_.Advance(std::chrono::seconds(31));
  EXPECT_TRUE(Feed(Failure(3)).alert);
}

TEST_F(RuleEngineTest, IfMatchedGroupCountsEventsOfTheGroup) {
  ASSERT_EQ(Load(kDecoders, Rules(R"(
  <rule id="100" level="0"><decoded_as>sshd</decoded_as><description>sshd</description></rule>
  <rule id="101" level="5"><if_sid>100</if_sid><match>Failed</match>
    <group>authentication_failed,</group><description>failed</description></rule>
  <rule id="110" level="9" frequency="2" timeframe="120">
    <if_matched_group>authentication_failed</if_matched_group>
    <description>many failures of any kind</description></rule>
)")),
            "");
  EXPECT_EQ(Feed(Failure(1)).rule->id, 101);
  EXPECT_EQ(Feed(Failure(2)).rule->id, 101);
  RuleMatch match = Feed(Failure(3));
  EXPECT_EQ(match.rule->id, 101) << "frequency 2 fires on the fourth event";
  EXPECT_EQ(Feed(Failure(4)).rule->id, 110);
}

TEST_F(RuleEngineTest, SiblingsAreTriedByLevelWithLevelZeroFirst) {
  ASSERT_EQ(Load(kDecoders, Rules(R"(
  <rule id="100" level="0"><decoded_as>sshd</decoded_as><description>sshd</description></rule>
  <rule id="101" level="3"><if_sid>100</if_sid><match>Failed</match><description>low</description></rule>
  <rule id="102" level="8"><if_sid>100</if_sid><match>Failed</match><description>high</description></rule>
  <rule id="103" level="0"><if_sid>100</if_sid><match>nobody</match><description>quiet</description></rule>
)")),
            "");
  EXPECT_EQ(Feed(Failure(1)).rule->id, 102);
  EXPECT_EQ(Feed(Failure(1, "1.2.3.4", "nobody")).rule->id, 103);
}

TEST_F(RuleEngineTest, ReportsUndefinedIfSidAndDuplicateIds) {
  std::string error = Load(kDecoders, Rules(R"(
  <rule id="100" level="3"><if_sid>5799</if_sid><description>x</description></rule>
  <rule id="200" level="3"><match>a</match><description>y</description></rule>
  <rule id="200" level="4"><match>b</match><description>z</description></rule>
  <rule id="300" level="3"><regex>(\d+</regex><description>bad</description></rule>
)"));
  EXPECT_NE(error.find("rules.xml:8: rule 100: <if_sid> names rule 5799, which is not defined"),
            std::string::npos)
      << error;
  EXPECT_NE(error.find("duplicate rule id 200"), std::string::npos) << error;
  EXPECT_NE(error.find("rules.xml:11: <regex>"), std::string::npos) << error;
}

TEST_F(RuleEngineTest, OverwriteReplacesDefinitionInPlace) {
  ASSERT_EQ(Load(kDecoders, Rules(R"(
  <rule id="100" level="0"><decoded_as>sshd</decoded_as><description>sshd</description></rule>
  <rule id="101" level="5"><if_sid>100</if_sid><match>Failed</match><description>old</description></rule>
  <rule id="101" level="12" overwrite="yes"><if_sid>100</if_sid><match>Failed</match><description>new</description></rule>
)")),
            "");
  RuleMatch match = Feed(Failure(1));
  ASSERT_NE(match.rule, nullptr);
  EXPECT_EQ(match.rule->level, 12);
  EXPECT_EQ(match.rule->description, "new");
}

TEST_F(RuleEngineTest, SrcipConditionUsesCidr) {
  ASSERT_EQ(Load(kDecoders, Rules(R"(
  <rule id="100" level="4"><decoded_as>sshd</decoded_as><srcip>!10.0.0.0/8</srcip><description>outside</description></rule>
)")),
            "");
  EXPECT_TRUE(Feed(Failure(1, "203.0.113.1")).alert);
  EXPECT_EQ(Feed(Failure(1, "10.2.3.4")).rule, nullptr);
}

}  // namespace
}  // namespace vigil::analysis
