// End-to-end tests of the daemon, `vigil run`, as a real process following real files.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
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
    WriteConfig("");
  }
  // Writes the test config: the bundled rules, `extra` elements, and logs/`location` as
  // syslog.
  void WriteConfig(const std::string& extra, const std::string& location = "*.log") {
    std::ofstream(config_) << "<ossec_config>\n"
                           << extra
                           << "  <rules>\n"
                              "    <decoder_dir pattern=\"_decoders.xml$\">"
                           << kSource
                           << "/rules</decoder_dir>\n"
                              "    <rule_dir pattern=\"_rules.xml$\">"
                           << kSource
                           << "/rules</rule_dir>\n"
                              "  </rules>\n"
                              "  <localfile>\n"
                              "    <location>"
                           << dir_ << "/logs/" << location
                           << "</location>\n"
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
  std::string Archives() {
    std::ifstream in(dir_ + "/var/alerts/archives.log");
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  }
  // Waits up to 20 s for the line numbered `n` (`seq=<n> `) in archives.log.
  bool WaitForArchived(int n) {
    for (int i = 0; i < 400; ++i) {
      if (Archives().find("seq=" + std::to_string(n) + " ") != std::string::npos) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }
  // Appends the lines numbered `first` to `last` (`seq=<n> done`) to logs/`name`.
  void WriteNumbered(const std::string& name, int first, int last) {
    std::ofstream out(dir_ + "/logs/" + name, std::ios::app);
    for (int n = first; n <= last; ++n) {
      out << "Dec  1 10:00:00 web1 app[7]: seq=" << n << " done\n";
    }
  }
  // Checks that archives.log contains each line numbered `first` to `last` once, in order.
  void ExpectArchivedOnceInOrder(int first, int last) {
    std::string archived = Archives();
    size_t previous = 0;
    for (int n = first; n <= last; ++n) {
      std::string needle = "seq=" + std::to_string(n) + " ";
      size_t at = archived.find(needle);
      ASSERT_NE(at, std::string::npos) << "line " << n << " is missing\n" << RunLog();
      EXPECT_EQ(archived.find(needle, at + 1), std::string::npos) << "line " << n << " is repeated";
      EXPECT_GT(at, previous) << "line " << n << " is out of order";
      previous = at;
    }
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

// Appends numbered lines from a thread while `vigil run` is killed with SIGKILL again and
// again, with rename rotations and bursts of them in between, and checks that the archives hold
// every line exactly once and alerts.log every alerting line exactly once.
TEST_F(DaemonTest, KillNineNeitherLosesNorRepeatsLines) {
  WriteConfig("  <global><logall>yes</logall></global>\n");
  // Every tenth line is an sshd "Invalid user" line, which alerts. Each comes from its own
  // address, so no frequency rule joins them. The other lines only reach the archives.
  auto line = [](int n) {
    if (n % 10 == 0) {
      return "Dec  1 10:00:00 web1 sshd[2212]: Invalid user probe" + std::to_string(n) +
             " from 10.1." + std::to_string(n / 250) + "." + std::to_string(n % 250) +
             " port 40000";
    }
    return "Dec  1 10:00:00 web1 app[7]: seq=" + std::to_string(n) + " done";
  };
  std::atomic<bool> writing{true};
  std::atomic<int> written{0};
  std::thread writer([&] {
    std::mt19937 random(7);
    int n = 0;
    while (writing) {
      std::string batch;
      for (int i = 1 + static_cast<int>(random() % 5); i > 0; --i) batch += line(++n) + "\n";
      std::ofstream(dir_ + "/logs/app.log", std::ios::app) << batch;
      written = n;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  });
  std::mt19937 random(42);
  for (int round = 0; round < 8; ++round) {
    Start();
    std::this_thread::sleep_for(std::chrono::milliseconds(300 + random() % 600));
    if (round % 3 == 1) {
      std::filesystem::rename(dir_ + "/logs/app.log",
                              dir_ + "/logs/app.log." + std::to_string(round));
      std::this_thread::sleep_for(std::chrono::milliseconds(random() % 300));
    } else if (round % 3 == 2) {
      // A burst of rotations a few milliseconds apart, killed while the files drain. The
      // writer may not have created the next file yet, and then a rename fails.
      for (int k = 1; k <= 3; ++k) {
        std::error_code not_created;
        std::filesystem::rename(dir_ + "/logs/app.log",
                                dir_ + "/logs/app.log." + std::to_string(round * 10 + k),
                                not_created);
        std::this_thread::sleep_for(std::chrono::milliseconds(1 + random() % 10));
      }
    }
    StopProcess(pid_, SIGKILL);
    pid_ = -1;
  }
  writing = false;
  writer.join();
  const int total = written;

  Start();
  const std::string last = total % 10 == 0 ? "user probe" + std::to_string(total) + " "
                                           : "seq=" + std::to_string(total) + " done";
  bool caught_up = false;
  for (int i = 0; i < 1200 && !caught_up; ++i) {
    caught_up = Archives().find(last) != std::string::npos;
    if (!caught_up) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_TRUE(caught_up) << "line " << total << " never reached the archives\n" << RunLog();
  ASSERT_EQ(Stop(), 0) << RunLog();

  std::string archived = Archives();
  std::string alerts = Alerts();
  auto count = [](const std::string& text, const std::string& needle) {
    int found = 0;
    for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) {
      ++found;
    }
    return found;
  };
  int wrong = 0;
  for (int n = 1; n <= total && wrong < 10; ++n) {
    std::string needle =
        n % 10 == 0 ? "user probe" + std::to_string(n) + " " : "seq=" + std::to_string(n) + " ";
    int in_archives = count(archived, needle);
    EXPECT_EQ(in_archives, 1) << "line " << n << " in archives.log";
    if (in_archives != 1) ++wrong;
    if (n % 10 == 0) {
      int in_alerts = count(alerts, needle);
      EXPECT_EQ(in_alerts, 1) << "line " << n << " in alerts.log";
      if (in_alerts != 1) ++wrong;
    }
  }
  EXPECT_GT(total, 500) << "the writer wrote too little to test anything";
}

TEST_F(DaemonTest, FileRenamedBeforeAnyScanIsRead) {
  Start();
  Append(InvalidUser(1));
  ASSERT_TRUE(WaitForAlerts("user probe1 ", 1)) << RunLog();
  // Created, written and rotated away at once, well within the 2 s rescan interval.
  { std::ofstream(dir_ + "/logs/burst.log") << InvalidUser(2) << "\n" << InvalidUser(3) << "\n"; }
  std::filesystem::rename(dir_ + "/logs/burst.log", dir_ + "/logs/burst.log.1");
  ASSERT_TRUE(WaitForAlerts("user probe3 ", 1)) << RunLog();
  ASSERT_EQ(Stop(), 0) << RunLog();
  EXPECT_EQ(CountAlerts("user probe2 "), 1);
  EXPECT_EQ(CountAlerts("user probe3 "), 1);
}

// Rotates one file three times in a row as logrotate does (numbered, then with dateext),
// with no pause, so each file is created, written and renamed before the previous one has
// drained. A writer adds a line to each file just after its rename. Every line must reach
// archives.log once, in the order written.
TEST_F(DaemonTest, RotationBurstKeepsEveryLineInOrder) {
  WriteConfig("  <global><logall>yes</logall></global>\n");
  const std::string logs = dir_ + "/logs/";
  int written = 0;
  auto write = [&](const std::string& name, int count) {
    WriteNumbered(name, written + 1, written + count);
    written += count;
  };
  Start();
  write("app.log", 3);
  ASSERT_TRUE(WaitForArchived(3)) << RunLog();

  for (int rotation = 1; rotation <= 3; ++rotation) {
    write("app.log", 3);
    for (int k = rotation - 1; k >= 1; --k) {
      std::filesystem::rename(logs + "app.log." + std::to_string(k),
                              logs + "app.log." + std::to_string(k + 1));
    }
    std::filesystem::rename(logs + "app.log", logs + "app.log.1");
    write("app.log.1", 1);
  }
  for (int rotation = 1; rotation <= 3; ++rotation) {
    write("app.log", 3);
    std::string dated = "app.log-2024010" + std::to_string(rotation);
    std::filesystem::rename(logs + "app.log", logs + dated);
    write(dated, 1);
  }
  write("app.log", 2);
  ASSERT_TRUE(WaitForArchived(written)) << "line " << written << " never arrived\n" << RunLog();
  ASSERT_EQ(Stop(), 0) << RunLog();
  ExpectArchivedOnceInOrder(1, written);
}

// A rename rotation leaves the name free until the writer creates the new file. That gap is
// part of every rotation, so it must not log the "not found" warning.
TEST_F(DaemonTest, RenameRotationGapIsNotWarned) {
  // A fixed location, because a glob does not list the missing name.
  WriteConfig("  <global><logall>yes</logall></global>\n", "app.log");
  const std::string logs = dir_ + "/logs/";
  Start();
  WriteNumbered("app.log", 1, 1);
  ASSERT_TRUE(WaitForArchived(1)) << RunLog();
  std::filesystem::rename(logs + "app.log", logs + "app.log.1");
  // One and a half loop intervals (2 s by default): a scan surely falls in the gap, and the
  // old file is still followed at every scan until the new file exists.
  std::this_thread::sleep_for(std::chrono::milliseconds(3000));
  WriteNumbered("app.log", 2, 2);
  ASSERT_TRUE(WaitForArchived(2)) << RunLog();
  ASSERT_EQ(Stop(), 0) << RunLog();
  std::string log = RunLog();
  EXPECT_NE(log.find("left its location"), std::string::npos) << log;
  EXPECT_EQ(log.find("not found; waiting"), std::string::npos) << log;
}

// Lines 0-99 go to a file rotated while Vigil runs, then Vigil stops (by the parameter's
// signal). While it is stopped, the rotated file is deleted and a new file with lines 200-299,
// which often gets its inode, goes through two numbered rotations. Every line must be read
// once, in order.
class ReusedInodeTest : public DaemonTest, public ::testing::WithParamInterface<int> {};

TEST_P(ReusedInodeTest, NewFileIsRead) {
  WriteConfig("  <global><logall>yes</logall></global>\n");
  const std::string logs = dir_ + "/logs/";
  Start();
  WriteNumbered("app.log", 0, 99);
  ASSERT_TRUE(WaitForArchived(99)) << RunLog();
  std::filesystem::rename(logs + "app.log", logs + "app.log.1");
  WriteNumbered("app.log", 100, 199);
  ASSERT_TRUE(WaitForArchived(199)) << RunLog();
  // Past the save interval, so a kill -9 leaves the positions of every line read.
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  StopProcess(pid_, GetParam());
  pid_ = -1;

  struct stat deleted = {};
  ASSERT_EQ(stat((logs + "app.log.1").c_str(), &deleted), 0);
  std::filesystem::remove(logs + "app.log.1");
  std::filesystem::rename(logs + "app.log", logs + "app.log.1");
  WriteNumbered("app.log", 200, 299);
  std::filesystem::rename(logs + "app.log.1", logs + "app.log.2");
  std::filesystem::rename(logs + "app.log", logs + "app.log.1");
  WriteNumbered("app.log", 300, 399);
  struct stat reused = {};
  ASSERT_EQ(stat((logs + "app.log.1").c_str(), &reused), 0);
  if (reused.st_ino != deleted.st_ino) {
    // The file system picked another inode: give the positions file the state it would have
    // had, with the deleted file recorded under the new file's inode.
    std::string positions;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(dir_)) {
      if (entry.path().filename() == "collector.positions") positions = entry.path();
    }
    ASSERT_FALSE(positions.empty()) << "no positions file under " << dir_;
    std::ifstream in(positions);
    std::string saved((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::string from = " " + std::to_string(deleted.st_ino) + " ";
    size_t at = saved.find(from, saved.find('@'));
    ASSERT_NE(at, std::string::npos) << saved;
    saved.replace(at, from.size(), " " + std::to_string(reused.st_ino) + " ");
    std::ofstream(positions, std::ios::trunc) << saved;
  }
  Start();
  ASSERT_TRUE(WaitForArchived(399)) << RunLog();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  ASSERT_EQ(Stop(), 0) << RunLog();
  ExpectArchivedOnceInOrder(0, 399);
}

INSTANTIATE_TEST_SUITE_P(Stops, ReusedInodeTest, ::testing::Values(SIGTERM, SIGKILL),
                         [](const auto& info) { return info.param == SIGTERM ? "Term" : "Kill"; });

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
  EXPECT_NE(status.out.find("bytes_lost"), std::string::npos) << status.out;
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
