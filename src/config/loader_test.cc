#include "config/loader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "common/bundled.h"
#include "common/file.h"
#include "common/text.h"
#include "config/describe.h"

namespace vigil::config {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

namespace fs = std::filesystem;

// A temporary folder holding a config file and the files it names.
class LoaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/vigil-config-test-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
  }

  void TearDown() override {
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }

  // Writes `content` to `relative` under the temporary folder, creating folders as needed.
  std::string Write(const std::string& relative, std::string_view content) {
    std::string path = dir_ + "/" + relative;
    fs::create_directories(fs::path(path).parent_path());
    std::ofstream out(path, std::ios::binary);
    out << content;
    return path;
  }

  // Writes ossec.conf with `body` inside one <ossec_config> and loads it.
  Expected<Config> LoadBody(std::string_view body) {
    return LoadConfig(
        Write("ossec.conf", "<ossec_config>\n" + std::string(body) + "</ossec_config>\n"));
  }

  Config LoadBodyOk(std::string_view body) {
    Expected<Config> config = LoadBody(body);
    EXPECT_TRUE(config.ok()) << config.status().message();
    if (!config.ok()) return Config();
    return std::move(config).value();
  }

  // Loads `body` and returns the error lines.
  std::vector<std::string> LoadErrors(std::string_view body) {
    Expected<Config> config = LoadBody(body);
    EXPECT_FALSE(config.ok()) << "the config loaded without errors";
    if (config.ok()) return {};
    return SplitList(config.status().message(), "\n");
  }

  std::string conf() const { return dir_ + "/ossec.conf"; }

  std::string dir_;
};

// ---- <global>, <alerts>, <paths> ----

TEST_F(LoaderTest, ReadsGlobalSection) {
  Config config = LoadBodyOk(
      "<global>\n"
      "  <logall>yes</logall>\n"
      "  <logall_json>yes</logall_json>\n"
      "  <jsonout_output>yes</jsonout_output>\n"
      "  <email_notification>no</email_notification>\n"
      "  <white_list>127.0.0.1</white_list>\n"
      "  <white_list>10.0.0.0/8</white_list>\n"
      "  <allow_list>gateway.example.com</allow_list>\n"
      "  <allow_list>::1</allow_list>\n"
      "  <memory_size>4096</memory_size>\n"
      "  <custom_alert_output>$TIMESTAMP $HOSTNAME</custom_alert_output>\n"
      "  <geoipdb>geo/country.mmdb</geoipdb>\n"
      "</global>\n");
  EXPECT_TRUE(config.global.logall);
  EXPECT_TRUE(config.global.logall_json);
  EXPECT_TRUE(config.global.jsonout_output);
  EXPECT_FALSE(config.global.email_notification);
  EXPECT_THAT(config.global.allow_list,
              ElementsAre("127.0.0.1", "10.0.0.0/8", "gateway.example.com", "::1"));
  EXPECT_EQ(config.global.memory_size, 4096);
  EXPECT_EQ(config.global.custom_alert_output, "$TIMESTAMP $HOSTNAME");
  EXPECT_EQ(config.global.geoip_db, dir_ + "/geo/country.mmdb");
  EXPECT_EQ(config.global.geoip_db_source.line, 13);
}

TEST_F(LoaderTest, WarnsAboutGeoIp6DbPath) {
  Config config = LoadBodyOk(
      "<global>\n"
      "  <geoip6_db_path>/var/lib/GeoIP/GeoLiteCityv6.dat</geoip6_db_path>\n"
      "</global>\n");
  EXPECT_TRUE(config.global.geoip_db.empty());
  ASSERT_THAT(config.warnings, SizeIs(1));
  EXPECT_THAT(config.warnings[0], HasSubstr("<geoip6_db_path> is ignored"));
}

TEST_F(LoaderTest, UsesDefaultsForEmptyConfig) {
  Config config = LoadBodyOk("");
  EXPECT_EQ(config.path, conf());
  EXPECT_FALSE(config.global.logall);
  EXPECT_EQ(config.global.memory_size, 8192);
  EXPECT_EQ(config.alerts.log_alert_level, 1);
  EXPECT_EQ(config.alerts.email_alert_level, 7);
  EXPECT_EQ(config.internal.decoder_order_size, 10);
  EXPECT_THAT(config.rules.rule_files, IsEmpty());
  EXPECT_THAT(config.rules.decoder_files, IsEmpty());
  EXPECT_THAT(config.warnings, IsEmpty());
  EXPECT_FALSE(config.client.has_value());
}

TEST_F(LoaderTest, RejectsBadGlobalValues) {
  std::vector<std::string> errors = LoadErrors(
      "<global>\n"
      "  <logall>true</logall>\n"
      "  <memory_size>-5</memory_size>\n"
      "  <white_list>10.0.0.300</white_list>\n"
      "  <white_list>10.0.0.0/33</white_list>\n"
      "</global>\n");
  ASSERT_THAT(errors, SizeIs(4));
  EXPECT_EQ(errors[0], conf() + ":3: <logall>: expected yes or no, got 'true'");
  EXPECT_EQ(errors[1],
            conf() + ":4: <memory_size>: expected a number from 0 to 2147483647, got '-5'");
  EXPECT_THAT(errors[2], HasSubstr(":5: <white_list>: expected an IPv4 address"));
  EXPECT_THAT(errors[3], HasSubstr(":6: <white_list>:"));
}

// OSSEC raises any size below 2048 to 2048, so a file with 1024 loads, with a warning.
TEST_F(LoaderTest, RaisesSmallMemorySize) {
  Config config = LoadBodyOk("<global><memory_size>1024</memory_size></global>\n");
  EXPECT_EQ(config.global.memory_size, 2048);
  ASSERT_THAT(config.warnings, SizeIs(1));
  EXPECT_EQ(config.warnings[0],
            conf() + ":2: <memory_size>: 1024 is below the minimum, so 2048 is used, as in OSSEC");
}

TEST_F(LoaderTest, ReadsAlertLevels) {
  Config config = LoadBodyOk(
      "<alerts><log_alert_level>3</log_alert_level>"
      "<email_alert_level>12</email_alert_level></alerts>\n");
  EXPECT_EQ(config.alerts.log_alert_level, 3);
  EXPECT_EQ(config.alerts.email_alert_level, 12);
}

TEST_F(LoaderTest, ReportsBadNumberWithLocation) {
  std::vector<std::string> errors = LoadErrors(
      "<alerts>\n"
      "  <log_alert_level>high</log_alert_level>\n"
      "  <email_alert_level>17</email_alert_level>\n"
      "</alerts>\n");
  ASSERT_THAT(errors, SizeIs(2));
  EXPECT_EQ(errors[0],
            conf() + ":3: <log_alert_level>: expected a number from 0 to 16, got 'high'");
  EXPECT_EQ(errors[1],
            conf() + ":4: <email_alert_level>: expected a number from 0 to 16, got '17'");
}

