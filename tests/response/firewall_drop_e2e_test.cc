// End to end with a real firewall: an attacker namespace connects to a listener in a victim
// namespace, the listener logs a failed login, the line reaches the Responder, execd runs the
// shipped firewall-drop (nftables) inside the victim namespace, the attacker cannot connect
// until the timeout ends, and then can again.
//
// The step from log line to alert is FailedLoginMatcher (inotify plus a regex), not Vigil's
// collector and analysis engine. daemon_e2e_test.cc runs the same scenario through `vigil run`.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <thread>

#include "common/file.h"
#include "netns_lab.h"
#include "response/builtin_firewall.h"
#include "response/execd.h"
#include "response/responder.h"
#include "response/test_support.h"

namespace vigil::response {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr milliseconds kConnectTimeout{400};

class FirewallDropE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string reason = testing::LabUnavailableReason();
    if (!reason.empty()) GTEST_SKIP() << "skipped: " << reason;
    log_path_ = dir_.path() + "/auth.log";
    testing::AppendLine(log_path_, "start");
    auto lab = testing::NetnsLab::Create(log_path_);
    ASSERT_TRUE(lab.ok()) << lab.status().message();
    lab_ = std::move(*lab);
  }

  // Starts execd and the Responder with firewall-drop bound at level 6. `options` go to
  // firewall-drop before the action.
  void StartVigil(int timeout_seconds, const std::string& options = "") {
    const std::string bin = dir_.path() + "/bin";
    ASSERT_TRUE(MakeDirectories(bin).ok());
    // execd runs the program in the host namespace; this wrapper moves it into the victim's.
    const std::string wrapper = bin + "/firewall-drop";
    std::ofstream(wrapper) << "#!/bin/sh\nexec ip netns exec " << lab_->victim() << " "
                           << VIGIL_SOURCE_DIR << "/active-response/firewall-drop --table "
                           << lab_->table() << " " << options << " \"$@\"\n";
    ::chmod(wrapper.c_str(), 0755);
    config_ = testing::MakeConfig(dir_.path() + "/state", bin);
    testing::AddResponse(&config_, "firewall-drop", "firewall-drop", true, false, timeout_seconds);
    config_.commands[0].refresh_on_extend = true;

    StartExecdAndResponder(/*in_victim=*/false);
  }

  // Starts execd inside the victim namespace with the built-in firewall-drop, which runs
  // libnftables on execd's own threads.
  void StartVigilBuiltin(int timeout_seconds) {
    const std::string bin = dir_.path() + "/bin";
    ASSERT_TRUE(MakeDirectories(bin).ok());
    std::ofstream(bin + "/firewall-drop.conf") << "table=" << lab_->table() << "\n";
    config_ = testing::MakeConfig(dir_.path() + "/state", bin);
    testing::AddResponse(&config_, "firewall-drop", std::string(kBuiltinFirewallDrop), true, false,
                         timeout_seconds);
    StartExecdAndResponder(/*in_victim=*/true);
  }

  void StartExecdAndResponder(bool in_victim) {
    ExecdOptions options_for_execd;
    options_for_execd.state_dir = config_.paths.state_dir;
    options_for_execd.responses_dir = config_.paths.responses_dir;
    Expected<std::unique_ptr<Execd>> execd = Status::Internal("execd did not start");
    auto start = [&] { execd = Execd::Start(config_, options_for_execd); };
    if (in_victim) {
      ASSERT_TRUE(lab_->CallInVictim(start).ok());
    } else {
      start();
    }
    ASSERT_TRUE(execd.ok()) << execd.status().message();
    execd_ = std::move(*execd);
    auto sink = ExecqSink::Create(execd_->paths().execq);
    ASSERT_TRUE(sink.ok());
    sink_ = std::move(*sink);
    auto responder = Responder::Create(config_, sink_.get(), nullptr);
    ASSERT_TRUE(responder.ok()) << responder.status().message();
    responder_ = std::move(*responder);
    matcher_ = std::make_unique<testing::FailedLoginMatcher>(log_path_, responder_.get());
    ASSERT_TRUE(matcher_->Start().ok());
  }

  bool SetContains(const std::string& set, const std::string& element) {
    return lab_->RunInVictim("nft list set inet " + lab_->table() + " " + set).find(element) !=
           std::string::npos;
  }

  bool WaitUntil(const std::function<bool()>& condition, milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (condition()) return true;
      std::this_thread::sleep_for(milliseconds(20));
    }
    return condition();
  }

  void TearDown() override {
    matcher_.reset();
    responder_.reset();
    execd_.reset();
    lab_.reset();
  }

  response::testing::TempDir dir_;
  std::string log_path_;
  std::unique_ptr<testing::NetnsLab> lab_;
  config::Config config_;
  std::unique_ptr<Execd> execd_;
  std::unique_ptr<ExecqSink> sink_;
  std::unique_ptr<Responder> responder_;
  std::unique_ptr<testing::FailedLoginMatcher> matcher_;
};

