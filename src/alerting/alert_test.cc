#include "alerting/alert.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "analysis/mmdb_test_writer.h"
#include "analysis/test_fixture.h"

namespace vigil::alerting {
namespace {

class AlertFormatTest : public analysis::AnalyzerFixture {
 protected:
  void SetUp() override {
    AnalyzerFixture::SetUp();
    setenv("TZ", "UTC", 1);
    tzset();
    ASSERT_EQ(Load(R"(
<decoder name="sshd"><program_name>^sshd</program_name></decoder>
<decoder name="sshd-invalid">
  <parent>sshd</parent>
  <prematch>^Invalid user </prematch>
  <regex offset="after_prematch">^(\S+) from (\S+)</regex>
  <order>user, srcip</order>
</decoder>)",
                   std::string(analysis::kTemplateRules) + R"(
<group name="syslog,sshd,">
  <rule id="5710" level="5"><decoded_as>sshd</decoded_as><match>Invalid user</match>
    <group>invalid_login,</group><description>Attempt to login using a non-existent user</description></rule>
  <rule id="5711" level="10" overwrite="no"><if_sid>5710</if_sid><user>^mailer$</user>
    <description>Mail user</description></rule>
</group>)"),
              "");
    clock_.SetSeconds(1796398180);
  }
};

TEST(AlertIdTest, SecondsChangeBetweenIds) {
  // The digits of the second are reused between calls, so each change must show.
  std::string id;
  AppendAlertId(1796398180, 0, &id);
  EXPECT_EQ(id, "1796398180.0");
  id.clear();
  AppendAlertId(1796398180, 4821, &id);
  EXPECT_EQ(id, "1796398180.4821");
  id = "prefix:";
  AppendAlertId(1796398181, 18446744073709551615u, &id);
  EXPECT_EQ(id, "prefix:1796398181.18446744073709551615");
  id.clear();
  AppendAlertId(-1, 7, &id);
  EXPECT_EQ(id, "-1.7");
  id.clear();
  AppendAlertId(1796398180, 7, &id);
  EXPECT_EQ(id, "1796398180.7");
}

TEST_F(AlertFormatTest, AlertsLogBlockIsByteExact) {
  analysis::RuleMatch match =
      Feed("Oct 15 21:07:00 linux-host sshd[29205]: Invalid user blabla from 192.168.2.10");
  ASSERT_TRUE(match.alert);
  Alert alert{"1796398180.1", match.rule, &event_, &match.previous};
  EXPECT_EQ(FormatAlertLog(alert),
            "** Alert 1796398180.1: - syslog,sshd,invalid_login,\n"
            "2026 Dec 04 15:29:40 linux-host->test.log\n"
            "Rule: 5710 (level 5) -> 'Attempt to login using a non-existent user'\n"
            "Src IP: 192.168.2.10\n"
            "User: blabla\n"
            "Oct 15 21:07:00 linux-host sshd[29205]: Invalid user blabla from 192.168.2.10\n"
            "\n");
}

TEST_F(AlertFormatTest, MailMarkHasOssecSpacing) {
  analysis::RuleMatch match =
      Feed("Oct 15 21:07:00 linux-host sshd[1]: Invalid user mailer from 192.168.2.10");
  ASSERT_EQ(match.rule->id, 5711);
  Alert alert{"1796398180.8", match.rule, &event_, &match.previous};
  EXPECT_EQ(FormatAlertLog(alert).substr(0, 38), "** Alert 1796398180.8: mail  - syslog,");
}

TEST_F(AlertFormatTest, JsonCarriesRuleAndFields) {
  analysis::RuleMatch match =
      Feed("Oct 15 21:07:00 linux-host sshd[1]: Invalid user blabla from 192.168.2.10");
  Alert alert{"1796398180.1", match.rule, &event_, &match.previous};
  std::string text = FormatAlertJson(alert);
  ASSERT_EQ(text.back(), '\n');
  nlohmann::json json = nlohmann::json::parse(text);
  EXPECT_EQ(json["rule"]["sidid"], 5710);
  EXPECT_EQ(json["rule"]["level"], 5);
  EXPECT_EQ(json["rule"]["groups"][2], "invalid_login");
  EXPECT_EQ(json["srcip"], "192.168.2.10");
  EXPECT_EQ(json["dstuser"], "blabla");
  EXPECT_EQ(json["decoder"], "sshd");
  EXPECT_EQ(json["id"], "1796398180.1");
}

// Members that repeat from one alert to the next are rendered once per value, so a change of
// host, location or time must still show in the next alert.
TEST_F(AlertFormatTest, JsonFollowsChangingRepeatedMembers) {
  struct Case {
    const char* location;
    int64_t seconds;
    const char* line;
    const char* host;
  };
  const Case kCases[] = {
      {"a.log", 1796398180, "Oct 15 21:07:00 web1 sshd[1]: Invalid user u1 from 10.0.0.1", "web1"},
      {"a.log", 1796398180, "Oct 15 21:07:00 web1 sshd[1]: Invalid user u2 from 10.0.0.2", "web1"},
      {"b \"x\".log", 1796398181, "Oct 15 21:07:01 db1 sshd[1]: Invalid user u3 from 10.0.0.3",
       "db1"},
      {"a.log", 1796398181, "Oct 15 21:07:01 web1 sshd[1]: Invalid user u4 from 10.0.0.4", "web1"},
  };
  for (const Case& c : kCases) {
    SCOPED_TRACE(c.line);
    clock_.SetSeconds(c.seconds);
    analysis::RuleMatch match = analyzer_->Process(c.location, c.line, &event_);
    ASSERT_TRUE(match.alert);
    Alert alert{"1.0", match.rule, &event_, &match.previous};
    nlohmann::json json = nlohmann::json::parse(FormatAlertJson(alert));
    EXPECT_EQ(json["location"], c.location);
    EXPECT_EQ(json["hostname"], c.host);
    EXPECT_EQ(json["program_name"], "sshd");
    EXPECT_EQ(json["decoder"], "sshd");
    EXPECT_EQ(json["TimeStamp"], c.seconds * 1000);
    EXPECT_EQ(json["timestamp"], FormatAlertTime(c.seconds));
  }
}

using AlertJsonFieldsTest = analysis::AnalyzerFixture;

TEST_F(AlertJsonFieldsTest, DecodedIdAndDynamicFieldsDoNotCollide) {
  ASSERT_EQ(Load(R"(
<decoder name="app">
  <prematch>^app: </prematch>
  <regex offset="after_prematch">^id=(\d+) rule=(\w+) location=(\w+)</regex>
  <order>id, rule, location</order>
</decoder>)",
                 std::string(analysis::kTemplateRules) + R"(
<group name="app,">
  <rule id="100" level="5"><decoded_as>app</decoded_as><description>app event</description></rule>
</group>)"),
            "");
  analysis::RuleMatch match = Feed("app: id=10000 rule=r1 location=x");
  ASSERT_TRUE(match.alert);
  Alert alert{"1.2", match.rule, &event_, &match.previous};
  std::string text = FormatAlertJson(alert);
  nlohmann::json json = nlohmann::json::parse(text);
  EXPECT_EQ(json["id"], "1.2");
  EXPECT_EQ(json["rule"]["sidid"], 100);
  EXPECT_EQ(json["location"], "test.log");
  EXPECT_EQ(json["fields"]["id"], "10000");
  EXPECT_EQ(json["fields"]["rule"], "r1");
  EXPECT_EQ(json["fields"]["location"], "x");
  EXPECT_EQ(text.find("\"id\":\"10000\""), text.find("\"fields\":{") + 10)
      << "the decoded id appears only inside fields: " << text;
}