TEST_F(LoaderTest, ResolvesPathsSection) {
  Config config = LoadBodyOk(
      "<paths>\n"
      "  <state_dir>var/state</state_dir>\n"
      "  <output_dir>/var/log/vigil</output_dir>\n"
      "  <responses_dir>./bin</responses_dir>\n"
      "</paths>\n");
  EXPECT_EQ(config.paths.state_dir, dir_ + "/var/state");
  EXPECT_EQ(config.paths.output_dir, "/var/log/vigil");
  EXPECT_EQ(config.paths.responses_dir, dir_ + "/bin");
}

// ---- <rules> ----

TEST_F(LoaderTest, ResolvesRuleFileNames) {
  Write("rules/a_rules.xml", "<group/>");
  Write("b_rules.xml", "<group/>");
  Write("custom/c_rules.xml", "<group/>");
  Write("decoders/local.xml", "<decoder/>");
  Write("lists/bad-hosts", "a:b\n");
  Config config = LoadBodyOk(
      "<rules>\n"
      "  <include>a_rules.xml</include>\n"
      "  <rule>b_rules.xml</rule>\n"
      "  <include>custom/c_rules.xml</include>\n"
      "  <decoder>decoders/local.xml</decoder>\n"
      "  <list>lists/bad-hosts</list>\n"
      "</rules>\n");
  EXPECT_THAT(config.rules.rule_files,
              ElementsAre(dir_ + "/rules/a_rules.xml", dir_ + "/b_rules.xml",
                          dir_ + "/custom/c_rules.xml"));
  EXPECT_THAT(config.rules.decoder_files, ElementsAre(dir_ + "/decoders/local.xml"));
  ASSERT_THAT(config.rules.lists, SizeIs(1));
  EXPECT_EQ(config.rules.lists[0].path, dir_ + "/lists/bad-hosts");
  EXPECT_EQ(config.rules.lists[0].source.line, 7);
  EXPECT_EQ(config.rules.source.line, 2);
}

TEST_F(LoaderTest, ScansRuleAndDecoderFolders) {
  Write("ruleset/20_rules.xml", "<group/>");
  Write("ruleset/10_rules.xml", "<group/>");
  Write("ruleset/notes.txt", "");
  Write("ruleset/b_decoders.xml", "<decoder/>");
  Write("ruleset/a_decoders.xml", "<decoder/>");
  Write("ruleset/old_rules.xml.bak", "");
  Write("rules/first.xml", "<group/>");
  Config config = LoadBodyOk(
      "<rules>\n"
      "  <include>first.xml</include>\n"
      "  <decoder_dir pattern=\"_decoders.xml$\">ruleset</decoder_dir>\n"
      "  <rule_dir pattern=\"_rules.xml$\">ruleset</rule_dir>\n"
      "  <rule_dir>rules</rule_dir>\n"
      "</rules>\n");
  EXPECT_THAT(config.rules.decoder_files,
              ElementsAre(dir_ + "/ruleset/a_decoders.xml", dir_ + "/ruleset/b_decoders.xml"));
  // rules/first.xml matches the default pattern too, but is listed once.
  EXPECT_THAT(config.rules.rule_files,
              ElementsAre(dir_ + "/rules/first.xml", dir_ + "/ruleset/10_rules.xml",
                          dir_ + "/ruleset/20_rules.xml"));
  EXPECT_THAT(config.warnings, IsEmpty());
}

TEST_F(LoaderTest, DefaultPatternMatchesXmlSuffix) {
  Write("extra/b.XML", "<group/>");
  Write("extra/a.xml", "<group/>");
  Write("extra/axml", "<group/>");
  Config config = LoadBodyOk("<rules><rule_dir>extra</rule_dir></rules>\n");
  EXPECT_THAT(config.rules.rule_files, ElementsAre(dir_ + "/extra/a.xml", dir_ + "/extra/b.XML"));
}

TEST_F(LoaderTest, WarnsAboutRuleFileListedTwice) {
  Write("rules/a.xml", "<group/>");
  Config config =
      LoadBodyOk("<rules>\n<include>a.xml</include>\n<include>a.xml</include>\n</rules>\n");
  EXPECT_THAT(config.rules.rule_files, ElementsAre(dir_ + "/rules/a.xml"));
  ASSERT_THAT(config.warnings, SizeIs(1));
  EXPECT_THAT(config.warnings[0], HasSubstr(conf() + ":4: <include>: rule file"));
}

TEST_F(LoaderTest, LoadsDefaultDecodersWhenNoneConfigured) {
  Write("decoder.xml", "<decoder/>");
  Write("local_decoder.xml", "<decoder/>");
  Config config = LoadBodyOk("");
  EXPECT_THAT(config.rules.decoder_files,
              ElementsAre(dir_ + "/decoder.xml", dir_ + "/local_decoder.xml"));
}

TEST_F(LoaderTest, SkipsDefaultDecodersWhenDecoderConfigured) {
  Write("decoder.xml", "<decoder/>");
  Write("mine.xml", "<decoder/>");
  Config config = LoadBodyOk("<rules><decoder>mine.xml</decoder></rules>\n");
  EXPECT_THAT(config.rules.decoder_files, ElementsAre(dir_ + "/mine.xml"));
}

TEST_F(LoaderTest, ResolvesOssecInstallPathsFromEtcFolder) {
  // OSSEC writes <decoder> and <list> relative to its install folder, the parent of etc/.
  Write("etc/local_decoder.xml", "<decoder/>");
  Write("etc/lists/hosts", "a:b\n");
  std::string path = Write("etc/ossec.conf",
                           "<ossec_config><rules>\n"
                           "<decoder>etc/local_decoder.xml</decoder>\n"
                           "<list>etc/lists/hosts</list>\n"
                           "</rules></ossec_config>\n");
  Expected<Config> config = LoadConfig(path);
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_THAT(config->rules.decoder_files, ElementsAre(dir_ + "/etc/local_decoder.xml"));
  ASSERT_THAT(config->rules.lists, SizeIs(1));
  EXPECT_EQ(config->rules.lists[0].path, dir_ + "/etc/lists/hosts");
}

TEST_F(LoaderTest, AcceptsCompiledListAlone) {
  Write("lists/bad-hosts.cdb", "compiled");
  Config config = LoadBodyOk(
      "<rules>\n"
      "  <list>lists/bad-hosts</list>\n"
      "</rules>\n");
  ASSERT_THAT(config.rules.lists, SizeIs(1));
  EXPECT_EQ(config.rules.lists[0].path, dir_ + "/lists/bad-hosts");
}

