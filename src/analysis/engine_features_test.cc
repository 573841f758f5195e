// Rule and decoder elements beyond patterns: first-time-seen, ignore stores, check_diff,
// compiled rules, lists, plugin decoders, accumulate and the pre-decoder's header forms.
#include <gtest/gtest.h>

#include <filesystem>

#include "analysis/test_fixture.h"

namespace vigil::analysis {
namespace {

using EngineFeaturesTest = AnalyzerFixture;

const char* kLoginDecoders = R"(
<decoder name="login">
  <program_name>^login</program_name>
</decoder>
<decoder name="login-ok">
  <parent>login</parent>
  <prematch>^accepted </prematch>
  <regex offset="after_prematch">^(\S+) from (\S+)</regex>
  <order>user, srcip</order>
  <fts>name, user, location</fts>
</decoder>
)";

std::string Rules(const std::string& body) {
  return std::string(kTemplateRules) + "<group name=\"login,\">\n" + body + "\n</group>\n";
}

std::string Login(const std::string& user, const std::string& ip = "192.0.2.7") {
  return "Dec  1 10:00:00 web1 login[9]: accepted " + user + " from " + ip;
}

TEST_F(EngineFeaturesTest, IfFtsMatchesOnlyFirstTimeSeen) {
  ASSERT_EQ(Load(kLoginDecoders, Rules(R"(
  <rule id="100" level="3"><decoded_as>login</decoded_as><description>login</description></rule>
  <rule id="101" level="8"><if_sid>100</if_sid><if_fts /><description>first login</description></rule>
)")),
            "");
  EXPECT_EQ(Feed(Login("alice")).rule->id, 101);
  EXPECT_EQ(Feed(Login("alice")).rule->id, 100);
  EXPECT_EQ(Feed(Login("alice", "198.51.100.1")).rule->id, 100) << "srcip is not an fts field";
  EXPECT_EQ(Feed(Login("bob")).rule->id, 101);
  analyzer_->ResetState();
  EXPECT_EQ(Feed(Login("alice")).rule->id, 101);
}

TEST_F(EngineFeaturesTest, IfFtsNeedsDecoderFts) {
  ASSERT_EQ(Load(R"(<decoder name="login"><program_name>^login</program_name></decoder>)", Rules(R"(
  <rule id="100" level="3"><decoded_as>login</decoded_as><description>login</description></rule>
  <rule id="101" level="8"><if_sid>100</if_sid><if_fts /><description>first login</description></rule>
)")),
            "");
  EXPECT_EQ(Feed(Login("alice")).rule->id, 100);
}

TEST_F(EngineFeaturesTest, CheckIfIgnoredDropsRecordedEvents) {
  ASSERT_EQ(Load(kLoginDecoders, Rules(R"(
  <rule id="100" level="3"><decoded_as>login</decoded_as><description>login</description></rule>
  <rule id="101" level="5"><if_sid>100</if_sid><user>^root$</user><ignore>user, srcip</ignore>
    <description>root login, recorded</description></rule>
  <rule id="102" level="7"><if_sid>100</if_sid><user>^admin$</user>
    <check_if_ignored>srcip</check_if_ignored><description>admin login</description></rule>
)")),
            "");
  EXPECT_TRUE(Feed(Login("admin", "192.0.2.9")).alert);
  EXPECT_TRUE(Feed(Login("root", "192.0.2.9")).alert);
  // The root login recorded "user srcip"; the check looks for a line with srcip only, which
  // was never recorded, so admin still alerts.
  EXPECT_TRUE(Feed(Login("admin", "192.0.2.9")).alert);
}

TEST_F(EngineFeaturesTest, CheckIfIgnoredUsesSameFields) {
  ASSERT_EQ(Load(kLoginDecoders, Rules(R"(
  <rule id="100" level="3"><decoded_as>login</decoded_as><description>login</description></rule>
  <rule id="101" level="5"><if_sid>100</if_sid><user>^root$</user><ignore>srcip</ignore>
    <description>root login, recorded</description></rule>
  <rule id="102" level="7"><if_sid>100</if_sid><user>^admin$</user>
    <check_if_ignored>srcip</check_if_ignored><description>admin login</description></rule>
)")),
            "");
  EXPECT_TRUE(Feed(Login("root", "192.0.2.9")).alert);
  RuleMatch suppressed = Feed(Login("admin", "192.0.2.9"));
  ASSERT_NE(suppressed.rule, nullptr);
  EXPECT_EQ(suppressed.rule->id, 102);
  EXPECT_FALSE(suppressed.alert);
  EXPECT_TRUE(Feed(Login("admin", "192.0.2.10")).alert);
}

TEST_F(EngineFeaturesTest, CheckDiffFiresWhenOutputChanges) {
  ASSERT_EQ(
      Load(R"(<decoder name="netstat"><prematch>^ossec: output: 'netstat</prematch></decoder>)",
           Rules(R"(
  <rule id="100" level="0"><decoded_as>netstat</decoded_as><description>output</description></rule>
  <rule id="101" level="7"><if_sid>100</if_sid><check_diff /><description>ports changed</description></rule>
)")),
      "");
  // Rule 100 (level 0) is the decision whenever rule 101 does not fire.
  EXPECT_EQ(Feed("ossec: output: 'netstat': tcp 22").rule->id, 100) << "the first is a baseline";
  EXPECT_EQ(Feed("ossec: output: 'netstat': tcp 22").rule->id, 100);
  RuleMatch changed = Feed("ossec: output: 'netstat': tcp 22 tcp 4444");
  ASSERT_NE(changed.rule, nullptr);
  EXPECT_EQ(changed.rule->id, 101);
  EXPECT_EQ(Feed("ossec: output: 'netstat': tcp 22 tcp 4444").rule->id, 100);
}

TEST(CheckDiffState, PersistsUnderFolder) {
  char pattern[] = "/tmp/vigil-diff-test-XXXXXX";
  ASSERT_NE(::mkdtemp(pattern), nullptr);
  std::string dir = pattern;
  std::ofstream(dir + "/d.xml") << R"(<decoder name="out"><prematch>^out: </prematch></decoder>)";
  std::ofstream(dir + "/r.xml") << std::string(kTemplateRules) + R"(<group name="x,">
  <rule id="100" level="7"><decoded_as>out</decoded_as><check_diff /><description>d</description></rule>
</group>)";
  Expected<DecoderSet> decoders = DecoderSet::Load({dir + "/d.xml"}, {});
  ASSERT_TRUE(decoders.ok()) << decoders.status().message();
  Expected<RuleSet> rules = RuleSet::Load({dir + "/r.xml"}, *decoders, {});
  ASSERT_TRUE(rules.ok()) << rules.status().message();
  Event event;
  event.full_log = "out: a";
  event.hostname = "web1";
  PreDecoder("web1").Run(&event);
  decoders->Decode(&event);
  EngineOptions options;
  options.diff_dir = dir + "/diff";
  {
    RuleEngine engine(&*rules, options);
    EXPECT_EQ(engine.Match(event).rule, nullptr);
  }
  EXPECT_TRUE(std::filesystem::exists(dir + "/diff/web1/100/last-entry"));
  // A new engine, as after a restart, compares with the stored output.
  event.full_log = "out: b";
  PreDecoder("web1").Run(&event);
  RuleEngine engine(&*rules, options);
  RuleMatch match = engine.Match(event);
  ASSERT_NE(match.rule, nullptr);
  EXPECT_EQ(match.rule->id, 100);
  std::filesystem::remove_all(dir);
}

TEST_F(EngineFeaturesTest, CompiledRuleSimpleHttpRequest) {
  ASSERT_EQ(
      Load(
          R"(<decoder name="web"><prematch>^GET </prematch><regex>^GET (\S+)</regex><order>url</order></decoder>)",
          Rules(R"(
  <rule id="100" level="3"><decoded_as>web</decoded_as><description>request</description></rule>
  <rule id="101" level="0"><if_sid>100</if_sid><compiled_rule>is_simple_http_request</compiled_rule>
    <description>simple</description></rule>
)")),
      "");
  EXPECT_EQ(Feed("GET /index.html").rule->id, 101);
  EXPECT_EQ(Feed("GET /").rule->id, 101);
  EXPECT_EQ(Feed("GET /search?q=1").rule->id, 100);
}

TEST_F(EngineFeaturesTest, UnknownCompiledRuleIsLoadError) {
  std::string error = Load(kLoginDecoders, Rules(R"(
  <rule id="100" level="3"><compiled_rule>no_such_function</compiled_rule><description>x</description></rule>
)"));
  EXPECT_NE(error.find("<compiled_rule>: unknown function 'no_such_function'"), std::string::npos)
      << error;
}

TEST_F(EngineFeaturesTest, ListLookups) {
  lists_ = {Write("bad-users", "root:admin account\nguest\n"),
            Write("networks", "10.1.2.:lab\n192.0.2.7:host\n")};
  ASSERT_EQ(Load(kLoginDecoders, Rules(R"(
  <rule id="100" level="3"><decoded_as>login</decoded_as><description>login</description></rule>
  <rule id="101" level="9"><if_sid>100</if_sid>
    <list field="user" lookup="match_key_value" check_value="admin">bad-users</list>
    <description>admin account</description></rule>
  <rule id="102" level="8"><if_sid>100</if_sid><list field="user">bad-users</list>
    <description>listed user</description></rule>
  <rule id="103" level="6"><if_sid>100</if_sid>
    <list field="srcip" lookup="address_match_key">networks</list>
    <description>from a listed network</description></rule>
  <rule id="104" level="5"><if_sid>100</if_sid>
    <list field="srcip" lookup="not_address_match_key">networks</list>
    <description>from elsewhere</description></rule>
)")),
            "");
  EXPECT_EQ(Feed(Login("root", "203.0.113.1")).rule->id, 101);
  EXPECT_EQ(Feed(Login("guest", "203.0.113.1")).rule->id, 102);
  EXPECT_EQ(Feed(Login("alice", "10.1.2.99")).rule->id, 103);
  EXPECT_EQ(Feed(Login("alice", "192.0.2.7")).rule->id, 103);
  EXPECT_EQ(Feed(Login("alice", "10.1.3.1")).rule->id, 104);
}

TEST_F(EngineFeaturesTest, UndeclaredListIsLoadError) {
  std::string error = Load(kLoginDecoders, Rules(R"(
  <rule id="100" level="3"><list field="user">lists/missing</list><description>x</description></rule>
)"));
  EXPECT_NE(error.find("<list> names 'lists/missing', which is not declared"), std::string::npos)
      << error;
}

TEST_F(EngineFeaturesTest, WeekdayNegation) {
  ASSERT_EQ(Load(kLoginDecoders, Rules(R"(
  <rule id="100" level="3"><decoded_as>login</decoded_as><description>login</description></rule>
  <rule id="101" level="6"><if_sid>100</if_sid><weekday>!weekends</weekday>
    <description>weekday login</description></rule>
)")),
            "");
  // 2023-11-14 (Tuesday) and 2023-11-18 (Saturday), noon UTC: local weekdays in any zone
  // within 11 hours of UTC.
  clock_.SetSeconds(1699963200);
  EXPECT_EQ(Feed(Login("alice")).rule->id, 101);
  clock_.SetSeconds(1700308800);
  EXPECT_EQ(Feed(Login("alice")).rule->id, 100);
}

TEST_F(EngineFeaturesTest, AccumulateCarriesFieldsById) {
  ASSERT_EQ(Load(R"(
<decoder name="mail">
  <prematch>^qid=</prematch>
  <regex>^qid=(\S+) </regex>
  <order>id</order>
</decoder>
<decoder name="mail-from">
  <parent>mail</parent>
  <prematch offset="after_parent">from=</prematch>
  <regex>^qid=(\S+) from=(\S+)</regex>
  <order>id, srcuser</order>
  <accumulate />
</decoder>
<decoder name="mail-to">
  <parent>mail</parent>
  <prematch offset="after_parent">to=</prematch>
  <regex>^qid=(\S+) to=(\S+)</regex>
  <order>id, dstuser</order>
  <accumulate />
</decoder>
)",
                 Rules(R"(
  <rule id="100" level="3"><decoded_as>mail</decoded_as><description>mail</description></rule>
)")),
            "");
  Feed("qid=A1 from=alice");
  EXPECT_EQ(event_.Get(Field::kSrcUser), "alice");
  Feed("qid=A1 to=bob");
  EXPECT_EQ(event_.Get(Field::kDstUser), "bob");
  EXPECT_TRUE(event_.Has(Field::kSrcUser)) << "carried over from the first record of A1";
  EXPECT_EQ(event_.Get(Field::kSrcUser), "alice");
  Feed("qid=B2 to=carol");
  EXPECT_FALSE(event_.Has(Field::kSrcUser));
}

TEST_F(EngineFeaturesTest, IfMatchedRegexSearchesHistory) {
  ASSERT_EQ(Load(kLoginDecoders, Rules(R"(
  <rule id="100" level="3"><decoded_as>login</decoded_as><description>login</description></rule>
  <rule id="101" level="10" frequency="2" timeframe="60">
    <if_matched_regex>accepted \S+ from 192.0.2.</if_matched_regex>
    <same_source_ip />
    <description>many logins</description></rule>
)")),
            "");
  // Rule 101 hangs under the syslog root, so it is tried before rule 100 is reached and
  // counts rule 100's earlier alerts.
  EXPECT_EQ(Feed(Login("a")).rule->id, 100);
  EXPECT_EQ(Feed(Login("b")).rule->id, 100);
  EXPECT_EQ(Feed(Login("c", "198.51.100.4")).rule->id, 100);
  EXPECT_EQ(Feed(Login("d")).rule->id, 100);
  EXPECT_EQ(Feed(Login("e")).rule->id, 101);
}

// macOS ASL records, whose log is the text inside [Message ...].
std::string AslRecord(const std::string& message) {
  return "[Time 2006.12.28 15:53:55 UTC] [Facility auth] [Sender sshd] [PID 483] [Message " +
         message + "] [Level 3] [Host mac1]";
}

std::string AslRules(const std::string& history_regex) {
  return std::string(kTemplateRules) + R"(<group name="asl,">
  <rule id="100" level="3"><decoded_as>asl-sshd</decoded_as><match>PAM failure</match>
    <description>pam</description></rule>
  <rule id="101" level="10" frequency="2" timeframe="60">
    <if_matched_regex>)" +
         history_regex + R"(</if_matched_regex>
    <description>many</description></rule>
</group>)";
}

constexpr const char* kAslDecoders = R"(
<decoder name="asl-sshd"><program_name>^sshd</program_name></decoder>)";

TEST_F(EngineFeaturesTest, HistoryRegexSearchesAslMessage) {
  ASSERT_EQ(Load(kAslDecoders, AslRules("error: PAM")), "");
  EXPECT_EQ(Feed(AslRecord("error: PAM failure")).rule->id, 100);
  EXPECT_EQ(Feed(AslRecord("error: PAM failure")).rule->id, 100);
  EXPECT_EQ(Feed(AslRecord("error: PAM failure")).rule->id, 100);
  EXPECT_EQ(Feed(AslRecord("error: PAM failure")).rule->id, 101);
}

TEST_F(EngineFeaturesTest, HistoryRegexSkipsTextAfterAslMessage) {
  // The stored log ends at the message's closing bracket, as the event's log does, so the
  // [Host ...] field after it is not searched.
  ASSERT_EQ(Load(kAslDecoders, AslRules("Host mac1")), "");
  for (int i = 0; i < 6; ++i) {
    EXPECT_EQ(Feed(AslRecord("error: PAM failure")).rule->id, 100) << "record " << i;
  }
}

struct PluginCase {
  const char* plugin;
  const char* decoder_extra;
  const char* line;
  std::vector<std::pair<Field, const char*>> fields;
  Category category;
};

TEST_F(EngineFeaturesTest, PluginDecoders) {
  const PluginCase cases[] = {
      {"PF_Decoder",
       "<type>firewall</type><program_name>^pf$</program_name>",
       "Mar 30 15:33:26 enigma pf: Mar 30 15:32:33.483712 rule 2/(match) pass in on xl0: "
       "140.211.166.3.6667 > 192.168.2.10.16290: P 7408:7677(269) ack 1773 win 2520",
       {{Field::kAction, "pass"},
        {Field::kSrcIp, "140.211.166.3"},
        {Field::kSrcPort, "6667"},
        {Field::kDstIp, "192.168.2.10"},
        {Field::kDstPort, "16290"},
        {Field::kProtocol, "TCP"}},
       Category::kFirewall},
      {"SonicWall_Decoder",
       "<prematch>^id=\\S+ sn=</prematch>",
       "id=firewall sn=000SERIAL time=\"2007-01-03 14:48:06\" fw=1.1.1.1 pri=6 c=262144 m=98 "
       "msg=\"Connection Opened\" n=23419 src=2.2.2.2:36701:WAN dst=1.1.1.1:50000:WAN "
       "proto=tcp/50000",
       {{Field::kStatus, "6"},
        {Field::kId, "98"},
        {Field::kSrcIp, "2.2.2.2"},
        {Field::kSrcPort, "36701"},
        {Field::kDstIp, "1.1.1.1"},
        {Field::kDstPort, "50000"},
        {Field::kProtocol, "tcp"},
        {Field::kAction, "pass"}},
       Category::kFirewall},
      {"SymantecWS_Decoder",
       "<prematch>^\\d\\d\\d\\d\\d\\d\\d\\d,</prematch>",
       "20070717,73613,1=5,11=10.1.1.3,10=userc,3=1,2=1",
       {{Field::kSrcIp, "10.1.1.3"}, {Field::kDstUser, "userc"}, {Field::kId, "3=1,2=1"}},
       Category::kSyslog},
  };
  for (const PluginCase& c : cases) {
    SCOPED_TRACE(c.plugin);
    std::string decoders = std::string("<decoder name=\"p\">") + c.decoder_extra +
                           "<plugin_decoder>" + c.plugin + "</plugin_decoder></decoder>";
    ASSERT_EQ(Load(decoders, kTemplateRules), "");
    Feed(c.line);
    ASSERT_NE(event_.decoder, nullptr);
    for (const auto& [field, value] : c.fields) {
      EXPECT_TRUE(event_.Has(field)) << FieldName(field);
      EXPECT_EQ(event_.Get(field), value) << FieldName(field);
    }
    EXPECT_EQ(event_.category, c.category);
  }
}

TEST_F(EngineFeaturesTest, OssecAlertPluginNamesTheRule) {
  ASSERT_EQ(Load(R"(<decoder name="ossec-alert"><program_name>^ossec$</program_name>
                    <plugin_decoder>OSSECAlert_Decoder</plugin_decoder></decoder>)",
                 Rules(R"(
  <rule id="5712" level="10"><match>never</match><description>brute force</description></rule>
)")),
            "");
  RuleMatch match = Feed(
      "Dec  1 10:00:00 relay ossec: Alert Level: 10; Rule: 5712 - brute force; "
      "Location: web1->/var/log/auth.log; srcip: 203.0.113.9; user: root;  Dec  1 09:59:59 "
      "web1 sshd[1]: Failed password for root");
  ASSERT_NE(match.rule, nullptr);
  EXPECT_EQ(match.rule->id, 5712);
  EXPECT_TRUE(match.alert);
  EXPECT_EQ(event_.Get(Field::kSrcIp), "203.0.113.9");
  EXPECT_EQ(event_.Get(Field::kDstUser), "root");
  EXPECT_EQ(event_.location, "relay->test.log|web1->/var/log/auth.log");
  EXPECT_EQ(event_.full_log, "Dec  1 09:59:59 web1 sshd[1]: Failed password for root");
}

struct HeaderCase {
  const char* line;
  const char* hostname;  // nullptr: the local host name
  const char* program;   // nullptr: none
  const char* log;
};

TEST(PreDecoderForms, EveryHeaderForm) {
  const HeaderCase cases[] = {
      {"Dec  1 10:00:00 web1 sshd[42]: hello", "web1", "sshd", "hello"},
      {"M\xC3\xA4r  2 17:30:52 web1 cron[1]: job", "web1", "cron", "job"},
      {"2015-04-16 21:51:02,805 web1 proftpd[9]: x", "web1", "proftpd", "x"},
      {"2007-06-14T15:48:55-04:00 web1 su: y", "web1", "su", "y"},
      {"2007-06-14T15:48:55.3352+02:00 web1 su: y", "web1", "su", "y"},
      {"2021 Dec 01 10:00:00 web1 app: z", "web1", "app", "z"},
      {"2021:12:01-10:00:00 web1 app: z", "web1", "app", "z"},
      {"Dec  1 10:00:00 sshd: solaris", nullptr, "sshd", "solaris"},
      {"Dec  1 10:00:00 host |auth:info sshd[3]: aix", "host", "sshd", "aix"},
      {"Dec  1 10:00:00 host su[12] no colon", "host", "su", "no colon"},
      {"Dec  1 10:00:00 host app[x]: odd", "host", nullptr, "app[x]: odd"},
      {"Dec  1 10:00:00 host sshd[1]: [ID 800047 auth.info] solaris id", "host", "sshd",
       "solaris id"},
      {"Mon Apr 17 18:27:14 2006 1 64.160.42.130 200 /f b _ o r u ftp 0 * c", nullptr, nullptr,
       " 1 64.160.42.130 200 /f b _ o r u ftp 0 * c"},
      {"Wed Jul 27 18:32:27 2016 [pid 2] CONNECT: Client \"10.1.1.1\"", nullptr, nullptr,
       "Wed Jul 27 18:32:27 2016 [pid 2] CONNECT: Client \"10.1.1.1\""},
      {"01/28-09:13:16.240702  [**] [1:1:1] snort", nullptr, nullptr, "[**] [1:1:1] snort"},
      {"01/28/1979-09:13:16.240702  [**] suricata", nullptr, nullptr, "[**] suricata"},
      {"[Fri Feb 11 18:06:35 2004] [warn] apache", nullptr, nullptr, "[warn] apache"},
      {"[Time 2006.12.28 15:53:55 UTC] [Facility auth] [Sender sshd] [PID 483] "
       "[Message error: PAM failure] [Level 3] [Host mac1]",
       "mac1", "sshd", "error: PAM failure"},
      {"1140804070.368  11623 10.0.0.1 TCP_MISS/200 1234 GET http://a/ - DIRECT/1.2.3.4 text",
       nullptr, nullptr, "11623 10.0.0.1 TCP_MISS/200 1234 GET http://a/ - DIRECT/1.2.3.4 text"},
  };
  PreDecoder predecoder("manager");
  for (const HeaderCase& c : cases) {
    SCOPED_TRACE(c.line);
    Event event;
    event.location = "stdin";
    event.full_log = c.line;
    predecoder.Run(&event);
    EXPECT_EQ(event.hostname, c.hostname != nullptr ? c.hostname : "manager");
    EXPECT_EQ(event.has_program_name, c.program != nullptr);
    if (c.program != nullptr) {
      EXPECT_EQ(event.program_name, c.program);
    }
    EXPECT_EQ(event.log(), c.log);
  }
}

TEST(PreDecoderForms, AgentEventsUseTheLocation) {
  PreDecoder predecoder("manager");
  Event event;
  event.location = "(web1) 10.0.0.5->/var/log/secure";
  event.full_log = "Dec  1 10:00:00 otherhost sshd[1]: x";
  predecoder.Run(&event);
  EXPECT_EQ(event.hostname, "(web1) 10.0.0.5->/var/log/secure");
  EXPECT_EQ(event.program_name, "sshd");
}

}  // namespace
}  // namespace vigil::analysis
