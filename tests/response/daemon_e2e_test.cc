// End to end through the real daemon with a real firewall. `vigil run` runs inside the victim
// namespace of a NetnsLab, follows auth.log with the bundled sshd decoders and rules, and
// binds firewall-drop to the brute_force group (rule 501100: 8 failed logins from one
// address). The test appends failed-login lines for the attacker's address, checks that the
// attacker cannot connect, that `vigil control --blocks` lists the block with its time left,
// that the block ends on time, and that `vigil control --unblock` lifts a second one at once.
// A block pending at a clean stop is undone on time by the next start.
#include <gtest/gtest.h>

#include <fstream>
#include <regex>

#include "daemon_lab.h"
#include "netns_lab.h"
#include "response/builtin_firewall.h"
#include "response/test_support.h"

namespace vigil::response {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using Lab = testing::NetnsLab;

constexpr milliseconds kConnectTimeout{400};
// Rule 501100 fires on the 8th failed login from one address within 4 minutes.
constexpr int kFailuresToBlock = 8;
constexpr int kTimeoutSeconds = 3;

class DaemonFirewallE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string reason = testing::LabUnavailableReason();
    if (!reason.empty()) GTEST_SKIP() << "skipped: " << reason;
    // The lab's listener logs to a file the daemon does not follow: the test writes the
    // failed-login lines itself, with a new user name each, so that only the per-address
    // rule fires and not the per-account one (501105).
    auto lab = testing::NetnsLab::Create(dir_.path() + "/listener.log");
    ASSERT_TRUE(lab.ok()) << lab.status().message();
    lab_ = std::move(*lab);
    daemon_ = std::make_unique<testing::DaemonLab>(dir_.path());
  }

  void TearDown() override {
    // The daemon stops before the lab removes its namespaces and table.
    daemon_.reset();
    lab_.reset();
  }

  // Starts the daemon in the victim namespace with `executable` bound to brute_force.
  void StartDaemon(const std::string& executable) {
    std::ofstream(daemon_->responses_dir() + "/firewall-drop.conf")
        << "table=" << lab_->table() << "\n";
    daemon_->WriteConfig(
        "  <command>\n"
        "    <name>firewall-drop</name>\n"
        "    <executable>" +
        executable +
        "</executable>\n"
        "    <expect>srcip</expect>\n"
        "    <timeout_allowed>yes</timeout_allowed>\n"
        "  </command>\n"
        "  <active-response>\n"
        "    <command>firewall-drop</command>\n"
        "    <location>local</location>\n"
        "    <rules_group>brute_force</rules_group>\n"
        "    <timeout>" +
        std::to_string(kTimeoutSeconds) +
        "</timeout>\n"
        "  </active-response>\n");
    daemon_->Append("Dec  4 15:59:59 victim sshd[1]: Server listening on 0.0.0.0 port 22.");
    Status started = daemon_->Start(lab_->victim());
    ASSERT_TRUE(started.ok()) << started.message();
  }

  void SendFailures(const std::string& address, const std::string& user_prefix) {
    for (int i = 1; i <= kFailuresToBlock; ++i) {
      daemon_->Append(
          testing::FailedPasswordLine(user_prefix + std::to_string(i), address, 50000 + i));
    }
  }

  bool SetContains(const std::string& set, const std::string& element) {
    return lab_->RunInVictim("nft list set inet " + lab_->table() + " " + set).find(element) !=
           std::string::npos;
  }

  std::string Diagnostics() {
    return "nft ruleset:\n" + lab_->RunInVictim("nft list ruleset") + "\ndaemon log:\n" +
           daemon_->RunLog() + "\nactions:\n" + daemon_->Control({"--actions", "50"}).out;
  }

  // Runs the whole scenario: block and timeout over IPv4, block and unblock over IPv6.
  void BlockTimeoutAndUnblock() {
    ASSERT_TRUE(lab_->AttackerConnects(Lab::kVictimV4, kConnectTimeout))
        << "the attacker cannot connect before any block";

    SendFailures(Lab::kAttackerV4, "guest");
    ASSERT_TRUE(
        testing::WaitUntil([&] { return SetContains("blocked4", Lab::kAttackerV4); }, seconds(5)))
        << Diagnostics();
    const auto blocked_at = std::chrono::steady_clock::now();
    EXPECT_FALSE(lab_->AttackerConnects(Lab::kVictimV4, kConnectTimeout))
        << "the attacker connected while blocked";
    EXPECT_TRUE(lab_->AttackerConnects(Lab::kVictimV6, kConnectTimeout))
        << "the attacker's IPv6 address is not blocked and must still connect";

    // `--blocks` lists the response, the address and 1 to 3 seconds left.
    vigil::testing::ProcessResult blocks = daemon_->Control({"--blocks"});
    ASSERT_EQ(blocks.exit_code, 0) << blocks.err;
    std::smatch left;
    ASSERT_TRUE(std::regex_search(blocks.out, left,
                                  std::regex(R"(firewall-drop\d*  10\.231\.0\.2  (\d+)s)")))
        << blocks.out;
    EXPECT_GE(std::stoi(left[1]), 1) << blocks.out;
    EXPECT_LE(std::stoi(left[1]), kTimeoutSeconds) << blocks.out;

    // execd undoes the block within a second of its due time.
    ASSERT_TRUE(testing::WaitUntil([&] { return !SetContains("blocked4", Lab::kAttackerV4); },
                                   seconds(kTimeoutSeconds + 3)))
        << Diagnostics();
    const auto blocked_for = std::chrono::steady_clock::now() - blocked_at;
    EXPECT_LT(blocked_for, milliseconds(kTimeoutSeconds * 1000 + 1500));
    EXPECT_TRUE(lab_->AttackerConnects(Lab::kVictimV4, kConnectTimeout))
        << "the attacker still cannot connect after the timeout";
    EXPECT_EQ(daemon_->Control({"--blocks"}).out, "Nothing is blocked.\n");

    // A second block, over IPv6, lifted by hand before its timeout.
    SendFailures(Lab::kAttackerV6, "staff");
    ASSERT_TRUE(
        testing::WaitUntil([&] { return SetContains("blocked6", Lab::kAttackerV6); }, seconds(5)))
        << Diagnostics();
    EXPECT_FALSE(lab_->AttackerConnects(Lab::kVictimV6, kConnectTimeout));
    const auto unblock_at = std::chrono::steady_clock::now();
    vigil::testing::ProcessResult unblocked = daemon_->Control({"--unblock", Lab::kAttackerV6});
    ASSERT_EQ(unblocked.exit_code, 0) << unblocked.err;
    EXPECT_NE(unblocked.out.find("undone: "), std::string::npos) << unblocked.out;
    EXPECT_NE(unblocked.out.find(Lab::kAttackerV6), std::string::npos) << unblocked.out;
    EXPECT_FALSE(SetContains("blocked6", Lab::kAttackerV6)) << Diagnostics();
    EXPECT_LT(std::chrono::steady_clock::now() - unblock_at, milliseconds(kTimeoutSeconds * 1000))
        << "--unblock returned only after the block's own timeout";
    EXPECT_TRUE(lab_->AttackerConnects(Lab::kVictimV6, kConnectTimeout))
        << "the attacker cannot connect after --unblock";
    EXPECT_EQ(daemon_->Control({"--blocks"}).out, "Nothing is blocked.\n");

    // The action log has both blocks executed and undone.
    const std::string actions = daemon_->Control({"--actions", "50"}).out;
    for (const std::string& address : {Lab::kAttackerV4, Lab::kAttackerV6}) {
      EXPECT_TRUE(std::regex_search(
          actions, std::regex(" executed firewall-drop\\d* " + address + " rule=501100 exit=0")))
          << actions;
      EXPECT_TRUE(std::regex_search(actions, std::regex(" undone firewall-drop\\d* " + address)))
          << actions;
    }

    EXPECT_EQ(daemon_->Stop(), 0) << daemon_->RunLog();
    EXPECT_NE(daemon_->RunLog().find("stopped: reason SIGTERM"), std::string::npos)
        << daemon_->RunLog();
  }

  response::testing::TempDir dir_;
  std::unique_ptr<testing::NetnsLab> lab_;
  std::unique_ptr<testing::DaemonLab> daemon_;
};