TEST_F(LoaderTest, ReportsMissingRuleFiles) {
  std::vector<std::string> errors = LoadErrors(
      "<rules>\n"
      "  <include>absent_rules.xml</include>\n"
      "  <include>sub/absent.xml</include>\n"
      "  <decoder>absent_decoder.xml</decoder>\n"
      "  <list>lists/absent</list>\n"
      "  <rule_dir>no-such-folder</rule_dir>\n"
      "  <rule_dir pattern=\"(unclosed\">.</rule_dir>\n"
      "</rules>\n");
  ASSERT_THAT(errors, SizeIs(6));
  EXPECT_EQ(errors[0], conf() + ":3: <include>: rule file not found: neither '" + dir_ +
                           "/rules/absent_rules.xml' nor '" + dir_ + "/absent_rules.xml' exists");
  EXPECT_EQ(errors[1],
            conf() + ":4: <include>: rule file not found: '" + dir_ + "/sub/absent.xml'");
  EXPECT_EQ(errors[2],
            conf() + ":5: <decoder>: decoder file not found: '" + dir_ + "/absent_decoder.xml'");
  EXPECT_EQ(errors[3], conf() + ":6: <list>: list not found: neither '" + dir_ +
                           "/lists/absent' nor '" + dir_ + "/lists/absent.cdb' exists");
  EXPECT_THAT(errors[4], HasSubstr(":7: <rule_dir>: cannot list the rule folder:"));
  EXPECT_THAT(errors[5], HasSubstr(":8: <rule_dir>: invalid pattern attribute '(unclosed'"));
}

TEST_F(LoaderTest, ResolvesAgainstConfigFolderNotCwd) {
  Write("rules/a.xml", "<group/>");
  Write("decoder.xml", "<decoder/>");
  std::string path = Write("ossec.conf",
                           "<ossec_config><rules><include>a.xml</include></rules>"
                           "<localfile><location>logs/app.log</location></localfile>"
                           "</ossec_config>");
  fs::path old_cwd = fs::current_path();
  fs::create_directories(dir_ + "/elsewhere");
  fs::current_path(dir_ + "/elsewhere");
  Expected<Config> config = LoadConfig(path);
  // A relative config path is taken from the working folder and made absolute.
  Expected<Config> relative = LoadConfig("../ossec.conf");
  fs::current_path(old_cwd);

  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_THAT(config->rules.rule_files, ElementsAre(dir_ + "/rules/a.xml"));
  EXPECT_THAT(config->rules.decoder_files, ElementsAre(dir_ + "/decoder.xml"));
  ASSERT_THAT(config->localfiles, SizeIs(1));
  EXPECT_EQ(config->localfiles[0].location, dir_ + "/logs/app.log");
  ASSERT_TRUE(relative.ok()) << relative.status().message();
  EXPECT_EQ(relative->path, dir_ + "/elsewhere/../ossec.conf");
  EXPECT_THAT(relative->rules.rule_files, ElementsAre(dir_ + "/elsewhere/../rules/a.xml"));
}

// ---- <localfile> ----

TEST_F(LoaderTest, ReadsLocalFiles) {
  Config config = LoadBodyOk(
      "<localfile>\n"
      "  <log_format>syslog</log_format>\n"
      "  <location>/var/log/auth.log</location>\n"
      "</localfile>\n"
      "<localfile>\n"
      "  <log_format>multi-line: 3</log_format>\n"
      "  <location>/var/log/app-%Y-%m-%d.log</location>\n"
      "</localfile>\n"
      "<localfile>\n"
      "  <log_format lines=\"4\" timeout=\"2s\">multi-line</log_format>\n"
      "  <location>/var/log/*.log</location>\n"
      "</localfile>\n"
      "<localfile>\n"
      "  <log_format>full_command</log_format>\n"
      "  <command>df -P</command>\n"
      "  <alias>disk usage</alias>\n"
      "  <frequency>hourly</frequency>\n"
      "</localfile>\n"
      "<localfile>\n"
      "  <log_format>command</log_format>\n"
      "  <command>netstat -tan</command>\n"
      "  <frequency>daily</frequency>\n"
      "</localfile>\n"
      "<localfile>\n"
      "  <log_format>command</log_format>\n"
      "  <command>uptime</command>\n"
      "  <frequency>90</frequency>\n"
      "</localfile>\n"
      "<localfile>\n"
      "  <log_format>eventchannel</log_format>\n"
      "  <location>Security</location>\n"
      "  <only-future-events>yes</only-future-events>\n"
      "  <query>Event/System[EventID=4624]</query>\n"
      "</localfile>\n");

  ASSERT_THAT(config.localfiles, SizeIs(7));
  EXPECT_EQ(config.localfiles[0].location, "/var/log/auth.log");
  EXPECT_EQ(config.localfiles[0].log_format, "syslog");
  EXPECT_EQ(config.localfiles[0].source.line, 2);
  EXPECT_EQ(config.localfiles[1].log_format, "multi-line: 3");
  EXPECT_EQ(config.localfiles[1].location, "/var/log/app-%Y-%m-%d.log");
  EXPECT_EQ(config.localfiles[2].log_format, "multi-line");
  EXPECT_EQ(config.localfiles[2].format_options.at("lines"), "4");
  EXPECT_EQ(config.localfiles[2].format_options.at("timeout"), "2s");
  EXPECT_EQ(config.localfiles[3].command, "df -P");
  EXPECT_EQ(config.localfiles[3].location, "");
  EXPECT_EQ(config.localfiles[3].alias, "disk usage");
  EXPECT_EQ(config.localfiles[3].frequency_seconds, 3600);
  EXPECT_EQ(config.localfiles[4].frequency_seconds, 86400);
  EXPECT_EQ(config.localfiles[5].frequency_seconds, 90);
  EXPECT_EQ(config.localfiles[6].location, "Security");
  EXPECT_TRUE(config.localfiles[6].only_future_events);
  EXPECT_EQ(config.localfiles[6].query, "Event/System[EventID=4624]");
  EXPECT_FALSE(config.localfiles[0].only_future_events);
  EXPECT_EQ(config.localfiles[0].frequency_seconds, 360);
}

TEST_F(LoaderTest, IgnoresRepeatedLocation) {
  Config config = LoadBodyOk(
      "<localfile><location>/var/log/auth.log</location></localfile>\n"
      "<localfile><location>/var/log/auth.log</location>"
      "<log_format>multi-line: 2</log_format></localfile>\n");
  ASSERT_THAT(config.localfiles, SizeIs(1));
  EXPECT_EQ(config.localfiles[0].log_format, "syslog");
  ASSERT_THAT(config.warnings, SizeIs(1));
  EXPECT_EQ(config.warnings[0], conf() +
                                    ":3: <localfile>: location '/var/log/auth.log' is "
                                    "already read by the <localfile> at " +
                                    conf() + ":2, so this block is ignored");
}

TEST_F(LoaderTest, RejectsIncompleteLocalFiles) {
  std::vector<std::string> errors = LoadErrors(
      "<localfile>\n"
      "  <log_format>syslog</log_format>\n"
      "</localfile>\n"
      "<localfile>\n"
      "  <log_format>full_command</log_format>\n"
      "  <location>/var/log/x</location>\n"
      "</localfile>\n"
      "<localfile>\n"
      "  <location>/var/log/y</location>\n"
      "  <frequency>weekly</frequency>\n"
      "  <colour>red</colour>\n"
      "</localfile>\n");
  ASSERT_THAT(errors, SizeIs(4));
  EXPECT_EQ(errors[0], conf() +
                           ":2: <localfile>: missing <location> (or <command> with "
                           "log_format command)");
  EXPECT_EQ(errors[1], conf() +
                           ":5: <localfile>: missing <command>, which log_format "
                           "'full_command' needs");
  EXPECT_EQ(errors[2], conf() +
                           ":11: <frequency>: expected a number of seconds, hourly or "
                           "daily, got 'weekly'");
  EXPECT_EQ(errors[3], conf() + ":12: <colour>: unknown element inside <localfile>");
}

