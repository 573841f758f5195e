// Crafted log lines through the whole daemon: `vigil run` follows auth.log with the bundled
// sshd decoders, so the user and address fields of a failed-login line reach the Responder
// as the decoder cut them. Two responses run a recording script, one that expects the source
// address and one that expects the user. Only validated, normalised values may reach the
// script, each as one argument, and every rejected value must appear as a skip in the action
// log that `vigil control --actions` prints.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "daemon_lab.h"
#include "response/test_support.h"

namespace vigil::response {
namespace {

using std::chrono::seconds;

struct InjectionCase {
  std::string user;
  std::string address;
  // The address the address response must receive, or empty when it must skip.
  std::string expected_address;
  // The user the user response must receive, or empty when it must skip.
  std::string expected_user;
};

class DaemonInjectionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    daemon_ = std::make_unique<testing::DaemonLab>(dir_.path());
    testing::WriteRecorder(daemon_->responses_dir(), "record-address");
    testing::WriteRecorder(daemon_->responses_dir(), "record-user");
    // Both responses fire on every failed password (501010) and invalid user (501020) alert.
    std::string xml;
    for (const std::string& name : {"address", "user"}) {
      xml += "  <command>\n    <name>record-" + name + "</name>\n    <executable>record-" + name +
             "</executable>\n    <expect>" + (name == "address" ? "srcip" : "user") +
             "</expect>\n    <timeout_allowed>no</timeout_allowed>\n  </command>\n"
             "  <active-response>\n    <command>record-" +
             name +
             "</command>\n    <location>local</location>\n"
             "    <rules_id>501010,501020</rules_id>\n  </active-response>\n";
    }
    daemon_->WriteConfig(xml);
    daemon_->Append("Dec  4 15:59:59 victim sshd[1]: Server listening on 0.0.0.0 port 22.");
  }

  // Runs of `name` that the recording script logged.
  std::vector<testing::RecordedRun> Runs(const std::string& name) {
    return testing::ReadRuns(daemon_->responses_dir(), name);
  }

  response::testing::TempDir dir_;
  std::unique_ptr<testing::DaemonLab> daemon_;
};

TEST_F(DaemonInjectionTest, OnlyValidValuesReachTheProgram) {
  const std::string marker = dir_.path() + "/injected";
  const std::vector<InjectionCase> cases = {
      // Shell syntax and quotes in the user name: the address still counts.
      {"root;touch " + marker, "192.0.2.10", "192.0.2.10", ""},
      {"$(touch " + marker + ")", "192.0.2.11", "192.0.2.11", ""},
      {"`touch " + marker + "`", "192.0.2.12", "192.0.2.12", ""},
      {"o'neil \"x\"", "192.0.2.13", "192.0.2.13", ""},
      {"two words", "192.0.2.14", "192.0.2.14", ""},
      {"-rf", "192.0.2.15", "192.0.2.15", ""},
      {"--help", "192.0.2.16", "192.0.2.16", ""},
      // Crafted address fields: the valid user still counts.
      {"alice", "192.0.2.20;touch${IFS}" + marker, "", "alice"},
      {"bob", "$(touch${IFS}" + marker + ")", "", "bob"},
      {"carol", "`touch${IFS}" + marker + "`", "", "carol"},
      {"dave", "'192.0.2.21'", "", "dave"},
      {"erin", "\"192.0.2.22\"", "", "erin"},
      {"frank", "192.0.2.23,192.0.2.24", "", "frank"},
      {"grace", "192.0.2.25/192.0.2.26", "", "grace"},
      {"heidi", "2001:db8::9%eth0", "", "heidi"},
      {"ivan", "victim.example.com", "", "ivan"},
      {"judy", "-", "", "judy"},
      // Forms that normalise to one address.
      {"mallory", "[2001:db8::5]:2222", "2001:db8::5", "mallory"},
      {"niaj", "192.0.2.30:22", "192.0.2.30", "niaj"},
      {"olivia", "::ffff:192.0.2.31", "192.0.2.31", "olivia"},
      {"peggy", "[2001:DB8:0:0::6]", "2001:db8::6", "peggy"},
      // Both fields crafted: nothing runs.
      {"x;id", "1.2.3.4;id", "", ""},
  };
  Status started = daemon_->Start();
  ASSERT_TRUE(started.ok()) << started.message();

  std::multiset<std::string> expected_addresses, expected_users;
  int expected_skips = 0;
  for (size_t i = 0; i < cases.size(); ++i) {
    const InjectionCase& c = cases[i];
    daemon_->Append(testing::FailedPasswordLine(c.user, c.address, 40000 + static_cast<int>(i)));
    if (c.expected_address.empty()) {
      ++expected_skips;
    } else {
      expected_addresses.insert(c.expected_address);
    }
    if (c.expected_user.empty()) {
      ++expected_skips;
    } else {
      expected_users.insert(c.expected_user);
    }
  }
  // The invalid-user form of the line goes through the other sshd decoder.
  daemon_->Append("Dec  4 16:00:01 victim sshd[77]: Invalid user a;b from 192.0.2.40 port 1");
  expected_addresses.insert("192.0.2.40");
  ++expected_skips;

  const size_t expected_runs = expected_addresses.size() + expected_users.size();
  ASSERT_TRUE(testing::WaitUntil(
      [&] { return Runs("record-address").size() + Runs("record-user").size() >= expected_runs; },
      seconds(20)))
      << daemon_->RunLog() << daemon_->Control({"--actions", "200"}).out;
  // Give any unexpected extra run time to show up before counting.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));

  std::multiset<std::string> addresses, users;
  for (const testing::RecordedRun& run : Runs("record-address")) {
    // add user srcip alert_id rule_id location filename
    ASSERT_EQ(run.args.size(), 7u);
    EXPECT_EQ(run.args[0], "add");
    EXPECT_EQ(run.args[1], "-");
    EXPECT_EQ(run.args[5], daemon_->log_path());
    EXPECT_EQ(run.args[6], "-");
    addresses.insert(run.args[2]);
  }
  for (const testing::RecordedRun& run : Runs("record-user")) {
    ASSERT_EQ(run.args.size(), 7u);
    EXPECT_EQ(run.args[0], "add");
    EXPECT_EQ(run.args[2], "-");
    users.insert(run.args[1]);
  }
  EXPECT_EQ(addresses, expected_addresses);
  EXPECT_EQ(users, expected_users);
  EXPECT_FALSE(std::filesystem::exists(marker)) << "a log line ran a shell command";

  // Every skip is in the action log with its reason.
  vigil::testing::ProcessResult actions = daemon_->Control({"--actions", "500"});
  ASSERT_EQ(actions.exit_code, 0) << actions.err;
  std::map<std::string, int> skips;
  const std::regex skip_line(R"(Z skipped (record-[a-z]+)\d* .* rule=5010[12]0 \((.+)\)$)");
  std::istringstream lines(actions.out);
  std::string line;
  while (std::getline(lines, line)) {
    std::smatch match;
    if (!std::regex_search(line, match, skip_line)) continue;
    ++skips[match[1]];
    EXPECT_FALSE(match[2].str().empty()) << line;
  }
  EXPECT_EQ(skips["record-address"] + skips["record-user"], expected_skips) << actions.out;
  EXPECT_EQ(skips["record-address"], static_cast<int>(cases.size() + 1 - expected_addresses.size()))
      << actions.out;

  EXPECT_EQ(daemon_->Stop(), 0) << daemon_->RunLog();
}

}  // namespace
}  // namespace vigil::response
