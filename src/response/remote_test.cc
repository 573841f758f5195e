#include "response/remote.h"

#include <gtest/gtest.h>

#include <functional>
#include <mutex>
#include <thread>

#include "common/file.h"
#include "response/agent_blocks.h"
#include "response/execd.h"
#include "response/responder.h"
#include "response/test_support.h"

namespace vigil::response {
namespace {

using config::ResponseLocation;
using std::chrono::milliseconds;
using Args = std::vector<std::string>;

unsigned Locations(std::initializer_list<ResponseLocation> bits) {
  unsigned out = 0;
  for (ResponseLocation bit : bits) out |= static_cast<unsigned>(bit);
  return out;
}

AlertFacts EventFrom(std::string agent_id) {
  AlertFacts alert;
  alert.rule_id = 5712;
  alert.level = 10;
  alert.srcip = "203.0.113.9";
  alert.agent_id = std::move(agent_id);
  return alert;
}

TEST(RouteResponse, FollowsEachLocation) {
  struct Case {
    const char* name;
    unsigned locations;
    std::string defined_agent;
    std::string event_agent;
    bool this_host;
    bool all_agents;
    Args agents;
  };
  const Case cases[] = {
      {"server", Locations({ResponseLocation::kServer}), "", "002", true, false, {}},
      {"local event, local", Locations({ResponseLocation::kLocal}), "", "", true, false, {}},
      {"local 000 event", Locations({ResponseLocation::kLocal}), "", "000", true, false, {}},
      {"agent event, local", Locations({ResponseLocation::kLocal}), "", "002", false, false,
       {"002"}},
      {"no location is local", 0, "", "003", false, false, {"003"}},
      {"defined-agent", Locations({ResponseLocation::kDefinedAgent}), "005", "002", false, false,
       {"005"}},
      {"defined-agent 000", Locations({ResponseLocation::kDefinedAgent}), "000", "002", true,
       false, {}},
      {"all", Locations({ResponseLocation::kAll}), "", "002", true, true, {}},
      {"local and server", Locations({ResponseLocation::kLocal, ResponseLocation::kServer}), "",
       "002", true, false, {"002"}},
      {"local and defined-agent, same agent",
       Locations({ResponseLocation::kLocal, ResponseLocation::kDefinedAgent}), "002", "002",
       false, false, {"002"}},
      {"local and defined-agent, two agents",
       Locations({ResponseLocation::kLocal, ResponseLocation::kDefinedAgent}), "001", "002",
       false, false, {"002", "001"}},
      {"all and defined-agent", Locations({ResponseLocation::kAll, ResponseLocation::kDefinedAgent}),
       "001", "002", true, true, {}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    config::ActiveResponseConfig response;
    response.locations = c.locations;
    response.agent_id = c.defined_agent;
    const ResponseRoute route = RouteResponse(response, EventFrom(c.event_agent));
    EXPECT_EQ(route.this_host, c.this_host);
    EXPECT_EQ(route.all_agents, c.all_agents);
    EXPECT_EQ(route.agents, c.agents);
  }
}

AgentCommand SampleCommand() {
  AgentCommand command;
  command.entry.name = "ssh block";
  command.entry.executable = "firewall-drop";
  command.entry.timeout_seconds = 600;
  command.entry.options.expect_srcip = true;
  command.entry.options.refresh_on_extend = true;
  command.entry.options.repeated_offenders_minutes = {30, 60};
  command.request.name = "ssh block";
  command.request.srcip = "2001:db8::7";
  command.request.alert_id = "1700000000.1";
  command.request.rule_id = "5712";
  command.request.location = "(web1) 192.0.2.1->/var/log/auth.log";
  command.request.agent_id = "001";
  return command;
}

TEST(AgentCommandCodec, RoundTripsRequestAndEntry) {
  const AgentCommand sent = SampleCommand();
  auto received = DecodeAgentCommand(EncodeAgentCommand(sent));
  ASSERT_TRUE(received.ok()) << received.status().message();
  EXPECT_EQ(received->entry, sent.entry);
  EXPECT_TRUE(received->entry.options.expect_srcip);
  EXPECT_TRUE(received->entry.options.refresh_on_extend);
  EXPECT_EQ(received->entry.options.repeated_offenders_minutes, (std::vector<int>{30, 60}));
  EXPECT_EQ(received->request.Arguments(), sent.request.Arguments());
  EXPECT_EQ(received->request.agent_id, "001");
}

TEST(AgentCommandCodec, KeepsAgentControlWordCount) {
  AgentCommand sent = SampleCommand();
  sent.request.alert_id = "(from_the_server)";
  sent.request.rule_id = "(no_rule_id)";
  sent.request.extra_words = 2;
  auto received = DecodeAgentCommand(EncodeAgentCommand(sent));
  ASSERT_TRUE(received.ok()) << received.status().message();
  EXPECT_EQ(received->request.Arguments(),
            (Args{"add", "-", "2001:db8::7", "(from_the_server)", "(no_rule_id)"}));
}

TEST(AgentCommandCodec, RejectsInvalidCommands) {
  struct Case {
    const char* name;
    std::function<void(AgentCommand*)> change;
    const char* error;
  };
  const Case cases[] = {
      {"path as executable", [](AgentCommand* c) { c->entry.executable = "../bin/sh"; },
       "invalid executable"},
      {"other response's request", [](AgentCommand* c) { c->request.name = "other"; },
       "names response 'other'"},
      {"negative timeout", [](AgentCommand* c) { c->entry.timeout_seconds = -5; },
       "out of range"},
      {"shell in address", [](AgentCommand* c) { c->request.srcip = "1.2.3.4;id"; },
       "1.2.3.4;id"},
      {"offender minutes zero",
       [](AgentCommand* c) { c->entry.options.repeated_offenders_minutes = {0}; },
       "repeated_offenders"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    AgentCommand command = SampleCommand();
    c.change(&command);
    auto decoded = DecodeAgentCommand(EncodeAgentCommand(command));
    ASSERT_FALSE(decoded.ok());
    EXPECT_NE(decoded.status().message().find(c.error), std::string::npos)
        << decoded.status().message();
  }
  EXPECT_FALSE(DecodeAgentCommand("not json").ok());
  EXPECT_FALSE(DecodeAgentCommand(R"({"version":2,"response":{},"request":{}})").ok());
}

// An AgentSink that records what the Responder queues, standing in for the agent link.
class RecordingAgentSink final : public AgentSink {
 public:
  Expected<size_t> Send(const AgentResponse& response) override {
    std::lock_guard lock(mu_);
    if (response.agent_id == "404") return Status::NotFound("agent 404 is not enrolled");
    sent.push_back(response);
    return response.agent_id.empty() ? size_t{2} : size_t{1};
  }
  std::mutex mu_;
  std::vector<AgentResponse> sent;
};

class ResponderRoutingTest : public ::testing::Test {
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

  std::vector<Decision> Fire(unsigned locations, const std::string& defined_agent,
                             const AlertFacts& alert, AgentSink* agents) {
    config::ActiveResponseConfig& response =
        testing::AddResponse(&config_, "drop", "recorder", true, false, 600);
    response.locations = locations;
    response.agent_id = defined_agent;
    auto responder = Responder::Create(config_, sink_.get(), log_.get(), agents);
    EXPECT_TRUE(responder.ok()) << responder.status().message();
    return responder.ok() ? (*responder)->OnAlert(alert) : std::vector<Decision>{};
  }

  size_t DatagramsHere() {
    size_t count = 0;
    std::string payload, sender;
    while (execq_.Receive(&payload, &sender, kMaxMessageBytes, milliseconds(100)).ok()) ++count;
    return count;
  }

  std::vector<ActionRecord> Actions() {
    auto records = ReadActionLog(dir_.path() + "/actions.log", 0, nullptr);
    return records.ok() ? *records : std::vector<ActionRecord>{};
  }

  testing::TempDir dir_;
  ManualClock clock_;
  config::Config config_;
  DatagramSocket execq_;
  std::unique_ptr<ExecqSink> sink_;
  std::unique_ptr<ActionLog> log_;
};

TEST_F(ResponderRoutingTest, LocalAgentEventGoesToThatAgentOnly) {
  RecordingAgentSink agents;
  auto decisions = Fire(Locations({ResponseLocation::kLocal}), "", EventFrom("002"), &agents);
  ASSERT_EQ(decisions.size(), 1u);
  EXPECT_TRUE(decisions[0].sent);
  EXPECT_EQ(DatagramsHere(), 0u);
  ASSERT_EQ(agents.sent.size(), 1u);
  EXPECT_EQ(agents.sent[0].agent_id, "002");
  EXPECT_EQ(agents.sent[0].command.request.srcip, "203.0.113.9");
  EXPECT_EQ(agents.sent[0].command.entry.executable, "recorder");
  EXPECT_EQ(agents.sent[0].command.entry.timeout_seconds, 600);
  auto actions = Actions();
  ASSERT_EQ(actions.size(), 1u);
  EXPECT_EQ(actions[0].event, "sent");
  EXPECT_EQ(actions[0].agent_id, "002");
  EXPECT_EQ(actions[0].reason, "sent to agent 002");
}

TEST_F(ResponderRoutingTest, AllRunsHereAndOnEveryAgent) {
  RecordingAgentSink agents;
  auto decisions = Fire(Locations({ResponseLocation::kAll}), "", EventFrom("002"), &agents);
  ASSERT_EQ(decisions.size(), 1u);
  EXPECT_TRUE(decisions[0].sent);
  EXPECT_EQ(DatagramsHere(), 1u);
  ASSERT_EQ(agents.sent.size(), 1u);
  EXPECT_EQ(agents.sent[0].agent_id, "");
  auto actions = Actions();
  ASSERT_EQ(actions.size(), 2u);
  EXPECT_EQ(actions[0].event, "decided");
  EXPECT_EQ(actions[1].event, "sent");
  EXPECT_EQ(actions[1].reason, "sent to every agent (2)");
}

TEST_F(ResponderRoutingTest, AllowListStopsEveryDestination) {
  config_.global.allow_list = {"203.0.113.0/24"};
  RecordingAgentSink agents;
  auto decisions = Fire(Locations({ResponseLocation::kAll}), "", EventFrom("002"), &agents);
  ASSERT_EQ(decisions.size(), 1u);
  EXPECT_FALSE(decisions[0].sent);
  EXPECT_EQ(DatagramsHere(), 0u);
  EXPECT_TRUE(agents.sent.empty());
  auto actions = Actions();
  ASSERT_EQ(actions.size(), 1u);
  EXPECT_EQ(actions[0].event, "skipped");
}

TEST_F(ResponderRoutingTest, UnknownDefinedAgentIsRecordedAsFailed) {
  RecordingAgentSink agents;
  auto decisions =
      Fire(Locations({ResponseLocation::kDefinedAgent}), "404", EventFrom(""), &agents);
  ASSERT_EQ(decisions.size(), 1u);
  EXPECT_FALSE(decisions[0].sent);
  auto actions = Actions();
  ASSERT_EQ(actions.size(), 1u);
  EXPECT_EQ(actions[0].event, "failed");
  EXPECT_EQ(actions[0].reason, "cannot send to agent 404: agent 404 is not enrolled");
}

TEST_F(ResponderRoutingTest, HostWithoutAgentsSkipsAgentResponses) {
  auto decisions = Fire(Locations({ResponseLocation::kLocal}), "", EventFrom("002"), nullptr);
  ASSERT_EQ(decisions.size(), 1u);
  EXPECT_FALSE(decisions[0].sent);
  EXPECT_NE(decisions[0].reason.find("accepts no agents"), std::string::npos)
      << decisions[0].reason;
  // `all` on a host without agents still runs here.
  config_ = testing::MakeConfig(dir_.path(), dir_.path());
  decisions = Fire(Locations({ResponseLocation::kAll}), "", EventFrom(""), nullptr);
  ASSERT_EQ(decisions.size(), 1u);
  EXPECT_TRUE(decisions[0].sent);
  EXPECT_EQ(DatagramsHere(), 1u);
}

// The agent's side: commands from a manager run through a real execd.
class AgentExecdTest : public ::testing::Test {
 protected:
  void SetUp() override {
    bin_ = dir_.path() + "/bin";
    state_ = dir_.path() + "/state";
    ASSERT_TRUE(MakeDirectories(bin_).ok());
    testing::WriteRecorder(bin_, "recorder");
    testing::WriteRecorder(bin_, "failing", 3);
    // The agent's own configuration defines no responses: they all come from the manager.
    config_ = testing::MakeConfig(state_, bin_);
    ExecdOptions options;
    options.state_dir = state_;
    options.responses_dir = bin_;
    options.write_table = false;
    options.clock = &clock_;
    options.on_timed_undo = [this](const PendingEntry& entry, const SubmitResult& result) {
      std::lock_guard lock(undo_mu_);
      undone_.emplace_back(entry, result);
    };
    auto execd = Execd::Start(config_, options);
    ASSERT_TRUE(execd.ok()) << execd.status().message();
    execd_ = std::move(*execd);
  }

  AgentCommand Command(const std::string& executable, int timeout_seconds) {
    AgentCommand command;
    command.entry.name = "block";
    command.entry.executable = executable;
    command.entry.timeout_seconds = timeout_seconds;
    command.entry.options.expect_srcip = true;
    command.request.name = "block";
    command.request.srcip = "198.51.100.4";
    command.request.alert_id = "1700000000.1";
    command.request.rule_id = "5712";
    return command;
  }

  AgentOutcome Run(const std::string& action, const std::string& payload,
                   const Args& arguments = {}, const AgentCommandOrigin& origin = {}) {
    return RunAgentCommand(*execd_, allow_list_, action, arguments, payload, milliseconds(10'000),
                           origin, &clock_);
  }

  std::vector<std::pair<PendingEntry, SubmitResult>> Undone() {
    std::lock_guard lock(undo_mu_);
    return undone_;
  }

  bool WaitForRuns(size_t count) {
    for (int i = 0; i < 1000; ++i) {
      if (testing::ReadRuns(bin_, "recorder").size() >= count) return true;
      std::this_thread::sleep_for(milliseconds(10));
    }
    return false;
  }

  int64_t NowMs() {
    return std::chrono::duration_cast<milliseconds>(clock_.Now().time_since_epoch()).count();
  }

  testing::TempDir dir_;
  std::string bin_, state_;
  ManualClock clock_;
  config::Config config_;
  AllowList allow_list_;
  // Declared before execd_, whose workers may still report an undo while it stops.
  std::mutex undo_mu_;
  std::vector<std::pair<PendingEntry, SubmitResult>> undone_;
  std::unique_ptr<Execd> execd_;
};

// A response that waited for an offline agent ends when it would have ended had the agent been
// online, and the timed delete is handed to on_timed_undo with the manager's response id.
TEST_F(AgentExecdTest, LateResponseKeepsOriginalEnd) {
  AgentOutcome outcome =
      Run("add", EncodeAgentCommand(Command("recorder", 600)), {}, AgentCommandOrigin{42, 100});
  EXPECT_EQ(outcome.kind, AgentOutcome::Kind::kExecuted) << outcome.detail;
  EXPECT_EQ(outcome.undo_at_ms, NowMs() + 100'000);
  const std::vector<PendingEntry> pending = execd_->Pending();
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_EQ(pending[0].request.origin_id, 42u);
  EXPECT_EQ(pending[0].added_ms, NowMs() - 500'000);
  EXPECT_TRUE(Undone().empty());

  clock_.Advance(std::chrono::seconds(101));
  execd_->Wake();
  ASSERT_TRUE(WaitForRuns(2));
  for (int i = 0; i < 500 && Undone().empty(); ++i) std::this_thread::sleep_for(milliseconds(10));
  const auto undone = Undone();
  ASSERT_EQ(undone.size(), 1u);
  EXPECT_EQ(undone[0].first.request.origin_id, 42u);
  EXPECT_EQ(undone[0].second.event, "undone");
  EXPECT_EQ(undone[0].second.exit_status, 0);

  // A delete asked for by a message is not a timed undo.
  ASSERT_EQ(Run("add", EncodeAgentCommand(Command("recorder", 600))).kind,
            AgentOutcome::Kind::kExecuted);
  ASSERT_EQ(Run("delete", EncodeAgentCommand(Command("recorder", 600))).kind,
            AgentOutcome::Kind::kExecuted);
  ASSERT_TRUE(WaitForRuns(4));
  EXPECT_EQ(Undone().size(), 1u);
}

TEST_F(AgentExecdTest, PendingDeleteKeepsItsOriginAcrossRestart) {
  ASSERT_EQ(Run("add", EncodeAgentCommand(Command("recorder", 600)), {}, {77, 0}).kind,
            AgentOutcome::Kind::kExecuted);
  execd_.reset();
  ExecdOptions options;
  options.state_dir = state_;
  options.responses_dir = bin_;
  options.write_table = false;
  options.clock = &clock_;
  auto restarted = Execd::Start(config_, options);
  ASSERT_TRUE(restarted.ok()) << restarted.status().message();
  ASSERT_EQ((*restarted)->Pending().size(), 1u);
  EXPECT_EQ((*restarted)->Pending()[0].request.origin_id, 77u);
  (*restarted)->Stop();
}

TEST_F(AgentExecdTest, RunsAdoptedResponseAndUndoesIt) {
  AgentOutcome outcome = Run("add", EncodeAgentCommand(Command("recorder", 600)));
  EXPECT_EQ(outcome.kind, AgentOutcome::Kind::kExecuted) << outcome.detail;
  EXPECT_EQ(outcome.exit_status, 0);
  EXPECT_EQ(outcome.undo_at_ms, NowMs() + 600'000);
  auto table = ReadFile(execd_->paths().table);
  ASSERT_TRUE(table.ok());
  EXPECT_EQ(*table, "block - recorder - 600\n");
  auto runs = testing::ReadRuns(bin_, "recorder");
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].args, (Args{"add", "-", "198.51.100.4", "1700000000.1", "5712", "-", "-"}));

  // A repeat while the block is pending extends it and runs nothing.
  clock_.Advance(std::chrono::seconds(100));
  outcome = Run("add", EncodeAgentCommand(Command("recorder", 600)));
  EXPECT_EQ(outcome.kind, AgentOutcome::Kind::kExecuted);
  EXPECT_EQ(outcome.detail.rfind("extended: ", 0), 0u) << outcome.detail;
  EXPECT_EQ(outcome.undo_at_ms, NowMs() + 600'000);
  EXPECT_EQ(testing::ReadRuns(bin_, "recorder").size(), 1u);

  clock_.Advance(std::chrono::seconds(601));
  execd_->Wake();
  ASSERT_TRUE(WaitForRuns(2));
  EXPECT_EQ(testing::ReadRuns(bin_, "recorder")[1].args[0], "delete");
}

TEST_F(AgentExecdTest, EscalatesRepeatedOffender) {
  AgentCommand command = Command("recorder", 60);
  command.entry.options.repeated_offenders_minutes = {10, 30};
  ASSERT_EQ(Run("add", EncodeAgentCommand(command)).kind, AgentOutcome::Kind::kExecuted);
  AgentOutcome second = Run("add", EncodeAgentCommand(command));
  EXPECT_EQ(second.kind, AgentOutcome::Kind::kExecuted);
  EXPECT_EQ(second.detail.rfind("escalated: offence 2", 0), 0u) << second.detail;
  EXPECT_EQ(second.undo_at_ms, NowMs() + 10 * 60'000);
  AgentOutcome third = Run("add", EncodeAgentCommand(command));
  EXPECT_EQ(third.undo_at_ms, NowMs() + 30 * 60'000);
  EXPECT_EQ(testing::ReadRuns(bin_, "recorder").size(), 1u);
  const std::vector<PendingEntry> pending = execd_->Pending();
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_EQ(pending[0].timeout_seconds, 30 * 60);
}

TEST_F(AgentExecdTest, ReportsFailureSkipAndAllowList) {
  AgentOutcome failed = Run("add", EncodeAgentCommand(Command("failing", 0)));
  EXPECT_EQ(failed.kind, AgentOutcome::Kind::kFailed);
  EXPECT_EQ(failed.exit_status, 3);
  EXPECT_EQ(failed.undo_at_ms, 0);

  AgentCommand missing = Command("recorder", 0);
  missing.request.srcip = "-";
  AgentOutcome skipped = Run("add", EncodeAgentCommand(missing));
  EXPECT_EQ(skipped.kind, AgentOutcome::Kind::kSkipped);
  EXPECT_NE(skipped.detail.find("needs a source address"), std::string::npos) << skipped.detail;

  std::vector<std::string> ignored;
  allow_list_ = AllowList::FromEntries({"198.51.100.0/24"}, &ignored);
  AgentOutcome allowed = Run("add", EncodeAgentCommand(Command("recorder", 0)));
  EXPECT_EQ(allowed.kind, AgentOutcome::Kind::kSkipped);
  EXPECT_NE(allowed.detail.find("allow list"), std::string::npos) << allowed.detail;
  EXPECT_TRUE(testing::ReadRuns(bin_, "recorder").empty());

  AgentOutcome garbage = Run("add", "{}");
  EXPECT_EQ(garbage.kind, AgentOutcome::Kind::kSkipped);
}

TEST_F(AgentExecdTest, UnblockUndoesPendingBlock) {
  ASSERT_EQ(Run("add", EncodeAgentCommand(Command("recorder", 600))).kind,
            AgentOutcome::Kind::kExecuted);
  AgentOutcome outcome = Run("unblock", "", {"198.51.100.4"});
  EXPECT_EQ(outcome.kind, AgentOutcome::Kind::kExecuted);
  EXPECT_EQ(outcome.detail, "undone: block 198.51.100.4");
  ASSERT_TRUE(WaitForRuns(2));
  EXPECT_EQ(testing::ReadRuns(bin_, "recorder")[1].args[0], "delete");
  EXPECT_TRUE(execd_->Pending().empty());
  outcome = Run("unblock", "", {"198.51.100.4"});
  EXPECT_EQ(outcome.detail, "nothing was blocked for 198.51.100.4");
}

TEST(AgentBlockTable, RemoveUndoneKeepsLaterBlocks) {
  testing::TempDir dir;
  ManualClock clock;
  const int64_t now_ms =
      std::chrono::duration_cast<milliseconds>(clock.Now().time_since_epoch()).count();
  const std::string path = dir.path() + "/response/agent-blocks.json";
  auto table = AgentBlockTable::Open(path, &clock);
  ASSERT_TRUE(table.ok()) << table.status().message();
  (*table)->Set({"001", "block", "192.0.2.7", now_ms + 60'000});
  (*table)->Set({"001", "other", "192.0.2.7", now_ms + 60'000});
  // An undo of an earlier due time leaves a block that was renewed since.
  EXPECT_FALSE((*table)->RemoveUndone("001", "block", "192.0.2.7", now_ms + 30'000));
  EXPECT_FALSE((*table)->RemoveUndone("002", "block", "192.0.2.7", now_ms + 60'000));
  EXPECT_TRUE((*table)->RemoveUndone("001", "block", "192.0.2.7", now_ms + 60'000));
  auto blocks = ReadAgentBlocks(path, now_ms);
  ASSERT_TRUE(blocks.ok());
  ASSERT_EQ(blocks->size(), 1u);
  EXPECT_EQ((*blocks)[0].response, "other");
}

TEST(AgentBlockTable, KeepsLatestBlockUntilItsTime) {
  testing::TempDir dir;
  ManualClock clock;
  const int64_t now_ms =
      std::chrono::duration_cast<milliseconds>(clock.Now().time_since_epoch()).count();
  const std::string path = dir.path() + "/response/agent-blocks.json";
  auto table = AgentBlockTable::Open(path, &clock);
  ASSERT_TRUE(table.ok()) << table.status().message();
  (*table)->Set({"001", "block", "192.0.2.7", now_ms + 60'000});
  (*table)->Set({"002", "block", "192.0.2.7", now_ms + 30'000});
  (*table)->Set({"001", "block", "192.0.2.7", now_ms + 90'000});
  auto blocks = ReadAgentBlocks(path, now_ms);
  ASSERT_TRUE(blocks.ok()) << blocks.status().message();
  ASSERT_EQ(blocks->size(), 2u);
  EXPECT_EQ((*blocks)[0].agent_id, "002");
  EXPECT_EQ((*blocks)[1].undo_at_ms, now_ms + 90'000);
  EXPECT_EQ((*table)->RemoveKey("002", "192.0.2.7"), 1u);
  clock.Advance(std::chrono::seconds(100));
  EXPECT_TRUE((*table)->List().empty());
  auto reopened = AgentBlockTable::Open(path, &clock);
  ASSERT_TRUE(reopened.ok());
  EXPECT_EQ(ReadAgentBlocks(path, now_ms)->size(), 1u);
}

}  // namespace
}  // namespace vigil::response
