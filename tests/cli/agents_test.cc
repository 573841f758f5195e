// End-to-end test of a manager and two agents as real `vigil` processes on loopback.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "process.h"

namespace vigil::testing {
namespace {

const std::string kSource = VIGIL_SOURCE_DIR;

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

class AgentsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/vigil-agents-test-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    dir_ = pattern;
    // A port from the pid keeps parallel test runs apart.
    port_ = 20000 + (::getpid() % 20000);
    std::filesystem::create_directories(dir_ + "/manager");
    WriteManagerConfig("");
    for (const char* name : {"web1", "db1"}) {
      std::string agent_dir = dir_ + "/" + name;
      std::filesystem::create_directories(agent_dir + "/logs");
      std::ofstream(agent_dir + "/agent.conf")
          << "<ossec_config>\n  <client><server>127.0.0.1:" << port_
          << "</server></client>\n  <localfile><location>" << agent_dir
          << "/logs/auth.log</location><log_format>syslog</log_format></localfile>\n"
             "</ossec_config>\n";
    }
  }
  void TearDown() override {
    for (int pid : pids_) StopProcess(pid, SIGKILL);
    std::filesystem::remove_all(dir_);
  }

  std::string ManagerConfig() const { return dir_ + "/manager/vigil.conf"; }

  // Writes the manager's configuration: the bundled rules, the agent port and `extra`.
  void WriteManagerConfig(const std::string& extra) {
    std::ofstream(dir_ + "/manager/vigil.conf")
        << "<ossec_config>\n  <rules>\n    <decoder_dir pattern=\"_decoders.xml$\">" << kSource
        << "/rules</decoder_dir>\n    <rule_dir pattern=\"_rules.xml$\">" << kSource
        << "/rules</rule_dir>\n  </rules>\n  <remote><port>" << port_
        << "</port><local_ip>127.0.0.1</local_ip></remote>\n"
        << extra << "</ossec_config>\n";
  }

  void Enroll(const std::string& name) {
    ProcessResult token =
        RunVigil({"manager", "enroll-token", "-c", ManagerConfig(), "--name", name});
    ASSERT_EQ(token.exit_code, 0) << token.err;
    size_t at = token.out.find("token: ");
    ASSERT_NE(at, std::string::npos) << token.out;
    std::string value = token.out.substr(at + 7, token.out.find('\n', at) - at - 7);
    ProcessResult enrolled =
        RunVigil({"agent", "enroll", "--manager", "127.0.0.1:" + std::to_string(port_), "--token",
                  value, "--state-dir", dir_ + "/" + name + "/var/state"});
    ASSERT_EQ(enrolled.exit_code, 0) << enrolled.err;
  }

