#include "response/message.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace vigil::response {
namespace {

using Args = std::vector<std::string>;

ResponseTable Table() {
  std::vector<std::string> errors;
  return ResponseTable::Parse(
      "firewall-drop600 - firewall-drop - 600\nblock ssh - firewall-drop - 60\n", &errors);
}

ExecRequest ParseRequest(std::string_view text) {
  auto message = ParseExecMessage(text, Table());
  EXPECT_TRUE(message.ok()) << message.status().message();
  if (!message.ok() || !message->request) return {};
  return *message->request;
}

TEST(ParseExecMessage, ReadsOssecLocalMessage) {
  ExecRequest request =
      ParseRequest("firewall-drop600 - 1.2.3.4 1700000000.4567 5712 /var/log/auth.log -");
  EXPECT_EQ(request.name, "firewall-drop600");
  EXPECT_EQ(request.Arguments(),
            (Args{"add", "-", "1.2.3.4", "1700000000.4567", "5712", "/var/log/auth.log", "-"}));
  EXPECT_EQ(request.Key(), "1.2.3.4");
}

TEST(ParseExecMessage, KeepsAgentLocationAsOneArgument) {
  ExecRequest request = ParseRequest(
      "firewall-drop600 - 1.2.3.4 1700000000.4567 5712 (web1) 10.0.0.5->/var/log/secure (null)");
  EXPECT_EQ(request.location, "(web1) 10.0.0.5->/var/log/secure");
  EXPECT_EQ(request.filename, "(null)");
  EXPECT_EQ(request.Arguments().size(), 7u);
}

TEST(ParseExecMessage, ReadsAgentControlMessage) {
  ExecRequest request = ParseRequest("firewall-drop600 - 10.9.8.7 (from_the_server) (no_rule_id)");
  EXPECT_EQ(request.Arguments(),
            (Args{"add", "-", "10.9.8.7", "(from_the_server)", "(no_rule_id)"}));
}

TEST(ParseExecMessage, AcceptsNulAndNewlineEndings) {
  EXPECT_EQ(ParseRequest(std::string("firewall-drop600 - 1.2.3.4\0", 27)).srcip, "1.2.3.4");
  EXPECT_EQ(ParseRequest("firewall-drop600 - 1.2.3.4\n").srcip, "1.2.3.4");
  EXPECT_EQ(ParseRequest("firewall-drop600 - 1.2.3.4\r\n").Arguments(),
            (Args{"add", "-", "1.2.3.4"}));
}

TEST(ParseExecMessage, ReadsNamesWithSpaces) {
  ExecRequest request = ParseRequest("block ssh root 1.2.3.4");
  EXPECT_EQ(request.name, "block ssh");
  EXPECT_EQ(request.user, "root");
}

TEST(ParseExecMessage, NormalisesAddresses) {
  EXPECT_EQ(ParseRequest("firewall-drop600 - [::ffff:1.2.3.4]:22").srcip, "1.2.3.4");
  EXPECT_EQ(ParseRequest("firewall-drop600 - [2001:DB8::1]:22").srcip, "2001:db8::1");
}

TEST(ParseExecMessage, ReadsWazuhJson) {
  ExecRequest request = ParseRequest(R"({"version":1,"command":"firewall-drop600",
      "parameters":{"extra_args":[],"alert":{"id":"1700000000.1","rule":{"id":"5712",
      "level":10},"data":{"srcip":"::ffff:10.0.0.1","dstuser":"root"},
      "location":"/var/log/auth.log"}}})");
  EXPECT_EQ(request.action, Action::kAdd);
  EXPECT_EQ(request.Arguments(),
            (Args{"add", "root", "10.0.0.1", "1700000000.1", "5712", "/var/log/auth.log", "-"}));
  EXPECT_EQ(request.rule_level, 10);
}

TEST(ParseExecMessage, AcceptsNumericRuleIdAndDeleteAction) {
  ExecRequest request = ParseRequest(
      R"({"command":"firewall-drop600","action":"delete","parameters":{"alert":{"rule":{"id":5712},"data":{"srcip":"1.2.3.4"}}}})");
  EXPECT_EQ(request.action, Action::kDelete);
  EXPECT_EQ(request.rule_id, "5712");
}

