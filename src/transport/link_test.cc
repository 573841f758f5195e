// End-to-end tests of the agent-manager link: real TCP on loopback, real TLS, real files.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <set>

#include "transport/control.h"
#include "transport/test_support.h"

namespace vigil::transport {
namespace {

using testing::CuttableProxy;
using testing::TempDir;
using testing::WaitUntil;
using namespace std::chrono_literals;

class LinkTest : public testing::LinkFixture {};

int FileMode(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return -1;
  return st.st_mode & 0777;
}

TEST_F(LinkTest, ManagerStateFilesArePrivate) {
  for (const char* name : {"ca.key", "ca.crt", "server.key", "server.crt"}) {
    SCOPED_TRACE(name);
    EXPECT_EQ(FileMode(dir_.Sub("manager") + "/" + name), 0600);
  }
  EXPECT_EQ(FileMode(dir_.Sub("manager")), 0700);
  EXPECT_EQ(manager_->store().ca_fingerprint().size(), 64u);
}

TEST_F(LinkTest, EnrollmentStoresPrivateCredential) {
  std::string state = Enroll("web1");
  for (const char* name : {"agent.key", "agent.crt", "ca.crt", "agent.json"}) {
    SCOPED_TRACE(name);
    EXPECT_EQ(FileMode(state + "/" + name), 0600);
  }
  Expected<AgentIdentity> identity = LoadAgentIdentity(state);
  ASSERT_TRUE(identity.ok()) << identity.status().ToString();
  EXPECT_EQ(identity->agent_id, "001");
  EXPECT_EQ(identity->name, "web1");
  EXPECT_EQ(identity->ca_fingerprint, manager_->store().ca_fingerprint());
  EXPECT_EQ(FileMode(dir_.Sub("manager") + "/agents.json"), 0600);
  EXPECT_EQ(FileMode(dir_.Sub("manager") + "/tokens.json"), 0600);
}

TEST_F(LinkTest, TokenWorksOnlyOnce) {
  Expected<IssuedToken> token = manager_->store().CreateEnrollToken({"web1", 3600, "any", false});
  ASSERT_TRUE(token.ok());
  EnrollOptions options{ManagerAddress(), token->token, "", dir_.Sub("a1")};
  ASSERT_TRUE(EnrollAgent(options).ok());
  options.state_dir = dir_.Sub("a2");
  Expected<AgentIdentity> again = EnrollAgent(options);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(manager_->counters().enrollments_rejected, 1u);
}

TEST_F(LinkTest, WrongCaFingerprintStopsBeforeTokenIsSent) {
  Expected<IssuedToken> token = manager_->store().CreateEnrollToken({"web1", 3600, "any", false});
  ASSERT_TRUE(token.ok());
  std::string forged = token->token;
  forged.back() = forged.back() == '0' ? '1' : '0';
  EnrollOptions options{ManagerAddress(), forged, "", dir_.Sub("a1")};
  Expected<AgentIdentity> result = EnrollAgent(options);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kPermissionDenied);
  // The token was not spent: the manager never saw it.
  options.token = token->token;
  EXPECT_TRUE(EnrollAgent(options).ok());
}

TEST_F(LinkTest, DuplicateNameRejectedUnlessForced) {
  Enroll("web1");
  Expected<IssuedToken> token = manager_->store().CreateEnrollToken({"web1", 3600, "any", false});
  ASSERT_FALSE(token.ok());
  EXPECT_EQ(token.status().code(), StatusCode::kAlreadyExists);
  EXPECT_NE(token.status().message().find("web1"), std::string::npos);
  Expected<IssuedToken> forced = manager_->store().CreateEnrollToken({"web1", 3600, "any", true});
  EXPECT_TRUE(forced.ok());
}

TEST_F(LinkTest, DuplicateAddressRejectedUnlessForced) {
  ASSERT_TRUE(manager_->store().CreateEnrollToken({"web1", 3600, "10.0.0.5", false}).ok());
  // Enroll web1 with the address through a token, then ask for another name on that address.
  Expected<IssuedToken> first =
      manager_->store().CreateEnrollToken({"web2", 3600, "10.0.0.6", false});
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(EnrollAgent({ManagerAddress(), first->token, "", dir_.Sub("a1")}).ok());
  Expected<IssuedToken> clash =
      manager_->store().CreateEnrollToken({"web3", 3600, "10.0.0.6", false});
  ASSERT_FALSE(clash.ok());
  EXPECT_EQ(clash.status().code(), StatusCode::kAlreadyExists);
}

TEST_F(LinkTest, EventsFromTwoAgentsCarryIdsAndLocations) {
  auto a1 = StartAgent(Enroll("web1"));
  auto a2 = StartAgent(Enroll("db1"));
  ASSERT_TRUE(a1 && a2);
  ASSERT_TRUE(a1->Submit({{"/var/log/auth.log", "sshd: one"}, {"/var/log/auth.log", "two"}}).ok());
  ASSERT_TRUE(a2->Submit({{"/var/log/mysql.log", "mysqld: three"}}).ok());
  ASSERT_TRUE(WaitUntil([&] { return sink_.size() == 3; })) << sink_.size();
  std::map<std::string, std::string> location_by_text;
  std::map<std::string, std::string> agent_by_text;
  for (const auto& e : sink_.events()) {
    location_by_text[e.text] = e.location;
    agent_by_text[e.text] = e.agent_id + "/" + e.agent_name;
  }
  EXPECT_EQ(location_by_text["sshd: one"], "(web1) 127.0.0.1->/var/log/auth.log");
  EXPECT_EQ(location_by_text["mysqld: three"], "(db1) 127.0.0.1->/var/log/mysql.log");
  EXPECT_EQ(agent_by_text["two"], "001/web1");
  EXPECT_EQ(agent_by_text["mysqld: three"], "002/db1");
  ASSERT_TRUE(WaitUntil([&] { return a1->counters().queue_records == 0; }));
}

TEST_F(LinkTest, ControlListShowsAgentStatus) {
  auto a1 = StartAgent(Enroll("web1"));
  ASSERT_TRUE(a1);
  ASSERT_TRUE(a1->Submit({{"stdin", "x"}}).ok());
  ASSERT_TRUE(WaitUntil([&] { return sink_.size() == 1; }));
  Expected<std::vector<AgentInfo>> agents = ControlListAgents(dir_.Sub("manager"));
  ASSERT_TRUE(agents.ok()) << agents.status().ToString();
  ASSERT_EQ(agents->size(), 1u);
  const AgentInfo& info = (*agents)[0];
  EXPECT_EQ(info.id, "001");
  EXPECT_EQ(info.name, "web1");
  EXPECT_EQ(info.status, "active");
  EXPECT_EQ(info.version, "0.1.0");
  EXPECT_EQ(info.config_checksum, "abc123");
  EXPECT_EQ(info.peer_address, "127.0.0.1");
  EXPECT_EQ(info.events_received, 1u);
  EXPECT_GT(info.last_keepalive, 0);
  EXPECT_FALSE(info.hostname.empty());
}

TEST_F(LinkTest, ResponseReachesOnlyTargetAgentAndAllWithBroadcast) {
  std::mutex mu;
  std::multiset<std::string> ran;  // "<agent>:<command>"
  auto handler_for = [&](std::string name) {
    return [&, name](const ResponseCommandMessage& m) {
      std::lock_guard lock(mu);
      ran.insert(name + ":" + m.command + ":" + (m.arguments.empty() ? "" : m.arguments[0]));
      ResponseResultMessage r;
      r.outcome = ResponseOutcome::kExecuted;
      r.exit_status = name == "web1" ? 0 : 3;
      return r;
    };
  };
  auto a1 = StartAgent(Enroll("web1"), {}, handler_for("web1"));
  auto a2 = StartAgent(Enroll("db1"), {}, handler_for("db1"));
  ASSERT_TRUE(WaitUntil([&] { return a1->connected() && a2->connected(); }));

  ResponseRequest one;
  one.agent_id = "002";
  one.command = "firewall-drop";
  one.arguments = {"10.0.0.1"};
  one.timeout_seconds = 60;
  ASSERT_TRUE(manager_->SendResponse(one).ok());
  ASSERT_TRUE(WaitUntil([&] { return results().size() == 1; }));
  {
    std::lock_guard lock(mu);
    EXPECT_EQ(ran.count("db1:firewall-drop:10.0.0.1"), 1u);
    EXPECT_EQ(ran.count("web1:firewall-drop:10.0.0.1"), 0u);
  }
  EXPECT_EQ(results()[0].agent_id, "002");
  EXPECT_EQ(results()[0].state, "executed");
  EXPECT_EQ(results()[0].exit_status, 3);

  ResponseRequest all;
  all.command = "host-deny";
  all.arguments = {"10.0.0.2"};
  Expected<std::vector<uint64_t>> ids = ControlSendResponse(dir_.Sub("manager"), all);
  ASSERT_TRUE(ids.ok()) << ids.status().ToString();
  EXPECT_EQ(ids->size(), 2u);
  ASSERT_TRUE(WaitUntil([&] { return results().size() == 3; }));
  std::lock_guard lock(mu);
  EXPECT_EQ(ran.count("web1:host-deny:10.0.0.2"), 1u);
  EXPECT_EQ(ran.count("db1:host-deny:10.0.0.2"), 1u);
}

TEST_F(LinkTest, ResponseWaitsForOfflineAgent) {
  std::string state = Enroll("web1");
  std::atomic<int> runs{0};
  ResponseRequest request;
  request.agent_id = "001";
  request.command = "disable-account";
  request.timeout_seconds = 600;
  ASSERT_TRUE(manager_->SendResponse(request).ok());
  Expected<std::vector<AgentInfo>> before = ControlListAgents(dir_.Sub("manager"));
  ASSERT_TRUE(before.ok());
  EXPECT_EQ((*before)[0].pending_responses, 1u);
  auto agent = StartAgent(state, {}, [&](const ResponseCommandMessage&) {
    ++runs;
    return ResponseResultMessage{0, ResponseOutcome::kSkipped, 0, "on the allow list"};
  });
  ASSERT_TRUE(WaitUntil([&] { return results().size() == 1; }));
  EXPECT_EQ(runs.load(), 1);
  EXPECT_EQ(results()[0].state, "skipped");
  EXPECT_EQ(results()[0].detail, "on the allow list");
  Expected<std::vector<ResponseRecord>> records = ControlListResponses(dir_.Sub("manager"));
  ASSERT_TRUE(records.ok());
  ASSERT_EQ(records->size(), 1u);
  EXPECT_EQ((*records)[0].state, "skipped");
}

// An agent sends each result until the manager acknowledges it, so after a lost link or a
// restart the manager receives results again. It records each ResultId once, also across its
// own restart, and acknowledges the repeats so that the agent stops sending them.
TEST_F(LinkTest, ResentResultsAreRecordedOnce) {
  std::string state = Enroll("web1");
  auto agent = StartAgent(state, {}, [](const ResponseCommandMessage&) {
    return ResponseResultMessage{0, ResponseOutcome::kExecuted, 0, "executed", 1700000060000};
  });
  ASSERT_TRUE(WaitUntil([&] { return agent->connected(); }));
  ResponseRequest request;
  request.agent_id = "001";
  request.command = "firewall-drop";
  request.arguments = {"-", "10.0.0.9"};
  request.timeout_seconds = 60;
  Expected<std::vector<uint64_t>> ids = manager_->SendResponse(request);
  ASSERT_TRUE(ids.ok());
  const uint64_t id = ids->front();
  ASSERT_TRUE(
      WaitUntil([&] { return results().size() == 1 && agent->counters().results_acked == 1; }));

  // The agent's own delete at the end of the timeout, reported twice (a resend) and the run
  // result once more.
  const ResponseResultMessage undo{id, ResponseOutcome::kUndone, 0, "undone", 1700000060000};
  agent->ReportResult(undo);
  agent->ReportResult(undo);
  agent->ReportResult(ResponseResultMessage{id, ResponseOutcome::kExecuted, 0, "executed", 0});
  ASSERT_TRUE(WaitUntil([&] { return manager_->counters().duplicate_results >= 2; }));
  ASSERT_TRUE(WaitUntil([&] { return results().size() >= 2; }));
  std::this_thread::sleep_for(200ms);
  ASSERT_EQ(results().size(), 2u);
  EXPECT_EQ(results()[1].state, "undone");
  EXPECT_EQ(results()[1].action, "delete");
  EXPECT_EQ(results()[1].undo_state, "undone");
  EXPECT_EQ(results()[1].undo_at_ms, 1700000060000);

  // A restarted manager still has both ids, so the agent's resends after the restart are
  // acknowledged and not recorded.
  agent->Stop();
  const uint16_t port = manager_->port();
  manager_->Stop();
  manager_.reset();
  results_.clear();
  StartManager(port);
  auto again = StartAgent(state, {ManagerAddress()});
  ASSERT_TRUE(WaitUntil([&] { return again->connected(); }));
  again->ReportResult(undo);
  again->ReportResult(ResponseResultMessage{id, ResponseOutcome::kExecuted, 0, "executed", 0});
  ASSERT_TRUE(WaitUntil([&] { return again->counters().results_acked >= 2; }));
  EXPECT_EQ(manager_->counters().duplicate_results, 2u);
  EXPECT_TRUE(results().empty());
}

// Results produced while the manager is away are kept on disk and sent at the next connection.
TEST_F(LinkTest, UndoReportMadeOfflineArrivesAfterReconnect) {
  std::string state = Enroll("web1");
  auto agent = StartAgent(state, {}, [](const ResponseCommandMessage&) {
    return ResponseResultMessage{0, ResponseOutcome::kExecuted, 0, "executed", 1700000060000};
  });
  ASSERT_TRUE(WaitUntil([&] { return agent->connected(); }));
  ResponseRequest request;
  request.agent_id = "001";
  request.command = "firewall-drop";
  request.timeout_seconds = 60;
  Expected<std::vector<uint64_t>> ids = manager_->SendResponse(request);
  ASSERT_TRUE(ids.ok());
  ASSERT_TRUE(WaitUntil([&] { return results().size() == 1; }));
  const uint16_t port = manager_->port();
  manager_->Stop();
  ASSERT_TRUE(WaitUntil([&] { return !agent->connected(); }));
  agent->ReportResult(
      ResponseResultMessage{ids->front(), ResponseOutcome::kUndoFailed, 3, "exit 3", 0});
  agent->Stop();
  agent.reset();
  manager_.reset();
  results_.clear();
  StartManager(port);
  auto again = StartAgent(state, {ManagerAddress()});
  ASSERT_TRUE(WaitUntil([&] { return results().size() == 1; }));
  EXPECT_EQ(results()[0].state, "failed");
  EXPECT_EQ(results()[0].undo_state, "failed");
  EXPECT_EQ(results()[0].exit_status, 3);
}

TEST_F(LinkTest, RemovedAgentIsCutAndRefusedOthersContinue) {
  auto a1 = StartAgent(Enroll("web1"));
  auto a2 = StartAgent(Enroll("db1"));
  ASSERT_TRUE(WaitUntil([&] { return a1->connected() && a2->connected(); }));
  ASSERT_TRUE(ControlRemoveAgent(dir_.Sub("manager"), "001").ok());
  ASSERT_TRUE(WaitUntil([&] { return !a1->connected(); }));
  ASSERT_TRUE(WaitUntil([&] { return manager_->counters().rejected_revoked >= 1; }));
  EXPECT_FALSE(a1->connected());
  ASSERT_TRUE(a2->Submit({{"stdin", "still here"}}).ok());
  ASSERT_TRUE(WaitUntil([&] { return sink_.CountFrom("002") == 1; }));
  ASSERT_TRUE(a1->Submit({{"stdin", "lost voice"}}).ok());
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(sink_.CountFrom("001"), 0u);
  Expected<std::vector<AgentInfo>> agents = ControlListAgents(dir_.Sub("manager"));
  ASSERT_TRUE(agents.ok());
  EXPECT_EQ((*agents)[0].status, "removed");
}

TEST_F(LinkTest, ReenrolledAgentReconnectsWithoutManualSteps) {
  std::string state = Enroll("web1");
  {
    auto agent = StartAgent(state);
    ASSERT_TRUE(agent->Submit({{"stdin", "before"}}).ok());
    ASSERT_TRUE(WaitUntil([&] { return sink_.size() == 1; }));
  }
  // Reinstall: the state folder is wiped, then the host enrolls again under the same name.
  std::filesystem::remove_all(state);
  std::string again = Enroll("web1", /*force=*/true);
  auto agent = StartAgent(again);
  ASSERT_TRUE(agent->Submit({{"stdin", "after"}}).ok());
  ASSERT_TRUE(WaitUntil([&] { return sink_.size() == 2; })) << sink_.size();
  EXPECT_EQ(sink_.events()[1].agent_id, "001");
  EXPECT_EQ(sink_.events()[1].text, "after");
  EXPECT_EQ(manager_->counters().reordered_batches, 0u);
}

TEST_F(LinkTest, FailsOverToSecondManagerAddress) {
  auto agent = StartAgent(Enroll("web1"), {"127.0.0.1:1", ManagerAddress()});
  ASSERT_TRUE(agent->Submit({{"stdin", "via failover"}}).ok());
  ASSERT_TRUE(WaitUntil([&] { return sink_.size() == 1; }));
  EXPECT_EQ(agent->current_manager(), ManagerAddress());
  EXPECT_GE(agent->counters().connect_failures, 1u);
}

TEST_F(LinkTest, SilentLinkIsReplaced) {
  CuttableProxy proxy(manager_->port());
  auto agent = StartAgent(Enroll("web1"), {proxy.address()}, nullptr, 1s);
  ASSERT_TRUE(WaitUntil([&] { return agent->connected(); }));
  proxy.SetStalled(true);
  ASSERT_TRUE(agent->Submit({{"stdin", "sent into silence"}}).ok());
  ASSERT_TRUE(WaitUntil([&] { return agent->counters().disconnects >= 1; }, 10s));
  proxy.SetStalled(false);
  ASSERT_TRUE(WaitUntil([&] { return sink_.size() == 1; }));
  EXPECT_EQ(sink_.events()[0].text, "sent into silence");
}

TEST_F(LinkTest, RefusedBatchesAreRetriedNotLost) {
  auto agent = StartAgent(Enroll("web1"));
  sink_.set_refuse(true);
  ASSERT_TRUE(agent->Submit({{"stdin", "held"}}).ok());
  ASSERT_TRUE(WaitUntil([&] { return manager_->counters().callback_refusals >= 1; }));
  EXPECT_EQ(sink_.size(), 0u);
  sink_.set_refuse(false);
  ASSERT_TRUE(WaitUntil([&] { return sink_.size() == 1; }));
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(sink_.size(), 1u);
}

// Agents stream numbered records while the link is cut and the manager is stopped and
// restarted; every record must arrive exactly once.
TEST_F(LinkTest, LossTestEveryRecordExactlyOnce) {
  uint16_t port = manager_->port();
  CuttableProxy proxy(port);
  auto a1 = StartAgent(Enroll("web1"), {proxy.address()});
  auto a2 = StartAgent(Enroll("db1"), {proxy.address()});
  constexpr int kRecords = 6000;
  std::atomic<bool> writers_done{false};
  auto writer = [&](Agent* agent) {
    for (int i = 0; i < kRecords; i += 20) {
      std::vector<EventRecord> records;
      for (int k = i; k < i + 20; ++k) records.push_back({"/var/log/app.log", std::to_string(k)});
      while (!agent->Submit(records).ok()) agent->WaitForSpace(4096, 50ms);
      std::this_thread::sleep_for(1ms);
    }
  };
  std::thread w1(writer, a1.get());
  std::thread w2(writer, a2.get());

  ASSERT_TRUE(WaitUntil([&] { return sink_.size() > 1000; }));
  proxy.CutAll();
  ASSERT_TRUE(WaitUntil([&] { return sink_.size() > 3000; }));
  manager_->Stop();
  size_t at_stop = sink_.size();
  std::this_thread::sleep_for(300ms);
  manager_.reset();
  StartManager(port);
  ASSERT_TRUE(WaitUntil([&] { return sink_.size() > at_stop + 1000; }));
  proxy.CutAll();
  w1.join();
  w2.join();
  writers_done = true;
  ASSERT_TRUE(WaitUntil([&] { return sink_.size() >= 2u * kRecords; }, 60s)) << sink_.size();
  std::this_thread::sleep_for(500ms);

  std::map<std::string, std::map<std::string, int>> seen;
  for (const auto& e : sink_.events()) ++seen[e.agent_id][e.text];
  for (const char* id : {"001", "002"}) {
    SCOPED_TRACE(id);
    ASSERT_EQ(seen[id].size(), static_cast<size_t>(kRecords));
    int duplicates = 0;
    for (const auto& [text, count] : seen[id]) duplicates += count - 1;
    EXPECT_EQ(duplicates, 0);
  }
  EXPECT_EQ(sink_.size(), 2u * kRecords);
  EXPECT_GE(proxy.cuts(), 2);
  EXPECT_GE(a1->counters().connects, 3u);
}

}  // namespace
}  // namespace vigil::transport