// ---- <command> and <active-response> ----

constexpr std::string_view kCommands =
    "<command>\n"
    "  <name>firewall-drop</name>\n"
    "  <executable>firewall-drop.sh</executable>\n"
    "  <expect>srcip</expect>\n"
    "  <timeout_allowed>yes</timeout_allowed>\n"
    "</command>\n"
    "<command>\n"
    "  <name>disable-account</name>\n"
    "  <executable>disable-account.sh</executable>\n"
    "  <expect>user, srcip</expect>\n"
    "  <json_stdin>yes</json_stdin><refresh_on_extend>yes</refresh_on_extend>\n"
    "</command>\n"
    "<command>\n"
    "  <name>restart</name>\n"
    "  <executable>restart.sh</executable>\n"
    "  <expect></expect>\n"
    "</command>\n";

TEST_F(LoaderTest, ReadsCommandsAndResponses) {
  Config config = LoadBodyOk(std::string(kCommands) +
                             "<active-response>\n"
                             "  <command>firewall-drop</command>\n"
                             "  <location>local</location>\n"
                             "  <level>6</level>\n"
                             "  <timeout>600</timeout>\n"
                             "  <repeated_offenders>30, 60,120</repeated_offenders>\n"
                             "</active-response>\n"
                             "<active-response>\n"
                             "  <name>lock-user</name>\n"
                             "  <command>disable-account</command>\n"
                             "  <location>server, defined-agent</location>\n"
                             "  <agent_id>001</agent_id>\n"
                             "  <rules_id>5712, 5720</rules_id>\n"
                             "  <rules_group>authentication_failures,|sshd web</rules_group>\n"
                             "  <simulate>yes</simulate>\n"
                             "</active-response>\n"
                             "<active-response>\n"
                             "  <command>restart</command>\n"
                             "  <location>analysisd all</location>\n"
                             "  <rules_id>1002</rules_id>\n"
                             "</active-response>\n");
  ASSERT_THAT(config.commands, SizeIs(3));
  EXPECT_EQ(config.commands[0].name, "firewall-drop");
  EXPECT_EQ(config.commands[0].executable, "firewall-drop.sh");
  EXPECT_TRUE(config.commands[0].expect_srcip);
  EXPECT_FALSE(config.commands[0].expect_user);
  EXPECT_TRUE(config.commands[0].timeout_allowed);
  EXPECT_TRUE(config.commands[1].expect_user);
  EXPECT_TRUE(config.commands[1].expect_srcip);
  EXPECT_TRUE(config.commands[1].json_stdin);
  EXPECT_TRUE(config.commands[1].refresh_on_extend);
  EXPECT_FALSE(config.commands[0].refresh_on_extend);
  EXPECT_FALSE(config.commands[2].expect_srcip || config.commands[2].expect_user ||
               config.commands[2].expect_filename);

  ASSERT_THAT(config.active_responses, SizeIs(3));
  const ActiveResponseConfig& drop = config.active_responses[0];
  EXPECT_EQ(drop.name, "firewall-drop600");
  EXPECT_EQ(drop.command, "firewall-drop");
  EXPECT_EQ(drop.locations, static_cast<unsigned>(ResponseLocation::kLocal));
  EXPECT_EQ(drop.level, 6);
  EXPECT_EQ(drop.timeout_seconds, 600);
  EXPECT_THAT(drop.repeated_offenders_minutes, ElementsAre(30, 60, 120));
  EXPECT_FALSE(drop.simulate);

  const ActiveResponseConfig& lock = config.active_responses[1];
  EXPECT_EQ(lock.name, "lock-user");
  EXPECT_EQ(lock.locations, static_cast<unsigned>(ResponseLocation::kServer) |
                                static_cast<unsigned>(ResponseLocation::kDefinedAgent));
  EXPECT_EQ(lock.agent_id, "001");
  EXPECT_THAT(lock.rules_id, ElementsAre(5712, 5720));
  EXPECT_THAT(lock.rules_group, ElementsAre("authentication_failures", "sshd", "web"));
  EXPECT_FALSE(lock.level.has_value());
  EXPECT_TRUE(lock.simulate);

  const ActiveResponseConfig& restart = config.active_responses[2];
  EXPECT_EQ(restart.name, "restart0");
  EXPECT_EQ(restart.locations, static_cast<unsigned>(ResponseLocation::kServer) |
                                   static_cast<unsigned>(ResponseLocation::kAll));
  EXPECT_THAT(config.warnings, IsEmpty());
}

TEST_F(LoaderTest, AcceptsResponseBeforeItsCommand) {
  Config config = LoadBodyOk(
      "<active-response><command>firewall-drop</command><location>local</location>"
      "<level>7</level></active-response>\n" +
      std::string(kCommands));
  ASSERT_THAT(config.active_responses, SizeIs(1));
  EXPECT_EQ(config.active_responses[0].name, "firewall-drop0");
}

TEST_F(LoaderTest, KeepsDisabledResponseWithoutCommand) {
  Config config = LoadBodyOk("<active-response><disabled>yes</disabled></active-response>\n");
  ASSERT_THAT(config.active_responses, SizeIs(1));
  EXPECT_TRUE(config.active_responses[0].disabled);
}

TEST_F(LoaderTest, WarnsAboutResponseThatNeverRuns) {
  Config config = LoadBodyOk(std::string(kCommands) +
                             "<active-response><command>restart</command>"
                             "<location>local</location></active-response>\n");
  ASSERT_THAT(config.warnings, SizeIs(1));
  EXPECT_THAT(config.warnings[0], HasSubstr(":19: <active-response>: no <level>, <rules_id> "
                                            "or <rules_group>"));
}

TEST_F(LoaderTest, RejectsBadCommands) {
  std::vector<std::string> errors = LoadErrors(
      "<command>\n"
      "  <name>bad</name>\n"
      "  <executable>/bin/rm</executable>\n"
      "  <expect>srcip,hostname</expect>\n"
      "</command>\n"
      "<command>\n"
      "  <executable>x.sh</executable>\n"
      "</command>\n"
      "<command><name>dup</name><executable>a.sh</executable><expect/></command>\n"
      "<command><name>dup</name><executable>b.sh</executable><expect/></command>\n");
  ASSERT_THAT(errors, SizeIs(6));
  EXPECT_EQ(errors[0], conf() +
                           ":4: <executable>: expected a file name in the responses "
                           "folder, without '/', got '/bin/rm'");
  EXPECT_EQ(errors[1], conf() +
                           ":5: <expect>: expected srcip, user or filename separated by "
                           "commas, or nothing, got 'hostname'");
  EXPECT_EQ(errors[2], conf() + ":2: <command>: missing <executable>");
  EXPECT_EQ(errors[3], conf() + ":7: <command>: missing <name>");
  EXPECT_THAT(errors[4], HasSubstr(":7: <command>: missing <expect>"));
  EXPECT_EQ(errors[5],
            conf() + ":11: <command>: command 'dup' is already defined at " + conf() + ":10");
}

