// End-to-end tests of the daemon, `vigil run`, as a real process following real files.
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

class DaemonTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/vigil-daemon-test-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    dir_ = pattern;
    std::filesystem::create_directories(dir_ + "/logs");
    config_ = dir_ + "/vigil.conf";
    std::ofstream(config_) << "<ossec_config>\n"
                              "  <rules>\n"
                              "    <decoder_dir pattern=\"_decoders.xml$\">"
                           << kSource
                           << "/rules</decoder_dir>\n"
                              "    <rule_dir pattern=\"_rules.xml$\">"
                           << kSource
                           << "/rules</rule_dir>\n"
                              "  </rules>\n"
                              "  <localfile>\n"
                              "    <location>"
                           << dir_
                           << "/logs/*.log</location>\n"
                              "    <log_format>syslog</log_format>\n"
                              "  </localfile>\n"
                              "</ossec_config>\n";
  }
  void TearDown() override {
    if (pid_ > 0) StopProcess(pid_, SIGKILL);
    std::filesystem::remove_all(dir_);
  }

  void Start(const std::string& threads = "1") {
    pid_ = StartVigil({"run", "-c", config_, "--log-level", "info", "--threads", threads},
                      dir_ + "/run.out");
  }
  int Stop() {
    int code = StopProcess(pid_, SIGTERM);
    pid_ = -1;
    return code;
  }
  void Append(const std::string& line) {
    std::ofstream(dir_ + "/logs/auth.log", std::ios::app) << line << "\n";
  }
  static std::string InvalidUser(int n) {
    return "Dec  1 10:00:00 web1 sshd[2212]: Invalid user probe" + std::to_string(n) +
           " from 203.0.113.45 port " + std::to_string(40000 + n);
  }
  std::string Alerts() {
    std::ifstream in(dir_ + "/var/alerts/alerts.log");
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  }
  int CountAlerts(const std::string& needle) {
    std::string alerts = Alerts();
    int count = 0;
    for (size_t at = alerts.find(needle); at != std::string::npos;
         at = alerts.find(needle, at + 1)) {
      ++count;
    }
    return count;
  }
  // Waits up to 10 s for `needle` to appear `count` times in alerts.log.
  bool WaitForAlerts(const std::string& needle, int count) {
    for (int i = 0; i < 200; ++i) {
      if (CountAlerts(needle) >= count) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }
  std::string RunLog() {
    std::ifstream in(dir_ + "/run.out");
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  }

  std::string dir_;
  std::string config_;
  int pid_ = -1;
};

TEST_F(DaemonTest, FollowsAppendedLinesAndStopsCleanly) {
  Start();
  Append(InvalidUser(1));
  ASSERT_TRUE(WaitForAlerts("user probe1 ", 1)) << RunLog();
  Append(InvalidUser(2));
  ASSERT_TRUE(WaitForAlerts("user probe2 ", 1)) << RunLog();
  EXPECT_EQ(Stop(), 0) << RunLog();
  std::string log = RunLog();
  EXPECT_NE(log.find("starting: config " + config_), std::string::npos) << log;
  EXPECT_NE(log.find("stopped: reason SIGTERM, records 2, alerts 2"), std::string::npos) << log;
}

TEST_F(DaemonTest, DecodeThreadsKeepAlerts) {
  Start("4");
  for (int n = 1; n <= 3; ++n) {
    Append(InvalidUser(n));
    ASSERT_TRUE(WaitForAlerts("user probe" + std::to_string(n) + " ", 1)) << RunLog();
  }
  EXPECT_EQ(Stop(), 0) << RunLog();
  std::string log = RunLog();
  EXPECT_NE(log.find("decode threads 4"), std::string::npos) << log;
  EXPECT_NE(log.find("stopped: reason SIGTERM, records 3, alerts 3"), std::string::npos) << log;
}

