#include "response/address.h"

#include <gtest/gtest.h>

namespace vigil::response {
namespace {

TEST(ParseSourceAddress, NormalisesAcceptedForms) {
  const struct {
    const char* input;
    const char* expected;
  } cases[] = {
      {"192.168.2.10", "192.168.2.10"}, {"192.168.2.10:22", "192.168.2.10"},
      {"2001:db8::1", "2001:db8::1"},   {"2001:DB8:0:0:0:0:0:1", "2001:db8::1"},
      {"[2001:db8::1]", "2001:db8::1"}, {"[2001:db8::1]:2222", "2001:db8::1"},
      {"::ffff:10.1.2.3", "10.1.2.3"},  {"[::ffff:10.1.2.3]:80", "10.1.2.3"},
      {"::FFFF:a01:203", "10.1.2.3"},   {"::1", "::1"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.input);
    auto address = ParseSourceAddress(c.input);
    ASSERT_TRUE(address.ok()) << address.status().message();
    EXPECT_EQ(address->ToString(), c.expected);
  }
}

TEST(ParseSourceAddress, RejectsEverythingElse) {
  const char* cases[] = {
      "",
      " 1.2.3.4",
      "1.2.3.4 ",
      "1.2.3.4 5.6.7.8",
      "1.2.3.4,5.6.7.8",
      "1.2.3.4;5.6.7.8",
      "1.2.3.4\n5.6.7.8",
      "1.2.3.4;reboot",
      "$(reboot)",
      "`reboot`",
      "1.2.3.4'",
      "\"1.2.3.4\"",
      "host.example.com",
      "localhost",
      "1.2.3",
      "1.2.3.4.5",
      "01.2.3.4",
      "256.1.1.1",
      "1.2.3.4:",
      "1.2.3.4:99999",
      "1.2.3.4:22:33",
      "[1.2.3.4]",
      "[2001:db8::1",
      "2001:db8::1]",
      "[2001:db8::1]x",
      "[2001:db8::1]:port",
      "fe80::1%eth0",
      "2001:db8::1/64",
      "1.2.3.4/32",
      "-1.2.3.4",
      "::g",
  };
  for (const char* input : cases) {
    SCOPED_TRACE(input);
    auto address = ParseSourceAddress(input);
    EXPECT_FALSE(address.ok()) << "accepted as " << address->ToString();
  }
}

TEST(ParseNetwork, ClearsHostBitsAndUnmaps) {
  auto v4 = ParseNetwork("10.1.2.3/8");
  ASSERT_TRUE(v4.ok());
  EXPECT_EQ(v4->ToString(), "10.0.0.0/8");
  auto v6 = ParseNetwork("2001:db8:1:2::5/64");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->ToString(), "2001:db8:1:2::/64");
  auto mapped = ParseNetwork("::ffff:192.168.0.0/112");
  ASSERT_TRUE(mapped.ok());
  EXPECT_EQ(mapped->ToString(), "192.168.0.0/16");
  auto single = ParseNetwork("::1");
  ASSERT_TRUE(single.ok());
  EXPECT_EQ(single->ToString(), "::1/128");
  EXPECT_FALSE(ParseNetwork("10.0.0.0/33").ok());
  EXPECT_FALSE(ParseNetwork("10.0.0.0/255.0.0.0").ok());
  EXPECT_FALSE(ParseNetwork("2001:db8::/129").ok());
  EXPECT_FALSE(ParseNetwork("example.com").ok());
  EXPECT_FALSE(ParseNetwork("/8").ok());
}

TEST(AllowList, MatchesAddressesRangesAndMappedForms) {
  std::vector<std::string> ignored;
  AllowList list = AllowList::FromEntries({"127.0.0.1", "10.0.0.0/8", " 2001:db8::/32 ",
                                           "::ffff:172.16.0.0/108", "::1", "trusted.example.com"},
                                          &ignored);
  EXPECT_EQ(list.size(), 5u);
  ASSERT_EQ(ignored.size(), 1u);
  EXPECT_EQ(ignored[0], "trusted.example.com");

  const struct {
    const char* address;
    const char* match;
  } cases[] = {
      {"127.0.0.1", "127.0.0.1"},
      {"::ffff:127.0.0.1", "127.0.0.1"},
      {"10.200.3.4", "10.0.0.0/8"},
      {"[::ffff:10.9.9.9]:22", "10.0.0.0/8"},
      {"2001:db8:ffff::1", "2001:db8::/32"},
      {"172.16.5.5", "::ffff:172.16.0.0/108"},
      {"172.31.255.255", "::ffff:172.16.0.0/108"},
      {"::1", "::1"},
      {"127.0.0.2", ""},
      {"11.0.0.1", ""},
      {"2001:db9::1", ""},
      {"172.32.0.1", ""},
      {"::2", ""},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.address);
    auto address = ParseSourceAddress(c.address);
    ASSERT_TRUE(address.ok());
    EXPECT_EQ(list.FindMatch(*address), c.match);
  }
}