TEST_F(LoaderTest, RejectsBadResponses) {
  std::vector<std::string> errors =
      LoadErrors(std::string(kCommands) +                               // lines 2-18
                 "<active-response>\n"                                  // 19
                 "  <command>no-such-command</command>\n"               // 20
                 "  <location>local</location>\n"                       // 21
                 "  <level>5</level>\n"                                 // 22
                 "</active-response>\n"                                 // 23
                 "<active-response>\n"                                  // 24
                 "  <command>restart</command>\n"                       // 25
                 "  <location>local</location>\n"                       // 26
                 "  <level>21</level>\n"                                // 27
                 "  <timeout>60</timeout>\n"                            // 28
                 "</active-response>\n"                                 // 29
                 "<active-response>\n"                                  // 30
                 "  <command>firewall-drop</command>\n"                 // 31
                 "  <location>defined-agent</location>\n"               // 32
                 "  <rules_id>5712,x</rules_id><timeout>5</timeout>\n"  // 33
                 "</active-response>\n"                                 // 34
                 "<active-response>\n"                                  // 35
                 "  <command>firewall-drop</command>\n"                 // 36
                 "  <location>everywhere</location>\n"                  // 37
                 "  <level>3</level><timeout>6</timeout>\n"             // 38
                 "</active-response>\n"                                 // 39
                 "<active-response>\n"                                  // 40
                 "  <command>firewall-drop</command>\n"                 // 41
                 "  <location>local</location>\n"                       // 42
                 "  <level>3</level>\n"                                 // 43
                 "</active-response>\n"                                 // 44
                 "<active-response>\n"                                  // 45
                 "  <command>firewall-drop</command>\n"                 // 46
                 "  <location>all</location>\n"                         // 47
                 "  <rules_group>sshd</rules_group>\n"                  // 48
                 "</active-response>\n");                               // 49
  // The responses at lines 40 and 45 share OSSEC's generated name firewall-drop0 and the same
  // command and timeout, which OSSEC accepts: they are not an error.
  ASSERT_THAT(errors, SizeIs(7));
  EXPECT_EQ(errors[0], conf() + ":27: <level>: expected a number from 0 to 20, got '21'");
  EXPECT_EQ(errors[1], conf() +
                           ":33: <rules_id>: expected numbers from 0 to 2147483647 "
                           "separated by commas, got 'x'");
  EXPECT_EQ(errors[2], conf() +
                           ":30: <active-response>: location defined-agent needs "
                           "<agent_id>");
  EXPECT_EQ(errors[3], conf() +
                           ":37: <location>: expected server, analysisd, local, "
                           "defined-agent, all or any (several separated by commas), got "
                           "'everywhere'");
  EXPECT_EQ(errors[4], conf() + ":35: <active-response>: missing <location>");
  EXPECT_EQ(errors[5], conf() +
                           ":20: <command>: 'no-such-command' is not defined by any "
                           "<command> block");
  EXPECT_EQ(errors[6], conf() +
                           ":28: <timeout>: command 'restart' does not allow a timeout; "
                           "set <timeout_allowed>yes</timeout_allowed> in its <command> "
                           "block or remove the timeout");
}

TEST_F(LoaderTest, ConflictingResponseNamesAreAnError) {
  std::vector<std::string> errors = LoadErrors(
      "<command>\n"
      "  <name>firewall-drop</name><executable>firewall-drop</executable>\n"
      "  <expect>srcip</expect><timeout_allowed>yes</timeout_allowed>\n"
      "</command>\n"
      "<active-response>\n"
      "  <name>block</name><command>firewall-drop</command>\n"
      "  <location>local</location><level>6</level><timeout>600</timeout>\n"
      "</active-response>\n"
      "<active-response>\n"
      "  <name>block</name><command>firewall-drop</command>\n"
      "  <location>local</location><level>10</level><timeout>60</timeout>\n"
      "</active-response>\n");
  ASSERT_THAT(errors, SizeIs(1));
  EXPECT_THAT(errors[0], HasSubstr("the name 'block' is already used by the response at"));
  EXPECT_THAT(errors[0], HasSubstr("with a different command, timeout or simulate setting"));
}

// ---- <remote> and <client> ----

TEST_F(LoaderTest, ReadsRemoteSections) {
  Config config = LoadBodyOk(
      "<remote>\n"
      "  <connection>secure</connection>\n"
      "  <port>1515</port>\n"
      "  <protocol>UDP</protocol>\n"
      "  <local_ip>192.168.1.2</local_ip>\n"
      "</remote>\n"
      "<remote>\n"
      "  <connection>syslog</connection>\n"
      "  <allowed-ips>10.0.0.0/8</allowed-ips>\n"
      "  <allowed-ips>fd00::/8</allowed-ips>\n"
      "  <denied-ips>10.1.2.3</denied-ips>\n"
      "  <ipv6>yes</ipv6>\n"
      "</remote>\n");
  ASSERT_THAT(config.remotes, SizeIs(2));
  EXPECT_EQ(config.remotes[0].connection, "secure");
  EXPECT_EQ(config.remotes[0].port, 1515);
  EXPECT_EQ(config.remotes[0].protocol, "udp");
  EXPECT_EQ(config.remotes[0].local_ip, "192.168.1.2");
  EXPECT_EQ(config.remotes[1].connection, "syslog");
  EXPECT_EQ(config.remotes[1].port, 514);
  EXPECT_THAT(config.remotes[1].allowed_ips, ElementsAre("10.0.0.0/8", "fd00::/8"));
  EXPECT_THAT(config.remotes[1].denied_ips, ElementsAre("10.1.2.3"));
  EXPECT_TRUE(config.remotes[1].ipv6);
  EXPECT_EQ(config.remotes[1].protocol, "udp");
}

TEST_F(LoaderTest, ReadsSeveralRemotes) {
  Config config = LoadBodyOk(
      "<remote><port>1514</port><local_ip>127.0.0.1</local_ip></remote>\n"
      "<remote><port>1514</port><local_ip>127.0.0.2</local_ip></remote>\n"
      "<remote><port>1600</port><denied-ips>192.0.2.0/24</denied-ips></remote>\n"
      "<remote><connection>syslog</connection><port>1514</port>"
      "<protocol>UDP, tcp</protocol><local_ip>10.0.0.1</local_ip>"
      "<allowed-ips>10.0.0.0/8</allowed-ips></remote>\n");
  ASSERT_THAT(config.remotes, SizeIs(4));
  EXPECT_EQ(config.remotes[1].local_ip, "127.0.0.2");
  EXPECT_THAT(config.remotes[2].denied_ips, ElementsAre("192.0.2.0/24"));
  EXPECT_EQ(config.remotes[3].protocol, "tcp,udp");
}