  bool WaitFor(const std::function<bool()>& condition) {
    for (int i = 0; i < 300; ++i) {
      if (condition()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }

  std::string dir_;
  int port_ = 0;
  std::vector<int> pids_;
};

TEST_F(AgentsTest, EventsFromTwoAgentsCarryTheirLocations) {
  // Two decoding threads, so that agent batches take the parallel path of the pipeline.
  int manager =
      StartVigil({"run", "-c", ManagerConfig(), "--threads", "2"}, dir_ + "/manager/run.out");
  pids_.push_back(manager);
  std::string alerts_path = dir_ + "/manager/var/alerts/alerts.log";
  ASSERT_TRUE(WaitFor([&] {
    return std::filesystem::exists(dir_ + "/manager/var/state/manager/control.sock");
  })) << ReadAll(dir_ + "/manager/run.out");
  Enroll("web1");
  Enroll("db1");
  for (const char* name : {"web1", "db1"}) {
    pids_.push_back(StartVigil({"agent", "-c", dir_ + "/" + name + "/agent.conf"},
                               dir_ + "/" + name + "/agent.out"));
  }
  for (const char* name : {"web1", "db1"}) {
    std::ofstream(dir_ + "/" + name + "/logs/auth.log", std::ios::app)
        << "Dec  1 10:00:00 " << name << " sshd[22]: Invalid user from_" << name
        << " from 203.0.113.45 port 41822\n";
  }
  std::string web1 = "(web1) 127.0.0.1->" + dir_ + "/web1/logs/auth.log";
  std::string db1 = "(db1) 127.0.0.1->" + dir_ + "/db1/logs/auth.log";
  ASSERT_TRUE(WaitFor([&] {
    std::string alerts = ReadAll(alerts_path);
    return alerts.find(web1) != std::string::npos && alerts.find(db1) != std::string::npos;
  })) << ReadAll(alerts_path)
      << ReadAll(dir_ + "/manager/run.out");
  std::string alerts = ReadAll(alerts_path);
  EXPECT_NE(alerts.find(web1 + "\nRule: "), std::string::npos) << alerts;
  EXPECT_NE(alerts.find("Invalid user from_db1"), std::string::npos) << alerts;

  ProcessResult list = RunVigil({"control", "-c", ManagerConfig(), "-l"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_NE(list.out.find("web1"), std::string::npos) << list.out;
  EXPECT_NE(list.out.find("db1"), std::string::npos) << list.out;
  EXPECT_NE(list.out.find("active"), std::string::npos) << list.out;

  for (size_t i = 1; i < pids_.size(); ++i) EXPECT_EQ(StopProcess(pids_[i], SIGTERM), 0);
  EXPECT_EQ(StopProcess(manager, SIGTERM), 0) << ReadAll(dir_ + "/manager/run.out");
  pids_.clear();
}

TEST_F(AgentsTest, RemovedAgentIsRejected) {
  int manager = StartVigil({"run", "-c", ManagerConfig()}, dir_ + "/manager/run.out");
  pids_.push_back(manager);
  ASSERT_TRUE(WaitFor(
      [&] { return std::filesystem::exists(dir_ + "/manager/var/state/manager/control.sock"); }));
  Enroll("web1");
  ProcessResult removed = RunVigil({"control", "-c", ManagerConfig(), "--remove", "001"});
  ASSERT_EQ(removed.exit_code, 0) << removed.err;
  pids_.push_back(StartVigil({"agent", "-c", dir_ + "/web1/agent.conf"}, dir_ + "/web1/agent.out"));
  std::ofstream(dir_ + "/web1/logs/auth.log", std::ios::app)
      << "Dec  1 10:00:00 web1 sshd[22]: Invalid user revoked from 203.0.113.45 port 1\n";
  std::this_thread::sleep_for(std::chrono::seconds(2));
  EXPECT_EQ(ReadAll(dir_ + "/manager/var/alerts/alerts.log").find("revoked"), std::string::npos);
  // The manager counts the refused handshakes and logs the counters when it stops.
  ASSERT_EQ(StopProcess(manager, SIGTERM), 0);
  pids_.erase(pids_.begin());
  std::string log = ReadAll(dir_ + "/manager/run.out");
  EXPECT_EQ(log.find(" revoked=0 "), std::string::npos) << log;
  EXPECT_NE(log.find(" revoked="), std::string::npos) << log;
}

// Active responses across hosts. Each host (the manager, web1 = agent 001, db1 = agent 002) has
// its own responses folder with a program `mark` that appends "<response> <action> <address>"
// to marks.log in that host's folder, so each test can check where a response ran.
class AgentResponsesTest : public AgentsTest {
 protected:
  void SetUp() override {
    AgentsTest::SetUp();
    WriteManagerConfig(
        "  <command><name>mark</name><executable>mark</executable><expect>srcip</expect>"
        "<timeout_allowed>yes</timeout_allowed></command>\n"
        // sshd "Invalid user" is rule 501020.
        "  <active-response><name>local-mark</name><command>mark</command>"
        "<location>local</location><rules_id>501020</rules_id><timeout>4</timeout>"
        "</active-response>\n"
        "  <active-response><name>defined-mark</name><command>mark</command>"
        "<location>defined-agent</location><agent_id>002</agent_id><rules_id>501020</rules_id>"
        "</active-response>\n"
        // Bound to no rule that exists: run with `vigil control -b` only.
        "  <active-response><name>long-mark</name><command>mark</command>"
        "<location>server</location><rules_id>999999</rules_id><timeout>600</timeout>"
        "</active-response>\n"
        "  <active-response><name>short-mark</name><command>mark</command>"
        "<location>server</location><rules_id>999999</rules_id><timeout>2</timeout>"
        "</active-response>\n"
        "  <active-response><name>mid-mark</name><command>mark</command>"
        "<location>server</location><rules_id>999999</rules_id><timeout>6</timeout>"
        "</active-response>\n");
    for (const char* host : {"manager", "web1", "db1"}) {
      const std::string folder = dir_ + "/" + host + "/active-response";
      std::filesystem::create_directories(folder);
      std::ofstream(folder + "/mark") << "#!/bin/sh\n"
                                         "echo \"$VIGIL_AR_NAME $1 $3\" >> \"${0%/*}/../marks.log\"\n";
      std::filesystem::permissions(folder + "/mark", std::filesystem::perms::owner_all);
    }
  }

  std::string Marks(const std::string& host) { return ReadAll(dir_ + "/" + host + "/marks.log"); }

  bool Has(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
  }

  void StartManager() {
    pids_.push_back(StartVigil({"run", "-c", ManagerConfig()}, dir_ + "/manager/run.out"));
    ASSERT_TRUE(WaitFor([&] {
      return std::filesystem::exists(dir_ + "/manager/var/state/manager/control.sock");
    })) << ReadAll(dir_ + "/manager/run.out");
  }

  void StartAgent(const std::string& name) {
    pids_.push_back(
        StartVigil({"agent", "-c", dir_ + "/" + name + "/agent.conf"}, dir_ + "/" + name + "/agent.out"));
  }

  ProcessResult Control(std::vector<std::string> args) {
    args.insert(args.begin(), {"control", "-c", ManagerConfig()});
    return RunVigil(args);
  }

  std::string Actions() { return Control({"--actions", "200"}).out; }
  std::string Blocks() { return Control({"--blocks"}).out; }

  std::string Logs() {
    return "manager:\n" + ReadAll(dir_ + "/manager/run.out") + "web1:\n" +
           ReadAll(dir_ + "/web1/agent.out") + "db1:\n" + ReadAll(dir_ + "/db1/agent.out");
  }
};

TEST_F(AgentResponsesTest, RoutesAlertResponsesToAgents) {
  StartManager();
  Enroll("web1");
  Enroll("db1");
  StartAgent("web1");
  StartAgent("db1");
  std::ofstream(dir_ + "/web1/logs/auth.log", std::ios::app)
      << "Dec  1 10:00:00 web1 sshd[22]: Invalid user admin from 203.0.113.45 port 41822\n";

  // location local: the agent where the event happened, and only that one.
  ASSERT_TRUE(WaitFor([&] { return Has(Marks("web1"), "local-mark add 203.0.113.45"); }))
      << Logs();
  // defined-agent 002: db1, although the event came from web1.
  ASSERT_TRUE(WaitFor([&] { return Has(Marks("db1"), "defined-mark add 203.0.113.45"); }))
      << Logs();
  ASSERT_TRUE(WaitFor([&] {
    return Has(Actions(), "executed local-mark 203.0.113.45 rule=501020 agent=001 exit=0");
  })) << Actions();
  const std::string blocks = Blocks();
  EXPECT_TRUE(Has(blocks, "agent 001  local-mark  203.0.113.45")) << blocks;
  const std::string actions = Actions();
  EXPECT_TRUE(Has(actions, "sent local-mark 203.0.113.45 rule=501020 agent=001")) << actions;
  EXPECT_TRUE(Has(actions, "sent defined-mark 203.0.113.45 rule=501020 agent=002")) << actions;

  // The agent's execd undoes the block when the 4 s timeout ends.
  ASSERT_TRUE(WaitFor([&] { return Has(Marks("web1"), "local-mark delete 203.0.113.45"); }))
      << Logs();
  EXPECT_FALSE(Has(Marks("db1"), "local-mark")) << Marks("db1");
  EXPECT_FALSE(Has(Marks("web1"), "defined-mark")) << Marks("web1");
  EXPECT_EQ(Marks("manager"), "");
  EXPECT_FALSE(Has(Blocks(), "local-mark")) << Blocks();
}

TEST_F(AgentResponsesTest, ControlRunsOnOneAgentOrAll) {
  StartManager();
  Enroll("web1");
  Enroll("db1");
  StartAgent("web1");
  StartAgent("db1");

  ProcessResult one = Control({"-b", "192.0.2.50", "-f", "long-mark", "-u", "001"});
  ASSERT_EQ(one.exit_code, 0) << one.err;
  EXPECT_TRUE(Has(one.out, "sent 'long-mark' for 192.0.2.50 to agent 001")) << one.out;
  ASSERT_TRUE(WaitFor([&] { return Has(Marks("web1"), "long-mark add 192.0.2.50"); })) << Logs();

  ProcessResult all = Control({"-b", "192.0.2.51", "-f", "long-mark", "-a"});
  ASSERT_EQ(all.exit_code, 0) << all.err;
  ASSERT_TRUE(WaitFor([&] {
    return Has(Marks("web1"), "long-mark add 192.0.2.51") &&
           Has(Marks("db1"), "long-mark add 192.0.2.51");
  })) << Logs();
  EXPECT_FALSE(Has(Marks("db1"), "192.0.2.50")) << Marks("db1");
  // Like OSSEC's agent_control -a, -a reaches the agents and not the manager.
  EXPECT_EQ(Marks("manager"), "");

  ProcessResult unknown_agent = Control({"-b", "192.0.2.52", "-f", "long-mark", "-u", "009"});
  EXPECT_NE(unknown_agent.exit_code, 0);
  EXPECT_TRUE(Has(unknown_agent.err, "agent 009 is not enrolled")) << unknown_agent.err;
  ProcessResult unknown_name = Control({"-b", "192.0.2.52", "-f", "nosuch", "-u", "001"});
  EXPECT_NE(unknown_name.exit_code, 0);
  EXPECT_TRUE(Has(unknown_name.err, "no response named 'nosuch'")) << unknown_name.err;
  ProcessResult without_block = Control({"-u", "001"});
  EXPECT_EQ(without_block.exit_code, 2) << without_block.err;

  ASSERT_TRUE(WaitFor([&] { return Has(Blocks(), "agent 001  long-mark  192.0.2.50"); }))
      << Blocks();
  EXPECT_TRUE(Has(Blocks(), "agent 002  long-mark  192.0.2.51")) << Blocks();

  // --unblock reaches the agent that holds the block.
  ProcessResult unblock = Control({"--unblock", "192.0.2.50"});
  ASSERT_EQ(unblock.exit_code, 0) << unblock.err;
  EXPECT_TRUE(Has(unblock.out, "sent unblock for 192.0.2.50 to agent 001")) << unblock.out;
  ASSERT_TRUE(WaitFor([&] { return Has(Marks("web1"), "long-mark delete 192.0.2.50"); }))
      << Logs();
  ASSERT_TRUE(WaitFor([&] { return !Has(Blocks(), "192.0.2.50"); })) << Blocks();
  EXPECT_TRUE(Has(Blocks(), "agent 001  long-mark  192.0.2.51")) << Blocks();
  EXPECT_FALSE(Has(Marks("db1"), "delete")) << Marks("db1");
}

TEST_F(AgentResponsesTest, OfflineAgentGetsResponseOrItExpires) {
  StartManager();
  Enroll("web1");
  Enroll("db1");
  ProcessResult waits = Control({"-b", "192.0.2.60", "-f", "long-mark", "-u", "001"});
  ASSERT_EQ(waits.exit_code, 0) << waits.err;
  ProcessResult expires = Control({"-b", "192.0.2.61", "-f", "short-mark", "-u", "002"});
  ASSERT_EQ(expires.exit_code, 0) << expires.err;

  // short-mark's timeout (2 s) passes before db1 connects: dropped and logged as expired.
  ASSERT_TRUE(WaitFor([&] { return Has(Actions(), "expired short-mark 192.0.2.61"); }))
      << Actions();
  EXPECT_TRUE(Has(Actions(), "agent=002")) << Actions();

  StartAgent("web1");
  StartAgent("db1");
  ASSERT_TRUE(WaitFor([&] { return Has(Marks("web1"), "long-mark add 192.0.2.60"); })) << Logs();
  ASSERT_TRUE(WaitFor([&] {
    return Has(Actions(), "executed long-mark 192.0.2.60 rule=(no_rule_id) agent=001 exit=0");
  })) << Actions();
  ASSERT_TRUE(WaitFor([&] {
    ProcessResult list = Control({"-l"});
    return list.out.find("db1") != std::string::npos &&
           list.out.find("active", list.out.find("db1")) != std::string::npos;
  }));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_FALSE(Has(Marks("db1"), "192.0.2.61")) << Marks("db1");
}

size_t CountOf(const std::string& text, const std::string& part) {
  size_t count = 0;
  for (size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) {
    ++count;
  }
  return count;
}

// The agent reports its own delete at the end of the timeout; the manager logs it and drops
// the block from its record at once.
TEST_F(AgentResponsesTest, AgentReportsUndoAtTimeout) {
  StartManager();
  Enroll("web1");
  StartAgent("web1");
  ProcessResult sent = Control({"-b", "192.0.2.70", "-f", "short-mark", "-u", "001"});
  ASSERT_EQ(sent.exit_code, 0) << sent.err;
  ASSERT_TRUE(WaitFor([&] { return Has(Actions(), "executed short-mark 192.0.2.70"); })) << Logs();
  ASSERT_TRUE(WaitFor([&] {
    return Has(Actions(), "undone short-mark 192.0.2.70 rule=(no_rule_id) agent=001 exit=0");
  })) << Actions()
      << Logs();
  EXPECT_TRUE(Has(Marks("web1"), "short-mark delete 192.0.2.70")) << Marks("web1");
  // The record file itself no longer holds the block (--blocks also hides blocks whose time
  // has passed, so the file is the proof).
  EXPECT_FALSE(Has(ReadAll(dir_ + "/manager/var/state/response/agent-blocks.json"), "192.0.2.70"))
      << ReadAll(dir_ + "/manager/var/state/response/agent-blocks.json");
  EXPECT_FALSE(Has(Blocks(), "192.0.2.70")) << Blocks();
}

// A result that the agent sends again (the ack was lost with the link) is recorded once, also
// when the manager restarted in between.
TEST_F(AgentResponsesTest, ResentResultIsRecordedOnce) {
  StartManager();
  Enroll("web1");
  StartAgent("web1");
  ProcessResult sent = Control({"-b", "192.0.2.80", "-f", "long-mark", "-u", "001"});
  ASSERT_EQ(sent.exit_code, 0) << sent.err;
  const std::string results = dir_ + "/web1/var/state/agent/responses.json";
  ASSERT_TRUE(WaitFor([&] { return Has(ReadAll(results), "\"acked\":true"); }))
      << ReadAll(results) << Logs();
  ASSERT_TRUE(WaitFor([&] { return Has(Actions(), "executed long-mark 192.0.2.80"); }));

  // Stop both. The agent's file now records that the manager never acknowledged the result, as
  // after a link cut between the result and its ack.
  ASSERT_EQ(StopProcess(pids_[1], SIGTERM), 0) << Logs();
  ASSERT_EQ(StopProcess(pids_[0], SIGTERM), 0) << Logs();
  pids_.clear();
  std::string text = ReadAll(results);
  for (size_t at = text.find("\"acked\":true"); at != std::string::npos;
       at = text.find("\"acked\":true")) {
    text.replace(at, 12, "\"acked\":false");
  }
  std::ofstream(results, std::ios::trunc) << text;

  StartManager();
  StartAgent("web1");
  ASSERT_TRUE(WaitFor([&] {
    const std::string now = ReadAll(results);
    return Has(now, "\"acked\":true") && !Has(now, "\"acked\":false");
  })) << ReadAll(results)
      << Logs();
  EXPECT_EQ(CountOf(Actions(), "executed long-mark 192.0.2.80"), 1u) << Actions();
  ASSERT_EQ(StopProcess(pids_[1], SIGTERM), 0);
  ASSERT_EQ(StopProcess(pids_[0], SIGTERM), 0);
  pids_.clear();
  EXPECT_TRUE(Has(ReadAll(dir_ + "/manager/run.out"), "duplicate_results=1")) << Logs();
}

// A response that waited for an offline agent ends when it would have ended had the agent been
// online: decided at t0 with a 6 s timeout, run at about t0 + 3 s, undone at about t0 + 6 s.
TEST_F(AgentResponsesTest, LateResponseEndsAtDecisionPlusTimeout) {
  StartManager();
  Enroll("web1");
  const auto start = std::chrono::steady_clock::now();
  ProcessResult sent = Control({"-b", "192.0.2.90", "-f", "mid-mark", "-u", "001"});
  ASSERT_EQ(sent.exit_code, 0) << sent.err;
  std::this_thread::sleep_for(std::chrono::seconds(3));
  StartAgent("web1");
  ASSERT_TRUE(WaitFor([&] { return Has(Marks("web1"), "mid-mark add 192.0.2.90"); })) << Logs();
  ASSERT_TRUE(WaitFor([&] { return Has(Marks("web1"), "mid-mark delete 192.0.2.90"); })) << Logs();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  // With the full timeout from the late run, the delete would come at 9 s or later.
  EXPECT_GE(seconds, 5.0);
  EXPECT_LT(seconds, 8.5);
  ASSERT_TRUE(WaitFor([&] { return Has(Actions(), "undone mid-mark 192.0.2.90"); })) << Actions();
}

// `--unblock IP -a` reaches every agent, also one that the manager has no record of a block
// for; plain `--unblock IP` reaches only the agents on record.
TEST_F(AgentResponsesTest, UnblockAllReachesAgentsWithoutARecord) {
  StartManager();
  Enroll("web1");
  Enroll("db1");
  StartAgent("web1");
  StartAgent("db1");
  ProcessResult sent = Control({"-b", "192.0.2.95", "-f", "long-mark", "-u", "001"});
  ASSERT_EQ(sent.exit_code, 0) << sent.err;
  ASSERT_TRUE(WaitFor([&] { return Has(Blocks(), "agent 001  long-mark  192.0.2.95"); }))
      << Blocks() << Logs();
  // The manager loses its record of the block.
  ASSERT_EQ(StopProcess(pids_[0], SIGTERM), 0) << Logs();
  pids_.erase(pids_.begin());
  std::filesystem::remove(dir_ + "/manager/var/state/response/agent-blocks.json");
  StartManager();
  ASSERT_TRUE(WaitFor([&] {
    ProcessResult list = Control({"-l"});
    return list.exit_code == 0 && CountOf(list.out, " active ") == 2;
  })) << Logs();
  EXPECT_FALSE(Has(Blocks(), "192.0.2.95")) << Blocks();

  ProcessResult recorded_only = Control({"--unblock", "192.0.2.95"});
  ASSERT_EQ(recorded_only.exit_code, 0) << recorded_only.err;
  EXPECT_FALSE(Has(recorded_only.out, "sent unblock")) << recorded_only.out;

  ProcessResult all = Control({"--unblock", "192.0.2.95", "-a"});
  ASSERT_EQ(all.exit_code, 0) << all.err;
  EXPECT_TRUE(Has(all.out, "sent unblock for 192.0.2.95 to every agent (2)")) << all.out;
  ASSERT_TRUE(WaitFor([&] { return Has(Marks("web1"), "long-mark delete 192.0.2.95"); })) << Logs();
  ASSERT_TRUE(WaitFor([&] {
    const std::string actions = Actions();
    return Has(actions, "executed unblock 192.0.2.95 agent=001") &&
           Has(actions, "executed unblock 192.0.2.95 agent=002");
  })) << Actions();
  EXPECT_FALSE(Has(Marks("db1"), "192.0.2.95")) << Marks("db1");

  ProcessResult without_address = Control({"-a"});
  EXPECT_EQ(without_address.exit_code, 2) << without_address.err;
}

// Sends `data` from a socket of `type` bound to `source` to 127.0.0.1:`port`. Returns false
// when the connection fails; for TCP, waits until the peer closes or 2 s pass.
bool SendFrom(const char* source, int port, int type, const std::string& data) {
  int fd = ::socket(AF_INET, type | SOCK_CLOEXEC, 0);
  sockaddr_in local{};
  local.sin_family = AF_INET;
  ::inet_pton(AF_INET, source, &local.sin_addr);
  sockaddr_in remote{};
  remote.sin_family = AF_INET;
  remote.sin_port = htons(static_cast<uint16_t>(port));
  ::inet_pton(AF_INET, "127.0.0.1", &remote.sin_addr);
  bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof(local)) == 0 &&
            ::connect(fd, reinterpret_cast<sockaddr*>(&remote), sizeof(remote)) == 0 &&
            ::send(fd, data.data(), data.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(data.size());
  ::close(fd);
  return ok;
}

TEST_F(AgentsTest, PskAgentOnSecondPortAndRemoteSyslog) {
  int second_port = port_ + 1;
  int syslog_port = port_ + 2;
  std::ofstream(ManagerConfig())
      << "<ossec_config>\n  <rules>\n    <decoder_dir pattern=\"_decoders.xml$\">" << kSource
      << "/rules</decoder_dir>\n    <rule_dir pattern=\"_rules.xml$\">" << kSource
      << "/rules</rule_dir>\n  </rules>\n"
      << "  <remote><port>" << port_ << "</port><local_ip>127.0.0.1</local_ip></remote>\n"
      << "  <remote><port>" << second_port << "</port><local_ip>127.0.0.1</local_ip>"
      << "<denied-ips>127.0.0.2</denied-ips></remote>\n"
      << "  <remote><connection>syslog</connection><port>" << syslog_port
      << "</port><protocol>udp,tcp</protocol><local_ip>127.0.0.1</local_ip>"
      << "<allowed-ips>127.0.0.1</allowed-ips></remote>\n</ossec_config>\n";
  std::ofstream(dir_ + "/web1/agent.conf")
      << "<ossec_config>\n  <client><server>127.0.0.1:" << second_port
      << "</server></client>\n  <localfile><location>" << dir_
      << "/web1/logs/auth.log</location><log_format>syslog</log_format></localfile>\n"
         "</ossec_config>\n";
  int manager = StartVigil({"run", "-c", ManagerConfig()}, dir_ + "/manager/run.out");
  pids_.push_back(manager);
  ASSERT_TRUE(WaitFor(
      [&] { return std::filesystem::exists(dir_ + "/manager/var/state/manager/control.sock"); }))
      << ReadAll(dir_ + "/manager/run.out");

  std::string key_file = dir_ + "/web1.key";
  ProcessResult added = RunVigil({"manager", "add-agent", "-c", ManagerConfig(), "--name", "web1",
                                  "--psk", "--key-file", key_file});
  ASSERT_EQ(added.exit_code, 0) << added.err;
  struct stat st {};
  ASSERT_EQ(::stat(key_file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::string key_line = ReadAll(key_file);
  EXPECT_EQ(added.out.find(key_line.substr(key_line.rfind(' ') + 1, 64)), std::string::npos)
      << "the key must not be printed when it goes to a file";
  ProcessResult imported = RunVigil({"agent", "import-psk", "--key-file", key_file,
                                     "--state-dir", dir_ + "/web1/var/state"});
  ASSERT_EQ(imported.exit_code, 0) << imported.err;

  pids_.push_back(StartVigil({"agent", "-c", dir_ + "/web1/agent.conf"}, dir_ + "/web1/agent.out"));
  std::ofstream(dir_ + "/web1/logs/auth.log", std::ios::app)
      << "Dec  1 10:00:00 web1 sshd[22]: Invalid user over_psk from 203.0.113.45 port 41822\n";
  std::string alerts_path = dir_ + "/manager/var/alerts/alerts.log";
  std::string location = "(web1) 127.0.0.1->" + dir_ + "/web1/logs/auth.log";
  ASSERT_TRUE(WaitFor([&] { return ReadAll(alerts_path).find(location) != std::string::npos; }))
      << ReadAll(alerts_path) << ReadAll(dir_ + "/manager/run.out")
      << ReadAll(dir_ + "/web1/agent.out");

  // Remote syslog over UDP and TCP from an allowed address, then a denied agent-port peer.
  ASSERT_TRUE(SendFrom("127.0.0.1", syslog_port, SOCK_DGRAM,
                       "<38>Dec  1 10:00:01 fw1 sshd[23]: Invalid user over_udp from "
                       "203.0.113.46 port 1\n"));
  ASSERT_TRUE(SendFrom("127.0.0.1", syslog_port, SOCK_STREAM,
                       "<38>Dec  1 10:00:02 fw1 sshd[24]: Invalid user over_tcp from "
                       "203.0.113.47 port 2\n"));
  ASSERT_TRUE(WaitFor([&] {
    std::string alerts = ReadAll(alerts_path);
    return alerts.find("over_udp") != std::string::npos &&
           alerts.find("over_tcp") != std::string::npos;
  })) << ReadAll(alerts_path)
      << ReadAll(dir_ + "/manager/run.out");
  EXPECT_NE(ReadAll(alerts_path).find("fw1->127.0.0.1"), std::string::npos)
      << ReadAll(alerts_path);
  SendFrom("127.0.0.2", second_port, SOCK_STREAM, "x");

  ProcessResult removed = RunVigil({"control", "-c", ManagerConfig(), "--remove", "001"});
  ASSERT_EQ(removed.exit_code, 0) << removed.err;
  ASSERT_TRUE(WaitFor([&] {
    return ReadAll(dir_ + "/manager/run.out").find("agent 001 (web1) at 127.0.0.1 disconnected") !=
           std::string::npos;
  })) << ReadAll(dir_ + "/manager/run.out");

  EXPECT_EQ(StopProcess(pids_[1], SIGTERM), 0);
  ASSERT_EQ(StopProcess(manager, SIGTERM), 0);
  pids_.clear();
  std::string log = ReadAll(dir_ + "/manager/run.out");
  EXPECT_NE(log.find(" denied=1 "), std::string::npos) << log;
  EXPECT_NE(log.find("rejected a connection from 127.0.0.2"), std::string::npos) << log;
  EXPECT_EQ(log.find(key_line.substr(key_line.rfind(' ') + 1, 64)), std::string::npos)
      << "the key must never be logged";
}

}  // namespace
}  // namespace vigil::testing
