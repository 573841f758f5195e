// End-to-end test of a manager and two agents as real `vigil` processes on loopback.
#include <gtest/gtest.h>
#include <signal.h>
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
    std::ofstream(dir_ + "/manager/vigil.conf")
        << "<ossec_config>\n  <rules>\n    <decoder_dir pattern=\"_decoders.xml$\">" << kSource
        << "/rules</decoder_dir>\n    <rule_dir pattern=\"_rules.xml$\">" << kSource
        << "/rules</rule_dir>\n  </rules>\n  <remote><port>" << port_
        << "</port><local_ip>127.0.0.1</local_ip></remote>\n</ossec_config>\n";
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

}  // namespace
}  // namespace vigil::testing