using AlertRuleTextTest = analysis::AnalyzerFixture;

TEST_F(AlertRuleTextTest, RuleObjectHasRuleTextAndCurrentCount) {
  ASSERT_EQ(Load(R"(<decoder name="app"><prematch>^app: </prematch></decoder>)",
                 std::string(analysis::kTemplateRules) + R"(
<group name="app,,web,">
  <rule id="100" level="3"><decoded_as>app</decoded_as>
    <description>app "quoted" \path</description>
    <info type="cve">CVE-2024-0001</info><info type="link">https://example.org/a</info></rule>
  <rule id="101" level="10" frequency="2" timeframe="60"><if_matched_sid>100</if_matched_sid>
    <description>app repeated</description></rule>
</group>)"),
            "");
  analysis::RuleMatch first = Feed("app: one");
  ASSERT_EQ(first.rule->id, 100);
  Alert alert{"1.2", first.rule, &event_, &first.previous};
  std::string text = FormatAlertJson(alert);
  EXPECT_EQ(text.substr(0, text.find(",\"id\":")),
            R"({"rule":{"level":3,"comment":"app \"quoted\" \\path","sidid":100,"firedtimes":1,)"
            R"("groups":["app","web"],"cve":"CVE-2024-0001","info":"https://example.org/a"})");
  EXPECT_NE(FormatAlertLog(alert).find("\nRule: 100 (level 3) -> 'app \"quoted\" \\path'\n"),
            std::string::npos);

  analysis::RuleMatch match;
  for (int i = 0; i < 5 && (match.rule == nullptr || match.rule->id != 101); ++i) {
    match = Feed("app: again");
  }
  ASSERT_EQ(match.rule->id, 101);
  Alert repeated{"1.3", match.rule, &event_, &match.previous};
  nlohmann::json json = nlohmann::json::parse(FormatAlertJson(repeated));
  EXPECT_EQ(json["rule"]["frequency"], 2);
  EXPECT_EQ(json["rule"]["firedtimes"], 1);
  EXPECT_EQ(json["rule"]["groups"], nlohmann::json::parse(R"(["app","web"])"));
}