TEST_F(LoaderTest, RejectsSyslogRemoteWithoutAllowedIps) {
  std::vector<std::string> errors =
      LoadErrors("<remote>\n  <connection>syslog</connection>\n</remote>\n");
  ASSERT_THAT(errors, SizeIs(1));
  EXPECT_EQ(errors[0], conf() +
                           ":2: <remote>: a syslog <remote> needs at least one <allowed-ips> "
                           "naming the addresses that may send syslog");
}

TEST_F(LoaderTest, RejectsRemotesOnSamePort) {
  std::vector<std::string> errors = LoadErrors(
      "<remote><port>1514</port></remote>\n"
      "<remote><port>1514</port><local_ip>127.0.0.1</local_ip></remote>\n"
      "<remote><connection>syslog</connection><port>1514</port>"
      "<allowed-ips>10.0.0.1</allowed-ips></remote>\n");
  ASSERT_THAT(errors, SizeIs(1));
  EXPECT_EQ(errors[0], conf() + ":3: <remote>: port 1514/tcp is already used by the <remote> at " +
                           conf() + ":2");
}

TEST_F(LoaderTest, RejectsInvalidDeniedIps) {
  std::vector<std::string> errors =
      LoadErrors("<remote>\n  <denied-ips>10.0.0.0/33</denied-ips>\n</remote>\n");
  ASSERT_THAT(errors, SizeIs(1));
  EXPECT_EQ(errors[0], conf() + ":3: <denied-ips>: expected an IP address or network "
                                "(ADDRESS/PREFIX), got '10.0.0.0/33'");
}

TEST_F(LoaderTest, RejectsBadRemoteValues) {
  std::vector<std::string> errors = LoadErrors(
      "<remote>\n"
      "  <connection>tls</connection>\n"
      "  <port>70000</port>\n"
      "  <protocol>sctp</protocol>\n"
      "  <allowed-ips>not-an-ip</allowed-ips>\n"
      "</remote>\n");
  ASSERT_THAT(errors, SizeIs(4));
  EXPECT_EQ(errors[0], conf() + ":3: <connection>: expected secure or syslog, got 'tls'");
  EXPECT_EQ(errors[1], conf() + ":4: <port>: expected a number from 1 to 65535, got '70000'");
  EXPECT_EQ(errors[2], conf() + ":5: <protocol>: expected tcp, udp or tcp,udp, got 'sctp'");
  EXPECT_THAT(errors[3], HasSubstr(":6: <allowed-ips>: expected an IP address or network"));
}

TEST_F(LoaderTest, ReadsClientServers) {
  Config config = LoadBodyOk(
      "<client>\n"
      "  <server-ip>192.168.10.1</server-ip>\n"
      "  <server-hostname>manager.example.com</server-hostname>\n"
      "  <server>backup.example.com:1600</server>\n"
      "  <server>[fd00::5]:1601</server>\n"
      "  <server>fd00::6</server>\n"
      "  <server><address>wazuh.example.com</address><port>1700</port>"
      "<protocol>tcp</protocol></server>\n"
      "  <server><address>10.9.9.9</address></server>\n"
      "  <port>1520</port>\n"
      "  <notify_time>30</notify_time>\n"
      "  <time-reconnect>120</time-reconnect>\n"
      "  <disable-active-response>yes</disable-active-response>\n"
      "  <config-profile>web, debian</config-profile>\n"
      "</client>\n");
  ASSERT_TRUE(config.client.has_value());
  EXPECT_THAT(
      config.client->server_addresses,
      ElementsAre("192.168.10.1:1520", "manager.example.com:1520", "backup.example.com:1600",
                  "[fd00::5]:1601", "[fd00::6]:1520", "wazuh.example.com:1700", "10.9.9.9:1520"));
  EXPECT_EQ(config.client->notify_time_seconds, 30);
  EXPECT_EQ(config.client->time_reconnect_seconds, 120);
  EXPECT_TRUE(config.client->disable_active_response);
  EXPECT_EQ(config.client->config_profile, "web, debian");
  EXPECT_EQ(config.client->source.line, 2);
}

TEST_F(LoaderTest, UsesDefaultAgentPortForClient) {
  Config config = LoadBodyOk("<client><server-ip>10.0.0.1</server-ip></client>\n");
  ASSERT_TRUE(config.client.has_value());
  EXPECT_THAT(config.client->server_addresses, ElementsAre("10.0.0.1:1514"));
}

TEST_F(LoaderTest, RejectsBadClientValues) {
  std::vector<std::string> errors = LoadErrors(
      "<client>\n"
      "  <server-ip>manager</server-ip>\n"
      "  <server>host:0</server>\n"
      "  <notify_time>0</notify_time>\n"
      "  <server><port>1</port><colour/></server>\n"
      "</client>\n");
  ASSERT_THAT(errors, SizeIs(5));
  EXPECT_EQ(errors[0], conf() + ":3: <server-ip>: expected an IP address, got 'manager'");
  EXPECT_EQ(errors[1], conf() +
                           ":4: <server>: expected HOST, HOST:PORT or [IPV6]:PORT with a "
                           "port from 1 to 65535, got 'host:0'");
  EXPECT_THAT(errors[2], HasSubstr(":5: <notify_time>: expected a number from 1"));
  EXPECT_EQ(errors[3], conf() + ":6: <colour>: unknown element inside <server>");
  EXPECT_EQ(errors[4], conf() + ":6: <server>: missing <address>");
}

TEST_F(LoaderTest, ValidatesServerAddresses) {
  struct Case {
    const char* text;
    const char* address;  // nullptr when the text must be rejected
  };
  const Case cases[] = {
      {"10.0.0.1", "10.0.0.1:1514"}, {"10.0.0.1:99", "10.0.0.1:99"},
      {"[::1]", "[::1]:1514"},       {"[::1]:77", "[::1]:77"},
      {"::1", "[::1]:1514"},         {"host:", nullptr},
      {"[::1]:", nullptr},           {"[::1", nullptr},
      {"[::1]x", nullptr},           {":1515", nullptr},
      {"host:99999", nullptr},       {"host:abc", nullptr},
      {"[]:1515", nullptr},
  };
  for (const Case& test : cases) {
    SCOPED_TRACE(test.text);
    Expected<Config> config =
        LoadBody(std::string("<client><server>") + test.text + "</server></client>\n");
    if (test.address == nullptr) {
      ASSERT_FALSE(config.ok());
      EXPECT_THAT(config.status().message(), HasSubstr(":2: <server>: expected HOST"));
      continue;
    }
    ASSERT_TRUE(config.ok()) << config.status().message();
    EXPECT_THAT(config->client->server_addresses, ElementsAre(test.address));
  }
}

TEST_F(LoaderTest, RejectsClientWithoutServer) {
  std::vector<std::string> errors = LoadErrors("<client><notify_time>5</notify_time></client>\n");
  ASSERT_THAT(errors, SizeIs(1));
  EXPECT_EQ(errors[0], conf() +
                           ":2: <client>: missing <server-ip>, <server-hostname> or "
                           "<server>");
}

// ---- warnings and structural errors ----

