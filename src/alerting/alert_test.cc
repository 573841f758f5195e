#include "alerting/alert.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "alerting/writer.h"
#include "analysis/mmdb_test_writer.h"
#include "analysis/test_fixture.h"
#include "common/file.h"

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

TEST(AlertIdTest, EveryDigitCountIsWritten) {
  // The offset is written two digits at a time, so odd and even digit counts and the
  // boundaries between them are all tried.
  for (uint64_t number = 1, step = 0; step < 20; ++step, number *= 10) {
    for (uint64_t value : {number - 1, number, number + 1, number * 5 + 3}) {
      std::string id;
      AppendAlertId(1796398180, value, &id);
      EXPECT_EQ(id, "1796398180." + std::to_string(value));
    }
  }
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

// Reads a whole file for the writer tests.
std::string Slurp(const std::string& path) {
  Expected<std::string> text = ReadFile(path);
  EXPECT_TRUE(text.ok()) << path;
  return text.ok() ? *text : std::string();
}

TEST_F(AlertFormatTest, WriterContinuesExistingIds) {
  analysis::RuleMatch match =
      Feed("Oct 15 21:07:00 linux-host sshd[1]: Invalid user blabla from 192.168.2.10");
  ASSERT_TRUE(match.alert);
  AlertFileWriter::Options options;
  options.output_dir = dir_ + "/out";
  std::string first_id;
  std::string second_id;
  for (std::string* id : {&first_id, &second_id}) {
    Expected<std::unique_ptr<AlertFileWriter>> writer = AlertFileWriter::Open(options);
    ASSERT_TRUE(writer.ok()) << writer.status().message();
    ASSERT_TRUE((*writer)->WriteAlert(match, event_, id).ok());
    // Nothing reaches the file before the flush.
    if (id == &first_id) {
      EXPECT_EQ(Slurp(options.output_dir + "/alerts.log"), "");
    }
    ASSERT_TRUE((*writer)->Flush().ok());
  }

  std::string log = Slurp(options.output_dir + "/alerts.log");
  size_t block = log.find("** Alert", 1);
  ASSERT_NE(block, std::string::npos);
  EXPECT_EQ(first_id, "1796398180.0");
  EXPECT_EQ(second_id, "1796398180." + std::to_string(block));
  std::string second_head = "** Alert " + second_id + ": - syslog";
  EXPECT_EQ(log.substr(block, second_head.size()), second_head);
  EXPECT_EQ(std::count(log.begin(), log.end(), '\n'), 14);
  EXPECT_NE(Slurp(options.output_dir + "/alerts.json").find(second_id), std::string::npos);
}

// A stream writer gives the text and ids of a writer to a new alerts.log, in text and JSON.
TEST_F(AlertFormatTest, StreamWriterMatchesFileWriter) {
  analysis::RuleMatch match =
      Feed("Oct 15 21:07:00 linux-host sshd[1]: Invalid user blabla from 192.168.2.10");
  AlertFileWriter::Options options;
  options.output_dir = dir_ + "/files";
  Expected<std::unique_ptr<AlertFileWriter>> files = AlertFileWriter::Open(options);
  ASSERT_TRUE(files.ok());

  std::string text_path = dir_ + "/stream.log";
  std::string json_path = dir_ + "/stream.json";
  int text_fd = ::open(text_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  int json_fd = ::open(json_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  ASSERT_GE(text_fd, 0);
  ASSERT_GE(json_fd, 0);

  {
    auto text = AlertFileWriter::ForStream(text_fd, "text stream", /*json=*/false);
    auto json = AlertFileWriter::ForStream(json_fd, "json stream", /*json=*/true);
    for (int i = 0; i < 3; ++i) {
      std::string file_id;
      std::string text_id;
      std::string json_id;
      ASSERT_TRUE((*files)->WriteAlert(match, event_, &file_id).ok());
      ASSERT_TRUE(text->WriteAlert(match, event_, &text_id).ok());
      ASSERT_TRUE(json->WriteAlert(match, event_, &json_id).ok());
      EXPECT_EQ(text_id, file_id);
      EXPECT_EQ(json_id, file_id);
    }
    ASSERT_TRUE((*files)->Flush().ok());
    ASSERT_TRUE(text->Flush().ok());
    ASSERT_TRUE(json->Flush().ok());
  }

  // The writers leave the descriptors they did not open.
  EXPECT_EQ(::close(text_fd), 0);
  EXPECT_EQ(::close(json_fd), 0);
  EXPECT_EQ(Slurp(text_path), Slurp(options.output_dir + "/alerts.log"));
  EXPECT_EQ(Slurp(json_path), Slurp(options.output_dir + "/alerts.json"));
}

TEST(BufferedOutputTest, KeepsOrderAcrossLargeWrites) {
  char pattern[] = "/tmp/vigil-buffered-output-XXXXXX";
  int fd = ::mkstemp(pattern);
  ASSERT_GE(fd, 0);
  std::string expected;
  {
    BufferedOutput output(fd, pattern, /*owned=*/true);
    // Small pieces, a piece that overflows the buffer, and one larger than the buffer.
    for (size_t size : {size_t{100}, BufferedOutput::kBufferBytes - 50, size_t{7},
                        BufferedOutput::kBufferBytes + 3, size_t{1}}) {
      std::string piece(size, static_cast<char>('a' + expected.size() % 26));
      ASSERT_TRUE(output.Append(piece).ok());
      expected += piece;
    }
    // The destructor writes what is left and closes the file.
  }
  EXPECT_EQ(Slurp(pattern), expected);
  ::unlink(pattern);
}

TEST(BufferedOutputTest, WriteErrorNamesTheOutput) {
  int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  BufferedOutput output(fd, "read-only output", /*owned=*/true);
  ASSERT_TRUE(output.Append("alert text\n").ok()) << "the text waits in the buffer";
  Status flushed = output.Flush();
  ASSERT_FALSE(flushed.ok());
  EXPECT_EQ(flushed.message().rfind("read-only output: write failed: ", 0), 0u)
      << flushed.message();
  EXPECT_TRUE(output.Flush().ok()) << "the failed bytes are not written again";
}

}  // namespace
}  // namespace vigil::alerting
