#include "response/responder.h"

#include <gtest/gtest.h>

#include "response/test_support.h"

namespace vigil::response {
namespace {

using std::chrono::milliseconds;

config::ActiveResponseConfig Response(std::optional<int> level, std::vector<int> ids,
                                      std::vector<std::string> groups) {
  config::ActiveResponseConfig response;
  response.command = "drop";
  response.level = level;
  response.rules_id = std::move(ids);
  response.rules_group = std::move(groups);
  return response;
}

AlertFacts Alert(int rule_id, int level, std::vector<std::string> groups) {
  AlertFacts alert;
  alert.rule_id = rule_id;
  alert.level = level;
  alert.groups = std::move(groups);
  alert.srcip = "192.0.2.10";
  return alert;
}

TEST(IsBound, MatchesLevelIdOrWholeGroup) {
  EXPECT_TRUE(IsBound(Response(6, {}, {}), Alert(5712, 10, {})));
  EXPECT_TRUE(IsBound(Response(6, {}, {}), Alert(5712, 6, {})));
  EXPECT_FALSE(IsBound(Response(6, {}, {}), Alert(5712, 5, {})));
  EXPECT_TRUE(IsBound(Response(std::nullopt, {5710, 5712}, {}), Alert(5712, 1, {})));
  EXPECT_FALSE(IsBound(Response(std::nullopt, {5710}, {}), Alert(5712, 15, {})));
  EXPECT_TRUE(IsBound(Response(std::nullopt, {}, {"sshd"}), Alert(1, 3, {"syslog", "sshd"})));
  // Whole names: OSSEC's substring match would have bound "pam" to "pam_unix".
  EXPECT_FALSE(IsBound(Response(std::nullopt, {}, {"pam"}), Alert(1, 3, {"pam_unix"})));
  EXPECT_FALSE(IsBound(Response(std::nullopt, {}, {}), Alert(1, 15, {"sshd"})));
}

TEST(IsBound, SkipsLevelZeroNoArAndDisabled) {
  EXPECT_FALSE(IsBound(Response(0, {5712}, {"sshd"}), Alert(5712, 0, {"sshd"})));
  AlertFacts no_ar = Alert(5712, 10, {});
  no_ar.no_ar = true;
  EXPECT_FALSE(IsBound(Response(6, {5712}, {}), no_ar));
  config::ActiveResponseConfig disabled = Response(6, {}, {});
  disabled.disabled = true;
  EXPECT_FALSE(IsBound(disabled, Alert(5712, 10, {})));
}

class ResponderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_ = testing::MakeConfig(dir_.path(), dir_.path());
    auto socket = DatagramSocket::Bind(dir_.path() + "/execq");
    ASSERT_TRUE(socket.ok()) << socket.status().message();
    execq_ = std::move(*socket);
    auto sink = ExecqSink::Create(execq_.path());
    ASSERT_TRUE(sink.ok());
    sink_ = std::move(*sink);
    auto log = ActionLog::Open(dir_.path() + "/actions.log", &clock_);
    ASSERT_TRUE(log.ok());
    log_ = std::move(*log);
  }

  std::unique_ptr<Responder> Make() {
    auto responder = Responder::Create(config_, sink_.get(), log_.get());
    EXPECT_TRUE(responder.ok()) << responder.status().message();
    return responder.ok() ? std::move(*responder) : nullptr;
  }

  // Returns the request in the next datagram, or nothing within 200 ms.
  std::optional<ExecRequest> Received() {
    std::string payload, sender;
    if (!execq_.Receive(&payload, &sender, kMaxMessageBytes, milliseconds(200)).ok()) {
      return std::nullopt;
    }
    std::vector<std::string> errors;
    auto message = ParseExecMessage(payload, ResponseTable());
    EXPECT_TRUE(message.ok()) << message.status().message();
    if (!message.ok() || !message->request) return std::nullopt;
    return *message->request;
  }

  testing::TempDir dir_;
  ManualClock clock_;
  config::Config config_;
  DatagramSocket execq_;
  std::unique_ptr<ExecqSink> sink_;
  std::unique_ptr<ActionLog> log_;
};

