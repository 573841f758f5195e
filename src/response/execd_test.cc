#include "response/execd.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <thread>

#include "common/file.h"
#include "response/test_support.h"

namespace vigil::response {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using Args = std::vector<std::string>;

bool WaitFor(const std::function<bool()>& condition, milliseconds timeout = milliseconds(5000)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(milliseconds(5));
  }
  return condition();
}

class ExecdTest : public ::testing::Test {
 protected:
  void SetUp() override {
    bin_ = dir_.path() + "/bin";
    state_ = dir_.path() + "/state";
    ASSERT_TRUE(MakeDirectories(bin_).ok());
    testing::WriteRecorder(bin_, "recorder");
    testing::WriteRecorder(bin_, "failing", 3);
    config_ = testing::MakeConfig(state_, bin_);
    testing::AddResponse(&config_, "drop", "recorder", true, false, 60);
  }

  void StartExecd(const Clock* clock) {
    ExecdOptions options;
    options.state_dir = state_;
    options.responses_dir = bin_;
    options.clock = clock;
    auto execd = Execd::Start(config_, options);
    ASSERT_TRUE(execd.ok()) << execd.status().message();
    execd_ = std::move(*execd);
  }

  // Sends one datagram and waits until execd has received it and finished its work.
  void Send(std::string_view payload) {
    const uint64_t before = execd_->counters().messages;
    auto socket = DatagramSocket::Unbound();
    ASSERT_TRUE(socket.ok());
    ASSERT_TRUE(socket->SendTo(execd_->paths().execq, payload).ok());
    ASSERT_TRUE(WaitFor([&] { return execd_->counters().messages > before; }));
    ASSERT_TRUE(execd_->WaitIdle(milliseconds(10'000)));
  }

  void AdvanceAndSettle(ManualClock* clock, seconds delta) {
    const uint64_t undone = execd_->counters().undone;
    clock->Advance(delta);
    execd_->Wake();
    // The loop needs one pass to see the wake-up; give it up to 200 ms to dispatch.
    WaitFor([&] { return execd_->counters().undone > undone; }, milliseconds(200));
    ASSERT_TRUE(execd_->WaitIdle(milliseconds(10'000)));
  }

  // Sends an unblock request for `srcip` from a client socket and returns execd's reply.
  nlohmann::json RequestUnblock(const std::string& srcip) {
    auto client = DatagramSocket::Bind(state_ + "/queue/alerts/test-client");
    EXPECT_TRUE(client.ok()) << client.status().message();
    if (!client.ok()) return {};
    const nlohmann::json request = {{"version", 1}, {"control", "unblock"}, {"srcip", srcip}};
    EXPECT_TRUE(client->SendTo(execd_->paths().execq, request.dump()).ok());
    std::string reply, sender;
    EXPECT_TRUE(client->Receive(&reply, &sender, 65536, milliseconds(5000)).ok());
    return nlohmann::json::parse(reply, nullptr, false);
  }

  std::vector<testing::RecordedRun> Runs(const std::string& name = "recorder") {
    return testing::ReadRuns(bin_, name);
  }

  std::vector<ActionRecord> Actions() {
    auto records = ReadActionLog(execd_->paths().actions, 0, nullptr);
    return records.ok() ? *records : std::vector<ActionRecord>{};
  }

  testing::TempDir dir_;
  std::string bin_, state_;
  config::Config config_;
  std::unique_ptr<Execd> execd_;
};

TEST_F(ExecdTest, RunsProgramWithOssecArguments) {
  ManualClock clock;
  StartExecd(&clock);
  Send("drop60 - 1.2.3.4 1700000000.4567 5712 /var/log/auth.log -");
  auto runs = Runs();
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].args,
            (Args{"add", "-", "1.2.3.4", "1700000000.4567", "5712", "/var/log/auth.log", "-"}));
  EXPECT_TRUE(runs[0].stdin_text.empty());
  EXPECT_EQ(execd_->counters().executed, 1u);
  auto actions = Actions();
  ASSERT_EQ(actions.size(), 1u);
  EXPECT_EQ(actions[0].event, "executed");
  EXPECT_EQ(actions[0].exit_status, 0);
}

TEST_F(ExecdTest, WritesWazuhJsonToStdinWhenAsked) {
  config_.commands[0].json_stdin = true;
  ManualClock clock;
  StartExecd(&clock);
  Send(
      R"({"version":1,"command":"drop60","parameters":{"alert":{"id":"1.2","rule":{"id":"5712"},"data":{"srcip":"10.0.0.1"}}}})");
  auto runs = Runs();
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].args, (Args{"add", "-", "10.0.0.1", "1.2", "5712", "-", "-"}));
  auto json = nlohmann::json::parse(runs[0].stdin_text, nullptr, false);
  ASSERT_FALSE(json.is_discarded()) << runs[0].stdin_text;
  EXPECT_EQ(json["command"], "add");
  EXPECT_EQ(json["parameters"]["alert"]["data"]["srcip"], "10.0.0.1");
  EXPECT_EQ(json["parameters"]["program"], bin_ + "/recorder");
}

TEST_F(ExecdTest, AcceptsMessagesFromSocat) {
  if (::access("/usr/bin/socat", X_OK) != 0) {
    GTEST_SKIP() << "socat is not installed (apt-get install socat)";
  }
  ManualClock clock;
  StartExecd(&clock);
  const std::string command =
      "printf 'drop60 - 192.0.2.7 1.1 5712 /var/log/auth.log -\\n' | "
      "/usr/bin/socat -u - UNIX-SENDTO:" +
      execd_->paths().execq;
  ASSERT_EQ(std::system(command.c_str()), 0);
  ASSERT_TRUE(WaitFor([&] { return execd_->counters().messages == 1; }));
  ASSERT_TRUE(execd_->WaitIdle(milliseconds(10'000)));
  auto runs = Runs();
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].args[2], "192.0.2.7");
}

TEST_F(ExecdTest, RepeatExtendsInsteadOfRunningTwice) {
  ManualClock clock;
  StartExecd(&clock);
  Send("drop60 - 1.2.3.4");
  AdvanceAndSettle(&clock, seconds(30));
  Send("drop60 - 1.2.3.4");
  EXPECT_EQ(Runs().size(), 1u);
  EXPECT_EQ(execd_->counters().extended, 1u);
  AdvanceAndSettle(&clock, seconds(40));
  EXPECT_EQ(Runs().size(), 1u) << "the delete ran at the first timeout, not the extended one";
  AdvanceAndSettle(&clock, seconds(21));
  auto runs = Runs();
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[1].args, (Args{"delete", "-", "1.2.3.4"}));
  EXPECT_TRUE(execd_->Pending().empty());
  auto actions = Actions();
  ASSERT_EQ(actions.size(), 3u);
  EXPECT_EQ(actions[1].event, "extended");
  EXPECT_EQ(actions[2].event, "undone");
}

TEST_F(ExecdTest, EscalatesRepeatedOffenders) {
  config_.active_responses[0].repeated_offenders_minutes = {2};
  ManualClock clock;
  StartExecd(&clock);
  Send("drop60 - 1.2.3.4");
  Send("drop60 - 1.2.3.4");
  auto pending = execd_->Pending();
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_EQ(pending[0].timeout_seconds, 120);
  EXPECT_EQ(Actions().back().event, "escalated");
  AdvanceAndSettle(&clock, seconds(61));
  EXPECT_EQ(Runs().size(), 1u);
  AdvanceAndSettle(&clock, seconds(60));
  EXPECT_EQ(Runs().size(), 2u);
}

TEST_F(ExecdTest, DeletesWithinASecondOfDueTime) {
  config_.active_responses[0].timeout_seconds = 1;
  StartExecd(nullptr);
  const auto start = std::chrono::steady_clock::now();
  Send("drop1 - 1.2.3.4");
  ASSERT_TRUE(WaitFor([&] { return execd_->counters().undone == 1; }, milliseconds(5000)));
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_GE(elapsed, milliseconds(1000));
  EXPECT_LT(elapsed, milliseconds(2000));
}

TEST_F(ExecdTest, PendingDeletesSurviveRestart) {
  ManualClock clock;
  StartExecd(&clock);
  Send("drop60 - 1.2.3.4");
  Send("drop60 - 5.6.7.8");
  execd_->Stop();
  execd_.reset();
  ASSERT_EQ(Runs().size(), 2u) << "a clean stop must leave the blocks in place";

  clock.Advance(seconds(30));
  StartExecd(&clock);
  EXPECT_EQ(execd_->Pending().size(), 2u);
  AdvanceAndSettle(&clock, seconds(31));
  ASSERT_TRUE(WaitFor([&] { return Runs().size() == 4u; }));
  EXPECT_EQ(Runs()[2].args[0], "delete");
  execd_.reset();

  // A restart after the due time carries the delete out at once.
  StartExecd(&clock);
  Send("drop60 - 9.9.9.9");
  execd_.reset();
  clock.Advance(seconds(3600));
  StartExecd(&clock);
  ASSERT_TRUE(WaitFor([&] { return Runs().size() == 6u; }));
  EXPECT_EQ(Runs()[5].args, (Args{"delete", "-", "9.9.9.9"}));
}

TEST_F(ExecdTest, RereadsTableForUnknownName) {
  ManualClock clock;
  StartExecd(&clock);
  auto table = ReadFile(execd_->paths().table);
  ASSERT_TRUE(table.ok());
  ASSERT_TRUE(WriteFileAtomic(execd_->paths().table, *table + "late one - recorder - 0\n").ok());
  Send("late one - 1.2.3.4");
  EXPECT_EQ(Runs().size(), 1u);
  Send("never-defined - 1.2.3.4");
  EXPECT_EQ(Runs().size(), 1u);
  auto actions = Actions();
  ASSERT_EQ(actions.size(), 2u);
  EXPECT_EQ(actions[1].event, "skipped");
  EXPECT_NE(actions[1].reason.find("unknown response"), std::string::npos);
}

TEST_F(ExecdTest, SimulateRunsNothing) {
  config_.active_responses[0].simulate = true;
  ManualClock clock;
  StartExecd(&clock);
  Send("drop60 - 1.2.3.4");
  AdvanceAndSettle(&clock, seconds(61));
  EXPECT_TRUE(Runs().empty());
  EXPECT_EQ(execd_->counters().simulated, 2u);
  auto actions = Actions();
  ASSERT_EQ(actions.size(), 2u);
  EXPECT_EQ(actions[0].event, "simulated");
  EXPECT_EQ(actions[0].args, (Args{"add", "-", "1.2.3.4"}));
  EXPECT_EQ(actions[1].args, (Args{"delete", "-", "1.2.3.4"}));
}

TEST_F(ExecdTest, UnblockUndoesAndReplies) {
  ManualClock clock;
  StartExecd(&clock);
  Send("drop60 - 2001:db8::5");
  nlohmann::json reply = RequestUnblock("[2001:DB8::5]");
  ASSERT_EQ(reply["undone"].size(), 1u) << reply;
  EXPECT_EQ(reply["undone"][0]["response"], "drop60");
  ASSERT_TRUE(execd_->WaitIdle(milliseconds(10'000)));
  auto runs = Runs();
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[1].args, (Args{"delete", "-", "2001:db8::5"}));
  EXPECT_TRUE(execd_->Pending().empty());
}

// The reply to an unblock comes once the delete has run, so a client that reads "undone" finds
// the address unblocked. The program here takes 300 ms after recording its run.
TEST_F(ExecdTest, UnblockRepliesAfterDelete) {
  testing::WriteRecorder(bin_, "slow", 0, 0.3);
  testing::AddResponse(&config_, "slow", "slow", true, false, 60);
  ManualClock clock;
  StartExecd(&clock);
  Send("slow60 - 192.0.2.9");
  nlohmann::json reply = RequestUnblock("192.0.2.9");
  ASSERT_EQ(reply["undone"].size(), 1u) << reply;

  // No wait here: the delete's run and its action record exist when the reply arrives.
  auto runs = Runs("slow");
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[1].args, (Args{"delete", "-", "192.0.2.9"}));
  auto actions = Actions();
  ASSERT_EQ(actions.size(), 2u);
  EXPECT_EQ(actions[1].event, "undone");
}

TEST_F(ExecdTest, RecordsFailuresAndRejectsInvalidMessages) {
  testing::AddResponse(&config_, "broken", "failing", true, false, 0);
  ManualClock clock;
  StartExecd(&clock);
  Send("broken0 - 1.2.3.4");
  Send("drop60 - 1.2.3.4;reboot");
  Send("drop60 root 1.2.3.4 1 2 /var/log/x -");  // the user is fine, the response needs none
  Send("drop60 - -");
  EXPECT_EQ(execd_->counters().failed, 1u);
  EXPECT_EQ(execd_->counters().invalid_messages, 1u);
  auto actions = Actions();
  ASSERT_EQ(actions.size(), 4u);
  EXPECT_EQ(actions[0].event, "failed");
  EXPECT_EQ(actions[0].exit_status, 3);
  EXPECT_NE(actions[0].reason.find("recorder add"), std::string::npos) << actions[0].reason;
  EXPECT_EQ(actions[1].event, "skipped");
  EXPECT_EQ(actions[2].event, "executed");
  EXPECT_EQ(actions[3].event, "skipped");
  EXPECT_NE(actions[3].reason.find("source address"), std::string::npos);
}

TEST_F(ExecdTest, RefusesSecondExecdOnSameState) {
  ManualClock clock;
  StartExecd(&clock);
  ExecdOptions options;
  options.state_dir = state_;
  options.responses_dir = bin_;
  Send("drop60 - 1.2.3.4");
  auto second = Execd::Start(config_, options);
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.status().message().find("another execd"), std::string::npos);
  // The failed start left the running execd's pending deletes alone.
  auto text = ReadFile(execd_->paths().pending);
  ASSERT_TRUE(text.ok());
  EXPECT_NE(text->find("1.2.3.4"), std::string::npos) << *text;
}

TEST_F(ExecdTest, RequiresResponsesFolderForPrograms) {
  ExecdOptions options;
  options.state_dir = state_;
  auto execd = Execd::Start(config_, options);
  ASSERT_FALSE(execd.ok());
  EXPECT_NE(execd.status().message().find("<responses_dir>"), std::string::npos)
      << execd.status().message();
}

TEST_F(ExecdTest, WritesSameTableOnEveryStart) {
  config_.active_responses[0].name = "block - ssh - brute force";
  ManualClock clock;
  StartExecd(&clock);
  auto first = ReadFile(execd_->paths().table);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(*first, "block - ssh - brute force - recorder - 60\n");
  execd_.reset();
  StartExecd(&clock);
  auto second = ReadFile(execd_->paths().table);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(*first, *second);
  Send("block - ssh - brute force - 1.2.3.4");
  EXPECT_EQ(Runs().size(), 1u);
}

}  // namespace
}  // namespace vigil::response