TEST_F(DaemonFirewallE2eTest, ProgramBlocksUntilTimeoutAndUnblocks) {
  ASSERT_TRUE(daemon_->InstallShippedProgram("firewall-drop").ok());
  StartDaemon("firewall-drop");
  BlockTimeoutAndUnblock();
}

TEST_F(DaemonFirewallE2eTest, BuiltinBlocksUntilTimeoutAndUnblocks) {
  StartDaemon(std::string(kBuiltinFirewallDrop));
  BlockTimeoutAndUnblock();
}

TEST_F(DaemonFirewallE2eTest, PendingUnblockSurvivesRestart) {
  ASSERT_TRUE(daemon_->InstallShippedProgram("firewall-drop").ok());
  StartDaemon("firewall-drop");
  SendFailures(Lab::kAttackerV4, "guest");
  ASSERT_TRUE(
      testing::WaitUntil([&] { return SetContains("blocked4", Lab::kAttackerV4); }, seconds(5)))
      << Diagnostics();
  const auto blocked_at = std::chrono::steady_clock::now();

  // A clean stop leaves the block in place and its delete pending.
  ASSERT_EQ(daemon_->Stop(), 0) << daemon_->RunLog();
  EXPECT_TRUE(SetContains("blocked4", Lab::kAttackerV4)) << "the stop lifted the block";
  EXPECT_FALSE(lab_->AttackerConnects(Lab::kVictimV4, kConnectTimeout));
  vigil::testing::ProcessResult blocks = daemon_->Control({"--blocks"});
  EXPECT_NE(blocks.out.find(Lab::kAttackerV4), std::string::npos) << blocks.out;

  // The next start undoes it on time.
  Status restarted = daemon_->Start(lab_->victim());
  ASSERT_TRUE(restarted.ok()) << restarted.message();
  ASSERT_TRUE(testing::WaitUntil([&] { return !SetContains("blocked4", Lab::kAttackerV4); },
                                 seconds(kTimeoutSeconds + 3)))
      << Diagnostics();
  EXPECT_LT(std::chrono::steady_clock::now() - blocked_at,
            milliseconds(kTimeoutSeconds * 1000 + 1500));
  EXPECT_TRUE(lab_->AttackerConnects(Lab::kVictimV4, kConnectTimeout));
  EXPECT_EQ(daemon_->Stop(), 0) << daemon_->RunLog();
}

}  // namespace
}  // namespace vigil::response