TEST(ParseExecMessage, RoundTripsItsOwnJson) {
  ExecRequest request;
  request.name = "block ssh";
  request.user = "root";
  request.srcip = "2001:db8::1";
  request.alert_id = "1.2";
  request.rule_id = "5712";
  request.location = "(web1) 10.0.0.5->/var/log/secure";
  request.filename = "/etc/passwd";
  request.rule_groups = {"sshd", "authentication_failed"};
  ExecRequest parsed = ParseRequest(request.ToExecqJson());
  EXPECT_EQ(parsed.name, request.name);
  EXPECT_EQ(parsed.Arguments(), request.Arguments());
}

TEST(ParseExecMessage, ReadsUnblockControl) {
  auto message =
      ParseExecMessage(R"({"version":1,"control":"unblock","srcip":"[::1]:5"})", Table());
  ASSERT_TRUE(message.ok()) << message.status().message();
  ASSERT_TRUE(message->control);
  EXPECT_EQ(message->control->srcip, "::1");
}

TEST(ParseExecMessage, RejectsInvalidMessages) {
  const char* cases[] = {
      "",
      "\n",
      " firewall-drop600 - 1.2.3.4",
      "firewall-drop600",
      "firewall-drop600 -",
      "firewall-drop600 - 1.2.3.4 5.6.7.8",
      "firewall-drop600 - 1.2.3.4;reboot",
      "firewall-drop600 - $(reboot)",
      "firewall-drop600 root;reboot 1.2.3.4",
      "firewall-drop600 -rf 1.2.3.4",
      "firewall-drop600  1.2.3.4",
      "firewall-drop600 - 1.2.3.4 1;2 5712",
      "firewall-drop600 - 1.2.3.4 1.2 5712 /var/log/a\nb -",
      "{",
      "[1,2]",
      R"({"command":5})",
      R"({"parameters":{}})",
      R"({"command":"x","action":"kill"})",
      R"({"command":"x","parameters":{"alert":{"data":{"srcip":"1.2.3.4 5.6.7.8"}}}})",
      R"({"command":"x","parameters":{"alert":{"data":{"dstuser":"a\nb"}}}})",
      R"({"command":"x","parameters":{"alert":{"location":"a\u0000b"}}})",
      R"({"control":"reboot","srcip":"1.2.3.4"})",
      R"({"control":"unblock","srcip":"1.2.3.4;x"})",
  };
  for (const char* text : cases) {
    SCOPED_TRACE(text);
    EXPECT_FALSE(ParseExecMessage(text, Table()).ok());
  }
  EXPECT_FALSE(ParseExecMessage(std::string(kMaxMessageBytes + 1, 'a'), Table()).ok());
}

TEST(ExecRequest, ProgramJsonHasWazuhShape) {
  ExecRequest request;
  request.name = "firewall-drop600";
  request.srcip = "1.2.3.4";
  request.rule_id = "5712";
  request.action = Action::kDelete;
  auto json = nlohmann::json::parse(request.ToProgramJson("/resp/firewall-drop"));
  EXPECT_EQ(json["version"], 1);
  EXPECT_EQ(json["command"], "delete");
  EXPECT_EQ(json["parameters"]["program"], "/resp/firewall-drop");
  EXPECT_EQ(json["parameters"]["alert"]["data"]["srcip"], "1.2.3.4");
  EXPECT_EQ(json["parameters"]["alert"]["rule"]["id"], "5712");
  EXPECT_FALSE(json["parameters"]["alert"]["data"].contains("dstuser"));
}

TEST(ExecRequest, KeyPrefersAddressThenUser) {
  ExecRequest request;
  request.user = "root";
  EXPECT_EQ(request.Key(), "user:root");
  request.srcip = "1.2.3.4";
  EXPECT_EQ(request.Key(), "1.2.3.4");
}

}  // namespace
}  // namespace vigil::response