TEST_F(LoaderTest, WarnsOnceAboutUnsupportedSections) {
  Config config = LoadBodyOk(
      "<syscheck>\n"
      "  <frequency>79200</frequency>\n"
      "</syscheck>\n"
      "<syscheck><directories>/etc</directories></syscheck>\n"
      "<rootcheck/>\n"
      "<global>\n"
      "  <email_to>root@example.com</email_to>\n"
      "  <email_to>ops@example.com</email_to>\n"
      "  <smtp_server>localhost</smtp_server>\n"
      "</global>\n");
  EXPECT_THAT(config.warnings,
              ElementsAre(conf() + ":2: <syscheck> is not supported by Vigil and is ignored",
                          conf() + ":6: <rootcheck> is not supported by Vigil and is ignored",
                          conf() + ":8: <email_to> is not supported by Vigil and is ignored",
                          conf() + ":10: <smtp_server> is not supported by Vigil and is ignored"));
}

TEST_F(LoaderTest, LoadsTypicalOssecServerConfig) {
  Write("etc/rules/sshd_rules.xml", "<group/>");
  Write("etc/decoder.xml", "<decoder/>");
  std::string path = Write("etc/ossec.conf",
                           "<ossec_config>\n"
                           "  <global>\n"
                           "    <email_notification>yes</email_notification>\n"
                           "    <email_to>admin@example.com</email_to>\n"
                           "    <smtp_server>mail.example.com</smtp_server>\n"
                           "    <white_list>127.0.0.1</white_list>\n"
                           "  </global>\n"
                           "  <rules><include>sshd_rules.xml</include></rules>\n"
                           "  <syscheck><frequency>79200</frequency></syscheck>\n"
                           "  <rootcheck><disabled>no</disabled></rootcheck>\n"
                           "  <remote><connection>secure</connection></remote>\n"
                           "  <command>\n"
                           "    <name>host-deny</name>\n"
                           "    <executable>host-deny.sh</executable>\n"
                           "    <expect>srcip</expect>\n"
                           "    <timeout_allowed>yes</timeout_allowed>\n"
                           "  </command>\n"
                           "  <active-response>\n"
                           "    <command>host-deny</command>\n"
                           "    <location>local</location>\n"
                           "    <level>6</level>\n"
                           "    <timeout>600</timeout>\n"
                           "  </active-response>\n"
                           "  <localfile>\n"
                           "    <log_format>full_command</log_format>\n"
                           "    <command>netstat -tan | grep LISTEN</command>\n"
                           "  </localfile>\n"
                           "</ossec_config>\n");

  Expected<Config> config = LoadConfig(path);
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_THAT(config->rules.rule_files, ElementsAre(dir_ + "/etc/rules/sshd_rules.xml"));
  EXPECT_THAT(config->rules.decoder_files, ElementsAre(dir_ + "/etc/decoder.xml"));
  EXPECT_TRUE(config->global.email_notification);
  ASSERT_THAT(config->remotes, SizeIs(1));
  EXPECT_EQ(config->remotes[0].port, 1514);
  ASSERT_THAT(config->active_responses, SizeIs(1));
  EXPECT_EQ(config->active_responses[0].name, "host-deny600");
  ASSERT_THAT(config->localfiles, SizeIs(1));
  EXPECT_EQ(config->localfiles[0].command, "netstat -tan | grep LISTEN");
  EXPECT_THAT(config->warnings,
              ElementsAre(path + ":4: <email_to> is not supported by Vigil and is ignored",
                          path + ":5: <smtp_server> is not supported by Vigil and is ignored",
                          path + ":9: <syscheck> is not supported by Vigil and is ignored",
                          path + ":10: <rootcheck> is not supported by Vigil and is ignored"));
}

TEST_F(LoaderTest, RejectsUnknownElements) {
  std::vector<std::string> errors = LoadErrors(
      "<globl/>\n"
      "<global><logal>yes</logal></global>\n"
      "<rules><includes>a.xml</includes></rules>\n");
  ASSERT_THAT(errors, SizeIs(3));
  EXPECT_EQ(errors[0], conf() +
                           ":2: <globl>: unknown section; expected global, rules, alerts, "
                           "localfile, command, active-response, remote, client or paths");
  EXPECT_EQ(errors[1], conf() + ":3: <logal>: unknown element inside <global>");
  EXPECT_EQ(errors[2], conf() + ":4: <includes>: unknown element inside <rules>");
}

TEST_F(LoaderTest, RejectsChildElementsWhereTextBelongs) {
  std::vector<std::string> errors =
      LoadErrors("<alerts><log_alert_level><x/></log_alert_level></alerts>\n");
  ASSERT_THAT(errors, SizeIs(1));
  EXPECT_EQ(errors[0], conf() + ":2: <log_alert_level>: expected text, found the element <x>");
}

TEST_F(LoaderTest, ReportsSeveralErrorsTogether) {
  std::vector<std::string> errors = LoadErrors(
      "<alerts><log_alert_level>x</log_alert_level></alerts>\n"
      "<global><logall>maybe</logall></global>\n"
      "<nonsense/>\n"
      "<active-response><command>ghost</command><location>local</location>"
      "<level>1</level></active-response>\n");
  ASSERT_THAT(errors, SizeIs(4));
  for (const std::string& error : errors) {
    EXPECT_THAT(error, HasSubstr(conf() + ":"));
  }
  EXPECT_THAT(errors[0], HasSubstr(":2: <log_alert_level>:"));
  EXPECT_THAT(errors[1], HasSubstr(":3: <logall>:"));
  EXPECT_THAT(errors[2], HasSubstr(":4: <nonsense>:"));
  EXPECT_THAT(errors[3], HasSubstr(":5: <command>: 'ghost' is not defined"));
}

TEST_F(LoaderTest, RejectsOtherTopLevelElements) {
  Expected<Config> config = LoadConfig(Write("ossec.conf", "<agent_config/>\n"));
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(config.status().message(),
            conf() + ":1: <agent_config>: expected <ossec_config> at the top level");
  Expected<Config> empty = LoadConfig(Write("ossec.conf", "<!-- nothing -->\n"));
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.status().message(), conf() + ":1: no <ossec_config> element in the file");
}

TEST_F(LoaderTest, ReportsBrokenXml) {
  Expected<Config> config = LoadConfig(Write("ossec.conf", "<ossec_config>\n<global>\n"));
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().code(), StatusCode::kParseError);
  EXPECT_THAT(config.status().message(), HasSubstr(conf() + ":"));
}

TEST_F(LoaderTest, ReportsMissingConfigFile) {
  Expected<Config> config = LoadConfig(dir_ + "/absent.conf");
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().code(), StatusCode::kNotFound);
}