TEST_F(FirewallDropE2eTest, BlocksAttackerUntilTimeout) {
  StartVigil(3);
  using Lab = testing::NetnsLab;
  // The first connection gets through and is logged as a failed login.
  ASSERT_TRUE(lab_->AttackerConnects(Lab::kVictimV4, kConnectTimeout));
  ASSERT_TRUE(WaitUntil([&] { return SetContains("blocked4", Lab::kAttackerV4); }, seconds(3)))
      << lab_->RunInVictim("nft list ruleset");
  const auto blocked_at = std::chrono::steady_clock::now();
  EXPECT_EQ(matcher_->alerts(), 1u);
  EXPECT_FALSE(lab_->AttackerConnects(Lab::kVictimV4, kConnectTimeout))
      << "the attacker connected while blocked";
  EXPECT_TRUE(lab_->AttackerConnects(Lab::kVictimV6, kConnectTimeout))
      << "IPv6 from the attacker was not blocked and must still connect";

  // The IPv6 connection was logged too, so the attacker's IPv6 address is blocked now.
  ASSERT_TRUE(WaitUntil([&] { return SetContains("blocked6", Lab::kAttackerV6); }, seconds(3)));
  EXPECT_FALSE(lab_->AttackerConnects(Lab::kVictimV6, kConnectTimeout));

  // execd undoes the IPv4 block 3 s after it was added, within a second.
  ASSERT_TRUE(WaitUntil([&] { return !SetContains("blocked4", Lab::kAttackerV4); }, seconds(6)));
  const auto unblocked_after = std::chrono::steady_clock::now() - blocked_at;
  EXPECT_LT(unblocked_after, milliseconds(4500));
  EXPECT_TRUE(lab_->AttackerConnects(Lab::kVictimV4, kConnectTimeout))
      << "the attacker still cannot connect after the timeout";
  ASSERT_TRUE(execd_->WaitIdle(seconds(10)));
  EXPECT_EQ(execd_->counters().failed, 0u);
}

TEST_F(FirewallDropE2eTest, BlocksIpv6Slash64WithKernelTimeout) {
  StartVigil(30, "--ipv6-prefix 64");
  using Lab = testing::NetnsLab;
  ASSERT_TRUE(lab_->AttackerConnects(Lab::kVictimV6, kConnectTimeout));
  ASSERT_TRUE(WaitUntil([&] { return SetContains("blocked6", "fd00:7a6c::/64"); }, seconds(3)))
      << lab_->RunInVictim("nft list ruleset");
  // VIGIL_AR_TIMEOUT gave the element its own expiry, so the kernel lifts it without Vigil.
  const std::string set = lab_->RunInVictim("nft list set inet " + lab_->table() + " blocked6");
  EXPECT_NE(set.find("timeout 30s"), std::string::npos) << set;
  EXPECT_FALSE(lab_->AttackerConnects(Lab::kVictimV6, kConnectTimeout));
  EXPECT_EQ(execd_->Pending().size(), 1u);

  // An unblock by hand lifts it at once.
  auto socket = DatagramSocket::Unbound();
  ASSERT_TRUE(socket.ok());
  ASSERT_TRUE(socket
                  ->SendTo(execd_->paths().execq,
                           R"({"version":1,"control":"unblock","srcip":"fd00:7a6c::2"})")
                  .ok());
  ASSERT_TRUE(WaitUntil([&] { return !SetContains("blocked6", "fd00:7a6c::/64"); }, seconds(3)));
  EXPECT_TRUE(lab_->AttackerConnects(Lab::kVictimV6, kConnectTimeout));
}

TEST_F(FirewallDropE2eTest, BuiltinBlocksAttackerUntilTimeout) {
  StartVigilBuiltin(2);
  using Lab = testing::NetnsLab;
  ASSERT_TRUE(lab_->AttackerConnects(Lab::kVictimV4, kConnectTimeout));
  ASSERT_TRUE(WaitUntil([&] { return SetContains("blocked4", Lab::kAttackerV4); }, seconds(3)))
      << lab_->RunInVictim("nft list ruleset");
  EXPECT_FALSE(lab_->AttackerConnects(Lab::kVictimV4, kConnectTimeout));
  ASSERT_TRUE(WaitUntil([&] { return !SetContains("blocked4", Lab::kAttackerV4); }, seconds(5)));
  EXPECT_TRUE(lab_->AttackerConnects(Lab::kVictimV4, kConnectTimeout));
  ASSERT_TRUE(execd_->WaitIdle(seconds(10)));
  EXPECT_EQ(execd_->counters().failed, 0u);
  EXPECT_EQ(execd_->counters().undone, 1u);
}

}  // namespace
}  // namespace vigil::response