TEST(ToBlockNetwork, WidensIpv6Only) {
  auto v6 = ParseSourceAddress("2001:db8:1:2:3:4:5:6");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(ToBlockNetwork(*v6, 64).ToString(), "2001:db8:1:2::/64");
  EXPECT_EQ(ToBlockNetwork(*v6, 128).ToString(), "2001:db8:1:2:3:4:5:6/128");
  auto v4 = ParseSourceAddress("10.1.2.3");
  ASSERT_TRUE(v4.ok());
  EXPECT_EQ(ToBlockNetwork(*v4, 64).ToString(), "10.1.2.3/32");
}

TEST(IsValidUserName, AcceptsOnlyTheStrictSet) {
  for (const char* name :
       {"root", "admin", "j.doe", "svc_backup", "user@example.com", "a-b", "_apt", "USER1"}) {
    SCOPED_TRACE(name);
    EXPECT_TRUE(IsValidUserName(name));
  }
  for (const char* name :
       {"", "-", "-rf", "--help", ".", "..", "root;reboot", "$(id)", "`id`", "a b", "a\nb",
        "'root'", "\"root\"", "a/b", "a\\b", "a?b", "root\t", "ü"}) {
    SCOPED_TRACE(name);
    EXPECT_FALSE(IsValidUserName(name));
  }
  EXPECT_TRUE(IsValidUserName(std::string(64, 'a')));
  EXPECT_FALSE(IsValidUserName(std::string(65, 'a')));
}

TEST(IsValidAlertId, AdmitsOssecFormsOnly) {
  for (const char* id : {"-", "1700000000.4567", "1700000000", "(from_the_server)"}) {
    SCOPED_TRACE(id);
    EXPECT_TRUE(IsValidAlertId(id));
  }
  for (const char* id :
       {"", "-x", "1.2.3", "5.6.7.8", ".5", "5.", "1 2", "1;2", "(Evil)", "()", "(a b)"}) {
    SCOPED_TRACE(id);
    EXPECT_FALSE(IsValidAlertId(id));
  }
}

TEST(IsValidIdWord, AdmitsDigitsAndPlaceholders) {
  EXPECT_TRUE(IsValidIdWord("-"));
  EXPECT_TRUE(IsValidIdWord("5712"));
  EXPECT_TRUE(IsValidIdWord("(no_rule_id)"));
  EXPECT_FALSE(IsValidIdWord(""));
  EXPECT_FALSE(IsValidIdWord("1.2"));
  EXPECT_FALSE(IsValidIdWord("-5"));
  EXPECT_FALSE(IsValidIdWord("1;2"));
}

TEST(IsValidTextArgument, RejectsControlCharacters) {
  EXPECT_TRUE(IsValidTextArgument("/var/log/auth.log"));
  EXPECT_TRUE(IsValidTextArgument("(web1) 10.0.0.5->/var/log/secure"));
  EXPECT_FALSE(IsValidTextArgument(""));
  EXPECT_FALSE(IsValidTextArgument("a\nb"));
  EXPECT_FALSE(IsValidTextArgument(std::string("a\0b", 3)));
  EXPECT_FALSE(IsValidTextArgument("a\x7f"));
  EXPECT_FALSE(IsValidTextArgument("a\xda b"));
  EXPECT_TRUE(IsValidTextArgument("/var/log/ünïcode.log"));
  EXPECT_FALSE(IsValidTextArgument(std::string(1025, 'a')));
}

TEST(EscapeForLog, KeepsOneLine) {
  EXPECT_EQ(EscapeForLog("plain"), "plain");
  EXPECT_EQ(EscapeForLog("a\nb'c"), "a\\x0ab\\x27c");
  EXPECT_EQ(EscapeForLog(std::string(100, 'x')), std::string(80, 'x') + "...");
}

}  // namespace
}  // namespace vigil::response
