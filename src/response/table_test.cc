#include "response/table.h"

#include <gtest/gtest.h>

#include "response/test_support.h"

namespace vigil::response {
namespace {

TEST(ResponseTable, ParsesNamesWithDashesAndSpaces) {
  std::vector<std::string> errors;
  ResponseTable table = ResponseTable::Parse(
      "restart-ossec0 - restart-ossec.sh - 0\n"
      "firewall-drop600 - firewall-drop.sh - 600\n"
      "block - ssh - brute force - firewall-drop - 3600\n"
      "  \n"
      "# comment\n"
      "disable account - disable-account - 60\r\n",
      &errors);
  EXPECT_TRUE(errors.empty());
  ASSERT_EQ(table.entries().size(), 4u);
  const TableEntry* odd = table.Find("block - ssh - brute force");
  ASSERT_NE(odd, nullptr);
  EXPECT_EQ(odd->executable, "firewall-drop");
  EXPECT_EQ(odd->timeout_seconds, 3600);
  const TableEntry* spaced = table.Find("disable account");
  ASSERT_NE(spaced, nullptr);
  EXPECT_EQ(spaced->executable, "disable-account");
  EXPECT_EQ(spaced->timeout_seconds, 60);
}

TEST(ResponseTable, ReportsBadLinesAndKeepsGoing) {
  std::vector<std::string> errors;
  ResponseTable table = ResponseTable::Parse(
      "no separators\n"
      "a - b - x\n"
      "a - ../evil - 5\n"
      "a - sub/evil - 5\n"
      "good - prog - 5\n"
      "good - other - 5\n",
      &errors);
  ASSERT_EQ(table.entries().size(), 1u);
  EXPECT_EQ(table.entries()[0].executable, "prog");
  ASSERT_EQ(errors.size(), 5u);
  EXPECT_EQ(errors[0].rfind("line 1:", 0), 0u) << errors[0];
  EXPECT_EQ(errors[4].rfind("line 6:", 0), 0u) << errors[4];
}

TEST(ResponseTable, FormatParsesBackIdentically) {
  testing::TempDir dir;
  config::Config config = testing::MakeConfig(dir.path(), dir.path());
  testing::AddResponse(&config, "firewall-drop", "firewall-drop", true, false, 600);
  testing::AddResponse(&config, "host-deny", "host-deny", true, false, 600).name =
      "deny - ssh hosts";
  std::vector<std::string> errors;
  ResponseTable table = ResponseTable::FromConfig(config, &errors);
  ASSERT_TRUE(errors.empty()) << errors[0];
  const std::string text = table.Format();
  EXPECT_EQ(text,
            "firewall-drop600 - firewall-drop - 600\n"
            "deny - ssh hosts - host-deny - 600\n");
  ResponseTable parsed = ResponseTable::Parse(text, &errors);
  EXPECT_TRUE(errors.empty());
  EXPECT_EQ(parsed.entries(), table.entries());
  EXPECT_EQ(ResponseTable::FromConfig(config, &errors).Format(), text);
}

TEST(ResponseTable, FromConfigReportsUnknownCommandAndConflicts) {
  testing::TempDir dir;
  config::Config config = testing::MakeConfig(dir.path(), dir.path());
  testing::AddResponse(&config, "drop", "firewall-drop", true, false, 600);
  config::ActiveResponseConfig conflicting = config.active_responses[0];
  conflicting.name = "drop600";
  conflicting.timeout_seconds = 60;
  config.active_responses.push_back(conflicting);
  config::ActiveResponseConfig unknown = config.active_responses[0];
  unknown.command = "nonexistent";
  unknown.source = {"ossec.conf", 42};
  config.active_responses.push_back(unknown);
  config::ActiveResponseConfig disabled = unknown;
  disabled.disabled = true;
  config.active_responses.push_back(disabled);
  config::CommandConfig bad_command;
  bad_command.name = "bad";
  bad_command.executable = "../bin/sh";
  config.commands.push_back(bad_command);
  config::ActiveResponseConfig bad = config.active_responses[0];
  bad.command = "bad";
  config.active_responses.push_back(bad);

  std::vector<std::string> errors;
  ResponseTable table = ResponseTable::FromConfig(config, &errors);
  ASSERT_EQ(table.entries().size(), 1u);
  ASSERT_EQ(errors.size(), 3u);
  EXPECT_NE(errors[0].find("defined twice"), std::string::npos) << errors[0];
  EXPECT_EQ(errors[1].rfind("ossec.conf:42: ", 0), 0u) << errors[1];
  EXPECT_NE(errors[1].find("nonexistent"), std::string::npos) << errors[1];
  EXPECT_NE(errors[2].find("../bin/sh"), std::string::npos) << errors[2];
}

TEST(ResponseTable, MatchesLongestNamePrefix) {
  std::vector<std::string> errors;
  ResponseTable table =
      ResponseTable::Parse("block - a - 1\nblock ssh - b - 1\nblock ssh now - c - 1\n", &errors);
  EXPECT_EQ(table.MatchNamePrefix("block ssh now - 1.2.3.4"), "block ssh now");
  EXPECT_EQ(table.MatchNamePrefix("block ssh - 1.2.3.4"), "block ssh");
  EXPECT_EQ(table.MatchNamePrefix("block sshd - 1.2.3.4"), "block");
  EXPECT_EQ(table.MatchNamePrefix("blocked - 1.2.3.4"), "");
}

}  // namespace
}  // namespace vigil::response
