#include "response/builtin_firewall.h"

#include <gtest/gtest.h>

#include <fstream>

#include "response/test_support.h"

namespace vigil::response {
namespace {

TEST(ReadFirewallSettings, DefaultsWithoutFile) {
  auto settings = ReadFirewallSettings("/nonexistent/firewall-drop.conf");
  ASSERT_TRUE(settings.ok()) << settings.status().message();
  EXPECT_EQ(settings->table, "vigil");
  EXPECT_EQ(settings->ipv6_prefix, 128);
}

TEST(ReadFirewallSettings, ReadsProgramSettingsFile) {
  testing::TempDir dir;
  const std::string path = dir.path() + "/firewall-drop.conf";
  std::ofstream(path) << "# comment\n\ntable=vigil-test-x\n ipv6_prefix = 64\nbackend=nft\n";
  auto settings = ReadFirewallSettings(path);
  ASSERT_TRUE(settings.ok()) << settings.status().message();
  EXPECT_EQ(settings->table, "vigil-test-x");
  EXPECT_EQ(settings->ipv6_prefix, 64);
}

TEST(ReadFirewallSettings, RejectsInvalidValues) {
  testing::TempDir dir;
  const std::string path = dir.path() + "/firewall-drop.conf";
  for (const char* text : {"table=a b\n", "table=x;flush ruleset\n", "ipv6_prefix=0\n",
                           "ipv6_prefix=129\n", "no equals sign\n"}) {
    SCOPED_TRACE(text);
    std::ofstream(path) << text;
    auto settings = ReadFirewallSettings(path);
    ASSERT_FALSE(settings.ok());
    EXPECT_EQ(settings.status().message().rfind(path + ":1: ", 0), 0u)
        << settings.status().message();
  }
}

TEST(IsBuiltinExecutable, RecognisesPrefix) {
  EXPECT_TRUE(IsBuiltinExecutable(kBuiltinFirewallDrop));
  EXPECT_TRUE(IsBuiltinExecutable("builtin:other"));
  EXPECT_FALSE(IsBuiltinExecutable("firewall-drop"));
}

TEST(RunBuiltinFirewallDrop, RejectsInvalidAddress) {
  ExecRequest request;
  request.srcip = "1.2.3.4;flush ruleset";
  ProgramResult result = RunBuiltinFirewallDrop(request, 0, FirewallSettings{});
  EXPECT_EQ(result.exit_status, 1);
  EXPECT_NE(result.stderr_text.find("invalid source address"), std::string::npos);
}

}  // namespace
}  // namespace vigil::response