TEST_F(LoaderTest, MergesSeveralConfigBlocks) {
  Write("rules/a.xml", "<group/>");
  Write("rules/b.xml", "<group/>");
  Expected<Config> config = LoadConfig(
      Write("ossec.conf",
            "<ossec_config><rules><include>a.xml</include></rules>"
            "<alerts><log_alert_level>4</log_alert_level></alerts></ossec_config>\n"
            "<ossec_config><rules><include>b.xml</include></rules>"
            "<localfile><location>/var/log/syslog</location></localfile></ossec_config>\n"));
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_THAT(config->rules.rule_files, ElementsAre(dir_ + "/rules/a.xml", dir_ + "/rules/b.xml"));
  EXPECT_EQ(config->alerts.log_alert_level, 4);
  EXPECT_THAT(config->localfiles, SizeIs(1));
}

// ---- internal_options.conf ----

TEST_F(LoaderTest, ReadsInternalOptionsBesideConfig) {
  Write("internal_options.conf",
        "# comment\n"
        "analysisd.default_timeframe=720\n"
        "analysisd.decoder_order_size=12\n"
        "analysisd.fts_list_size=9999\n"
        "logcollector.loop_timeout = 5\n"
        "maild.strict_checking=1\n"
        "not a key value line\n");
  Write("local_internal_options.conf",
        "analysisd.decoder_order_size=16\n"
        "analysisd.fts_list_size=64\n");
  Config config = LoadBodyOk("");
  EXPECT_EQ(config.internal.default_timeframe, 720);
  EXPECT_EQ(config.internal.decoder_order_size, 16);
  EXPECT_EQ(config.internal.loop_timeout_seconds, 5);
  // The main file's out-of-range value is never read, because the local file sets the key.
  EXPECT_EQ(config.internal.fts_list_size, 64);
  EXPECT_EQ(config.internal.fts_min_size_for_str, 14);
}

TEST_F(LoaderTest, RejectsInternalOptionsOutOfRange) {
  std::string path = Write("internal_options.conf",
                           "analysisd.decoder_order_size=30\n"
                           "\n"
                           "analysisd.fts_list_size=-1\n");
  std::vector<std::string> errors = LoadErrors(
      "<alerts><log_alert_level>z</log_alert_level>"
      "</alerts>\n");
  ASSERT_THAT(errors, SizeIs(3));
  EXPECT_THAT(errors[0], HasSubstr(":2: <log_alert_level>:"));
  EXPECT_EQ(errors[1], path +
                           ":1: analysisd.decoder_order_size: expected a number from 8 to "
                           "20, got '30'");
  EXPECT_EQ(errors[2], path +
                           ":3: analysisd.fts_list_size: expected a number from 12 to 512, "
                           "got '-1'");
}

// ---- LoadConfigFromString, DescribeConfig, bundled and OSSEC configs ----

TEST(LoadConfigFromString, SkipsFileChecksWithoutFileAccess) {
  LoadOptions options;
  options.base_dir = "/nonexistent/vigil";
  options.access_files = false;
  Expected<Config> config = LoadConfigFromString(
      "<ossec_config><rules><include>missing.xml</include>"
      "<rule_dir>/</rule_dir></rules></ossec_config>",
      "inline.conf", options);
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_THAT(config->rules.rule_files, ElementsAre("/nonexistent/vigil/rules/missing.xml"));
  EXPECT_EQ(config->path, "inline.conf");
}

TEST_F(LoaderTest, DescribesLoadedConfig) {
  Write("rules/a_rules.xml", "<group/>");
  Config config = LoadBodyOk(std::string(kCommands) +
                             "<rules><include>a_rules.xml</include></rules>\n"
                             "<localfile><location>/var/log/auth.log</location></localfile>\n"
                             "<active-response><command>firewall-drop</command>"
                             "<location>local</location><level>6</level>"
                             "<timeout>600</timeout></active-response>\n"
                             "<syscheck/>\n");
  std::string text = DescribeConfig(config);
  EXPECT_THAT(text, HasSubstr("config: " + conf() + "\n"));
  EXPECT_THAT(text, HasSubstr("rule files (1):\n  " + dir_ + "/rules/a_rules.xml\n"));
  EXPECT_THAT(text, HasSubstr("  /var/log/auth.log [syslog]"));
  EXPECT_THAT(text, HasSubstr("  firewall-drop: executable firewall-drop.sh, expect srcip"));
  EXPECT_THAT(text, HasSubstr("  firewall-drop600: command firewall-drop, location local, "
                              "level >= 6"));
  EXPECT_THAT(text, HasSubstr("warnings (1):\n  " + conf() + ":22: <syscheck> is not supported"));
}

TEST(BundledConfig, LoadsBundledRulesInNameOrder) {
  std::vector<std::string> expected_decoders;
  std::vector<std::string> expected_rules;
  for (const auto& [name, content] : BundledFiles()) {
    if (!name.starts_with("rules/") || name.find('/', 6) != std::string::npos) continue;
    if (name.ends_with("_decoders.xml")) expected_decoders.push_back("<bundled>/" + name);
    if (name.ends_with("_rules.xml")) expected_rules.push_back("<bundled>/" + name);
  }
  std::sort(expected_decoders.begin(), expected_decoders.end());
  std::sort(expected_rules.begin(), expected_rules.end());

  Expected<Config> config = LoadBundledConfig();
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_EQ(config->path, kBundledConfigPath);
  EXPECT_EQ(config->alerts.log_alert_level, 1);
  EXPECT_EQ(config->alerts.email_alert_level, 7);
  EXPECT_THAT(config->warnings, IsEmpty());
  EXPECT_FALSE(config->rules.decoder_files.empty());
  EXPECT_FALSE(config->rules.rule_files.empty());
  EXPECT_EQ(config->rules.decoder_files, expected_decoders);
  EXPECT_EQ(config->rules.rule_files, expected_rules);
}

TEST(OssecCompatConfig, LoadsStockRuleListAndDecoders) {
  std::string etc = std::string(VIGIL_SOURCE_DIR) + "/../shared/compat/ossec-3.7.0/etc";
  if (!fs::exists(etc + "/ossec.conf")) {
    GTEST_SKIP() << "the OSSEC 3.7.0 compat files are absent: " << etc;
  }
  std::string root = fs::weakly_canonical(etc).string();
  Expected<Config> config = LoadConfig(root + "/ossec.conf");
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_THAT(config->rules.decoder_files, ElementsAre(root + "/decoder.xml"));
  // 66 <include> lines, one of them commented out.
  ASSERT_THAT(config->rules.rule_files, SizeIs(65));
  EXPECT_EQ(config->rules.rule_files.front(), root + "/rules/rules_config.xml");
  EXPECT_EQ(config->rules.rule_files[1], root + "/rules/pam_rules.xml");
  EXPECT_EQ(config->rules.rule_files[2], root + "/rules/sshd_rules.xml");
  EXPECT_EQ(config->rules.rule_files[50], root + "/rules/zeus_rules.xml");
  EXPECT_EQ(config->rules.rule_files.back(), root + "/rules/local_rules.xml");
  EXPECT_EQ(config->alerts.log_alert_level, 1);
  EXPECT_FALSE(config->global.jsonout_output);
  EXPECT_EQ(config->internal.decoder_order_size, 10);
  EXPECT_THAT(config->warnings, IsEmpty());
}

}  // namespace
}  // namespace vigil::config