TEST_F(ResponderTest, SendsValidatedRequest) {
  testing::AddResponse(&config_, "drop", "firewall-drop", true, false, 600);
  auto responder = Make();
  ASSERT_NE(responder, nullptr);
  AlertFacts alert = Alert(5712, 10, {"sshd"});
  alert.srcip = "[::ffff:192.0.2.10]:51234";
  alert.user = "root";  // not expected by the command, so it is sent as "-"
  alert.alert_id = "1700000000.4567";
  alert.location = "/var/log/auth.log";
  auto decisions = responder->OnAlert(alert);
  ASSERT_EQ(decisions.size(), 1u);
  EXPECT_TRUE(decisions[0].sent) << decisions[0].reason;
  auto request = Received();
  ASSERT_TRUE(request);
  EXPECT_EQ(request->name, "drop600");
  EXPECT_EQ(request->Arguments(),
            (std::vector<std::string>{"add", "-", "192.0.2.10", "1700000000.4567", "5712",
                                      "/var/log/auth.log", "-"}));
  EXPECT_EQ(responder->counters().sent, 1u);
}

TEST_F(ResponderTest, SkipsAllowListedAndInvalidValues) {
  testing::AddResponse(&config_, "drop", "firewall-drop", true, false, 600);
  testing::AddResponse(&config_, "lock", "disable-account", false, true, 600);
  config_.global.allow_list = {"192.0.2.0/24", "2001:db8::/32", "::ffff:198.51.100.7"};
  auto responder = Make();
  ASSERT_NE(responder, nullptr);
  const struct {
    const char* srcip;
    const char* user;
    bool drop_sent;
    bool lock_sent;
  } cases[] = {
      {"192.0.2.99", "root", false, true},
      {"::ffff:192.0.2.99", "root", false, true},
      {"[2001:db8::7]:22", "root", false, true},
      {"198.51.100.7", "root", false, true},
      {"203.0.113.5", "root;reboot", true, false},
      {"203.0.113.5 198.51.100.1", "$(reboot)", false, false},
      {"", "", false, false},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(std::string(c.srcip) + " / " + c.user);
    AlertFacts alert = Alert(5712, 10, {});
    alert.srcip = c.srcip;
    alert.user = c.user;
    auto decisions = responder->OnAlert(alert);
    ASSERT_EQ(decisions.size(), 2u);
    EXPECT_EQ(decisions[0].sent, c.drop_sent) << decisions[0].reason;
    EXPECT_EQ(decisions[1].sent, c.lock_sent) << decisions[1].reason;
    const int expected = (c.drop_sent ? 1 : 0) + (c.lock_sent ? 1 : 0);
    for (int i = 0; i < expected; ++i) EXPECT_TRUE(Received());
    EXPECT_FALSE(Received()) << "more requests were sent than decided";
  }
  auto records = ReadActionLog(dir_.path() + "/actions.log", 0, nullptr);
  ASSERT_TRUE(records.ok());
  ASSERT_EQ(records->size(), 14u);
  EXPECT_EQ((*records)[0].event, "skipped");
  EXPECT_NE((*records)[0].reason.find("allow list (192.0.2.0/24)"), std::string::npos)
      << (*records)[0].reason;
}

TEST_F(ResponderTest, SkipsAgentEventsForLocalResponses) {
  testing::AddResponse(&config_, "drop", "firewall-drop", true, false, 600);
  testing::AddResponse(&config_, "server-drop", "firewall-drop", true, false, 600).locations =
      static_cast<unsigned>(config::ResponseLocation::kServer);
  auto responder = Make();
  ASSERT_NE(responder, nullptr);
  AlertFacts alert = Alert(5712, 10, {});
  alert.agent_id = "007";
  auto decisions = responder->OnAlert(alert);
  ASSERT_EQ(decisions.size(), 2u);
  EXPECT_FALSE(decisions[0].sent);
  EXPECT_NE(decisions[0].reason.find("agent 007"), std::string::npos) << decisions[0].reason;
  EXPECT_TRUE(decisions[1].sent);
}

TEST_F(ResponderTest, ReportsUnreachableExecd) {
  testing::AddResponse(&config_, "drop", "firewall-drop", true, false, 600);
  auto sink = ExecqSink::Create(dir_.path() + "/missing-socket");
  ASSERT_TRUE(sink.ok());
  auto responder = Responder::Create(config_, sink->get(), log_.get());
  ASSERT_TRUE(responder.ok());
  auto decisions = (*responder)->OnAlert(Alert(5712, 10, {}));
  ASSERT_EQ(decisions.size(), 1u);
  EXPECT_FALSE(decisions[0].sent);
  EXPECT_EQ((*responder)->counters().send_errors, 1u);
}

TEST_F(ResponderTest, RejectsUnknownCommand) {
  testing::AddResponse(&config_, "drop", "firewall-drop", true, false, 600).command = "nope";
  auto responder = Responder::Create(config_, sink_.get(), log_.get());
  ASSERT_FALSE(responder.ok());
  EXPECT_NE(responder.status().message().find("'nope'"), std::string::npos);
}

}  // namespace
}  // namespace vigil::response