using AlertGeoIpTest = analysis::AnalyzerFixture;

TEST_F(AlertGeoIpTest, LocationLinesFollowAddresses) {
  setenv("TZ", "UTC", 1);
  tzset();
  analysis::testing::MmdbTestWriter writer;
  writer.Add("192.0.2.0/24", "NL");
  writer.Add("198.51.100.0/24", "BR");
  geoip_db_ = dir_ + "/country.mmdb";
  writer.Write(geoip_db_);
  ASSERT_EQ(Load(R"(
<decoder name="fw">
  <program_name>^fw</program_name>
  <regex>^(\S+):(\d+) -> (\S+):(\d+)</regex>
  <order>srcip, srcport, dstip, dstport</order>
</decoder>)",
                 std::string(analysis::kTemplateRules) + R"(
<group name="fw,">
  <rule id="100" level="5"><decoded_as>fw</decoded_as><description>fw event</description></rule>
</group>)"),
            "");
  clock_.SetSeconds(1796398180);
  analysis::RuleMatch match = Feed("Dec  1 10:00:00 gw1 fw: 192.0.2.9:4000 -> 198.51.100.2:22");
  ASSERT_TRUE(match.alert);
  Alert alert{"1796398180.1", match.rule, &event_, &match.previous};
  EXPECT_EQ(FormatAlertLog(alert),
            "** Alert 1796398180.1: - fw,\n"
            "2026 Dec 04 15:29:40 gw1->test.log\n"
            "Rule: 100 (level 5) -> 'fw event'\n"
            "Src IP: 192.0.2.9\n"
            "Src Location: NL\n"
            "Src Port: 4000\n"
            "Dst IP: 198.51.100.2\n"
            "Dst Location: BR\n"
            "Dst Port: 22\n"
            "Dec  1 10:00:00 gw1 fw: 192.0.2.9:4000 -> 198.51.100.2:22\n"
            "\n");
  nlohmann::json json = nlohmann::json::parse(FormatAlertJson(alert));
  EXPECT_EQ(json["srcgeoip"], "NL");
  EXPECT_EQ(json["dstgeoip"], "BR");
}

}  // namespace
}  // namespace vigil::alerting