TEST_F(DaemonTest, RestartNeitherLosesNorRepeatsLines) {
  Start();
  Append(InvalidUser(1));
  ASSERT_TRUE(WaitForAlerts("user probe1 ", 1)) << RunLog();
  ASSERT_EQ(Stop(), 0) << RunLog();
  // Written while the daemon is stopped.
  Append(InvalidUser(2));
  Append(InvalidUser(3));
  Start();
  ASSERT_TRUE(WaitForAlerts("user probe3 ", 1)) << RunLog();
  Append(InvalidUser(4));
  ASSERT_TRUE(WaitForAlerts("user probe4 ", 1)) << RunLog();
  ASSERT_EQ(Stop(), 0) << RunLog();
  for (int n = 1; n <= 4; ++n) {
    EXPECT_EQ(CountAlerts("user probe" + std::to_string(n) + " "), 1) << "line " << n;
  }
}

TEST_F(DaemonTest, StatusPrintsCollectorCounters) {
  Start();
  Append(InvalidUser(1));
  ASSERT_TRUE(WaitForAlerts("user probe1 ", 1)) << RunLog();
  ProcessResult running = RunVigil({"status", "-c", config_});
  ASSERT_EQ(running.exit_code, 0) << running.err;
  EXPECT_NE(running.out.find("daemon: running (pid " + std::to_string(pid_) + ")"),
            std::string::npos)
      << running.out;
  ASSERT_EQ(Stop(), 0) << RunLog();
  ProcessResult status = RunVigil({"status", "-c", config_});
  ASSERT_EQ(status.exit_code, 0) << status.err;
  EXPECT_NE(status.out.find("daemon: not running"), std::string::npos) << status.out;
  EXPECT_NE(status.out.find(dir_ + "/logs/*.log"), std::string::npos) << status.out;
}

TEST_F(DaemonTest, SecondDaemonOnSameStateIsRejected) {
  Start();
  Append(InvalidUser(1));
  ASSERT_TRUE(WaitForAlerts("user probe1 ", 1)) << RunLog();
  ProcessResult second = RunVigil({"run", "-c", config_});
  EXPECT_EQ(second.exit_code, 1);
  EXPECT_NE(second.err.find("another vigil daemon (pid " + std::to_string(pid_) + ")"),
            std::string::npos)
      << second.err;
  EXPECT_EQ(Stop(), 0) << RunLog();
}

TEST_F(DaemonTest, ConfigWithoutRulesUsesBundledRules) {
  std::ofstream(config_) << "<ossec_config><localfile><location>" << dir_
                         << "/logs/*.log</location><log_format>syslog</log_format></localfile>"
                            "</ossec_config>\n";
  ProcessResult check = RunVigil({"check", "-c", config_});
  ASSERT_EQ(check.exit_code, 0) << check.err;
  EXPECT_EQ(check.out.find(" 0 rules"), std::string::npos) << check.out;
  Start();
  Append(InvalidUser(5));
  ASSERT_TRUE(WaitForAlerts("user probe5 ", 1)) << RunLog();
  EXPECT_EQ(Stop(), 0) << RunLog();
}

TEST_F(DaemonTest, CheckRejectsUnknownLogFormat) {
  std::ofstream(config_) << "<ossec_config>\n<localfile><location>/tmp/x.log</location>"
                            "<log_format>sislog</log_format></localfile>\n</ossec_config>\n";
  ProcessResult check = RunVigil({"check", "-c", config_});
  EXPECT_EQ(check.exit_code, 78);
  EXPECT_NE(check.err.find("vigil.conf:2: <localfile>: unknown log format 'sislog'"),
            std::string::npos)
      << check.err;
}

TEST_F(DaemonTest, InvalidConfigExitsWithConfigStatus) {
  std::ofstream(config_) << "<ossec_config><localfile><log_format>syslog</log_format>"
                            "</localfile></ossec_config>\n";
  ProcessResult result = RunVigil({"run", "-c", config_});
  EXPECT_EQ(result.exit_code, 78);
  EXPECT_NE(result.err.find("vigil.conf:1"), std::string::npos) << result.err;
}

}  // namespace
}  // namespace vigil::testing
