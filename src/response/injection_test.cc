// Crafted values from log lines must never reach a response program as anything but the
// validated address or user, and never as an extra argument. Every case goes through the
// Responder, the execd socket and a real program that records the argv it received.
#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <thread>

#include "common/file.h"
#include "response/execd.h"
#include "response/responder.h"
#include "response/test_support.h"

namespace vigil::response {
namespace {

using std::chrono::milliseconds;
using Args = std::vector<std::string>;

class InjectionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    bin_ = dir_.path() + "/bin";
    state_ = dir_.path() + "/state";
    ASSERT_TRUE(MakeDirectories(bin_).ok());
    testing::WriteRecorder(bin_, "drop");
    testing::WriteRecorder(bin_, "lock");
    config_ = testing::MakeConfig(state_, bin_);
    testing::AddResponse(&config_, "drop", "drop", true, false, 0);
    testing::AddResponse(&config_, "lock", "lock", false, true, 0);
    ExecdOptions options;
    options.state_dir = state_;
    options.responses_dir = bin_;
    auto execd = Execd::Start(config_, options);
    ASSERT_TRUE(execd.ok()) << execd.status().message();
    execd_ = std::move(*execd);
    auto sink = ExecqSink::Create(execd_->paths().execq);
    ASSERT_TRUE(sink.ok());
    sink_ = std::move(*sink);
    auto responder = Responder::Create(config_, sink_.get(), nullptr);
    ASSERT_TRUE(responder.ok()) << responder.status().message();
    responder_ = std::move(*responder);
  }

  // Sends the alert and returns the argv each program received, drop's then lock's.
  std::pair<std::vector<Args>, std::vector<Args>> Fire(const std::string& srcip,
                                                       const std::string& user) {
    AlertFacts alert;
    alert.rule_id = 5712;
    alert.level = 10;
    alert.srcip = srcip;
    alert.user = user;
    alert.alert_id = "1700000000.1";
    alert.location = "/var/log/auth.log";
    const uint64_t before = execd_->counters().messages;
    uint64_t sent = 0;
    for (const Decision& decision : responder_->OnAlert(alert)) sent += decision.sent ? 1 : 0;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (execd_->counters().messages < before + sent &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(milliseconds(2));
    }
    EXPECT_TRUE(execd_->WaitIdle(milliseconds(5000)));
    std::pair<std::vector<Args>, std::vector<Args>> runs;
    for (auto& run : testing::ReadRuns(bin_, "drop")) runs.first.push_back(run.args);
    for (auto& run : testing::ReadRuns(bin_, "lock")) runs.second.push_back(run.args);
    std::filesystem::remove_all(bin_ + "/runs-drop");
    std::filesystem::remove_all(bin_ + "/runs-lock");
    std::filesystem::create_directories(bin_ + "/runs-drop");
    std::filesystem::create_directories(bin_ + "/runs-lock");
    return runs;
  }

  static Args Expected(const std::string& user, const std::string& srcip) {
    return {"add", user, srcip, "1700000000.1", "5712", "/var/log/auth.log", "-"};
  }

  testing::TempDir dir_;
  std::string bin_, state_;
  config::Config config_;
  std::unique_ptr<Execd> execd_;
  std::unique_ptr<ExecqSink> sink_;
  std::unique_ptr<Responder> responder_;
};

TEST_F(InjectionTest, CraftedHostsNeverReachTheProgram) {
  const char* hosts[] = {
      "1.2.3.4;reboot",
      "1.2.3.4 ; reboot",
      "$(reboot)",
      "1.2.3.4$(reboot)",
      "`reboot`",
      "1.2.3.4`id`",
      "'1.2.3.4'",
      "\"1.2.3.4\"",
      "1.2.3.4\n5.6.7.8",
      "1.2.3.4\r",
      "1.2.3.4 5.6.7.8",
      "1.2.3.4,5.6.7.8",
      "1.2.3.4 -j ACCEPT",
      "-1.2.3.4",
      "evil.example.com",
      "[1.2.3.4]",
      "[2001:db8::1]:22;reboot",
      "fe80::1%eth0",
      "2001:db8::1/0",
      "0.0.0.0/0",
  };
  for (const char* host : hosts) {
    SCOPED_TRACE(host);
    auto [drop, lock] = Fire(host, "alice");
    EXPECT_TRUE(drop.empty()) << "drop ran with " << drop[0][2];
    // The user is valid, so the account response still runs, with the address as "-".
    ASSERT_EQ(lock.size(), 1u);
    EXPECT_EQ(lock[0], Expected("alice", "-"));
  }
}

TEST_F(InjectionTest, CraftedUsersNeverReachTheProgram) {
  const char* users[] = {
      "root;reboot", "$(reboot)", "`reboot`",  "root'",  "\"root\"", "root\nadmin", "root admin",
      "-rf",         "--help",    "../../etc", "root\\", "a?b",      "root\t",
  };
  for (const char* user : users) {
    SCOPED_TRACE(user);
    auto [drop, lock] = Fire("192.0.2.9", user);
    EXPECT_TRUE(lock.empty()) << "lock ran with " << lock[0][1];
    // The address is valid, so the address response still runs, with the user as "-".
    ASSERT_EQ(drop.size(), 1u);
    EXPECT_EQ(drop[0], Expected("-", "192.0.2.9"));
  }
}

TEST_F(InjectionTest, AddressFormsAreNormalised) {
  const struct {
    const char* input;
    const char* address;
  } cases[] = {
      {"[2001:db8::1]:22", "2001:db8::1"}, {"[2001:DB8:0::1]", "2001:db8::1"},
      {"::ffff:192.0.2.5", "192.0.2.5"},   {"[::ffff:192.0.2.5]:443", "192.0.2.5"},
      {"192.0.2.5:22", "192.0.2.5"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.input);
    auto [drop, lock] = Fire(c.input, "bob");
    ASSERT_EQ(drop.size(), 1u);
    EXPECT_EQ(drop[0], Expected("-", c.address));
    ASSERT_EQ(lock.size(), 1u);
    EXPECT_EQ(lock[0], Expected("bob", "-"));
  }
}

TEST_F(InjectionTest, CraftedDatagramsRunNothing) {
  auto socket = DatagramSocket::Unbound();
  ASSERT_TRUE(socket.ok());
  const std::string messages[] = {
      "drop0 - 1.2.3.4;reboot",
      "drop0 - 1.2.3.4\nlock0 root -",
      "lock0 root;reboot -",
      "lock0 $(reboot) -",
      std::string("drop0 - 1.2.3.4\0lock0 root -", 27),
      "drop0 - 1.2.3.4 1.1 5712 /var/log/a\x01 -",
      R"({"command":"drop0","parameters":{"alert":{"data":{"srcip":"1.2.3.4 5.6.7.8"}}}})",
      R"({"command":"lock0","parameters":{"alert":{"data":{"dstuser":"`id`"}}}})",
  };
  const uint64_t before = execd_->counters().messages;
  for (const std::string& message : messages) {
    ASSERT_TRUE(socket->SendTo(execd_->paths().execq, message).ok());
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (execd_->counters().messages < before + std::size(messages) &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(2));
  }
  ASSERT_TRUE(execd_->WaitIdle(milliseconds(5000)));
  EXPECT_TRUE(testing::ReadRuns(bin_, "drop").empty());
  EXPECT_TRUE(testing::ReadRuns(bin_, "lock").empty());
  EXPECT_EQ(execd_->counters().invalid_messages, std::size(messages));
}

}  // namespace
}  // namespace vigil::response
