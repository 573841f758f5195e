#include "response/control.h"

#include <gtest/gtest.h>

#include <functional>
#include <thread>

#include "common/file.h"
#include "response/execd.h"
#include "response/test_support.h"

namespace vigil::response {
namespace {

using std::chrono::milliseconds;
using Args = std::vector<std::string>;

class ControlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    bin_ = dir_.path() + "/bin";
    state_ = dir_.path() + "/state";
    ASSERT_TRUE(MakeDirectories(bin_).ok());
    testing::WriteRecorder(bin_, "recorder");
    config_ = testing::MakeConfig(state_, bin_);
    testing::AddResponse(&config_, "drop", "recorder", true, false, 600);
    testing::AddResponse(&config_, "lock", "recorder", false, true, 60).name = "lock account";
    options_ = ControlOptions::FromConfig(config_);
    options_.clock = &clock_;
  }

  void StartExecd() {
    ExecdOptions options;
    options.state_dir = state_;
    options.responses_dir = bin_;
    options.clock = &clock_;
    auto execd = Execd::Start(config_, options);
    ASSERT_TRUE(execd.ok()) << execd.status().message();
    execd_ = std::move(*execd);
  }

  bool WaitForRuns(size_t count) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (std::chrono::steady_clock::now() < deadline) {
      if (testing::ReadRuns(bin_, "recorder").size() >= count) return true;
      std::this_thread::sleep_for(milliseconds(5));
    }
    return false;
  }

  testing::TempDir dir_;
  ManualClock clock_;
  std::string bin_, state_;
  config::Config config_;
  ControlOptions options_;
  std::unique_ptr<Execd> execd_;
};

TEST_F(ControlTest, ListsResponsesFromTable) {
  EXPECT_FALSE(ListResponses(options_).ok()) << "no table before the first start";
  StartExecd();
  auto entries = ListResponses(options_);
  ASSERT_TRUE(entries.ok()) << entries.status().message();
  ASSERT_EQ(entries->size(), 2u);
  EXPECT_EQ((*entries)[1].name, "lock account");
  EXPECT_EQ(FormatResponses(*entries),
            "Active responses (name - program - timeout):\n"
            "  drop600 - recorder - 600 s\n"
            "  lock account - recorder - 60 s\n");
}

TEST_F(ControlTest, RunsThroughExecdAndUnblocks) {
  StartExecd();
  EXPECT_TRUE(IsExecdRunning(state_));
  auto done = RunResponseNow(config_, options_, "[2001:db8::7]:22", "drop600");
  ASSERT_TRUE(done.ok()) << done.status().message();
  EXPECT_NE(done->find("sent"), std::string::npos) << *done;
  ASSERT_TRUE(WaitForRuns(1));
  EXPECT_EQ(testing::ReadRuns(bin_, "recorder")[0].args,
            (Args{"add", "-", "2001:db8::7", "(from_the_server)", "(no_rule_id)"}));

  ASSERT_TRUE(execd_->WaitIdle(milliseconds(5000)));
  // execd saves the pending file after it has dispatched the program, so wait for the file.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (ListBlocks(options_).ok() && ListBlocks(options_)->empty() &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(5));
  }
  clock_.Advance(std::chrono::seconds(100));
  auto blocks = ListBlocks(options_);
  ASSERT_TRUE(blocks.ok()) << blocks.status().message();
  ASSERT_EQ(blocks->size(), 1u);
  EXPECT_EQ((*blocks)[0].key, "2001:db8::7");
  EXPECT_EQ((*blocks)[0].seconds_left, 500);
  EXPECT_EQ(FormatBlocks(*blocks),
            "Blocked now (where, response, address or user, time left):\n"
            "  here  drop600  2001:db8::7  8m20s\n");

  auto undone = Unblock(config_, options_, "2001:DB8::7");
  ASSERT_TRUE(undone.ok()) << undone.status().message();
  EXPECT_EQ(*undone, (std::vector<std::string>{"drop600 2001:db8::7"}));
  ASSERT_TRUE(WaitForRuns(2));
  EXPECT_EQ(testing::ReadRuns(bin_, "recorder")[1].args[0], "delete");
  auto after = ListBlocks(options_);
  ASSERT_TRUE(after.ok());
  EXPECT_TRUE(after->empty());
  EXPECT_EQ(FormatBlocks(*after), "Nothing is blocked.\n");
}

TEST_F(ControlTest, RunsLocallyWithoutExecdAndStartCarriesOn) {
  EXPECT_FALSE(IsExecdRunning(state_));
  auto done = RunResponseNow(config_, options_, "192.0.2.1", "drop600");
  ASSERT_TRUE(done.ok()) << done.status().message();
  EXPECT_NE(done->find("execd is not running"), std::string::npos) << *done;
  ASSERT_EQ(testing::ReadRuns(bin_, "recorder").size(), 1u);
  auto blocks = ListBlocks(options_);
  ASSERT_TRUE(blocks.ok());
  ASSERT_EQ(blocks->size(), 1u);
  EXPECT_EQ((*blocks)[0].seconds_left, 600);

  // The second request only extends the pending block.
  ASSERT_TRUE(RunResponseNow(config_, options_, "192.0.2.1", "drop600").ok());
  EXPECT_EQ(testing::ReadRuns(bin_, "recorder").size(), 1u);

  // A start after the due time undoes it.
  clock_.Advance(std::chrono::seconds(601));
  StartExecd();
  ASSERT_TRUE(WaitForRuns(2));
  EXPECT_EQ(testing::ReadRuns(bin_, "recorder")[1].args,
            (Args{"delete", "-", "192.0.2.1", "(from_the_server)", "(no_rule_id)"}));
}

TEST_F(ControlTest, UnblocksLocallyWithoutExecd) {
  ASSERT_TRUE(RunResponseNow(config_, options_, "192.0.2.1", "drop600").ok());
  ASSERT_TRUE(RunResponseNow(config_, options_, "192.0.2.2", "drop600").ok());
  auto undone = Unblock(config_, options_, "::ffff:192.0.2.1");
  ASSERT_TRUE(undone.ok()) << undone.status().message();
  EXPECT_EQ(undone->size(), 1u);
  auto runs = testing::ReadRuns(bin_, "recorder");
  ASSERT_EQ(runs.size(), 3u);
  EXPECT_EQ(runs[2].args[0], "delete");
  EXPECT_EQ(runs[2].args[2], "192.0.2.1");
  auto blocks = ListBlocks(options_);
  ASSERT_TRUE(blocks.ok());
  ASSERT_EQ(blocks->size(), 1u);
  EXPECT_EQ((*blocks)[0].key, "192.0.2.2");
  auto nothing = Unblock(config_, options_, "198.51.100.1");
  ASSERT_TRUE(nothing.ok());
  EXPECT_TRUE(nothing->empty());
  auto actions = RecentActions(options_, 2);
  ASSERT_TRUE(actions.ok());
  ASSERT_EQ(actions->size(), 2u);
  EXPECT_EQ((*actions)[1].event, "undone");
}

// A delete that fails is an error with and without a running execd, and a running execd
// replies only after the delete has run.
TEST_F(ControlTest, FailedUndoIsAnErrorEitherWay) {
  const std::string program = bin_ + "/halfway";
  ASSERT_TRUE(
      WriteFileAtomic(program,
                      "#!/bin/sh\n"
                      "if [ \"$1\" = delete ]; then sleep 0.3; echo cannot >&2; exit 3; fi\n"
                      "exit 0\n",
                      0755)
          .ok());
  testing::AddResponse(&config_, "half", "halfway", true, false, 600);
  options_ = ControlOptions::FromConfig(config_);
  options_.clock = &clock_;

  // Without execd.
  ASSERT_TRUE(RunResponseNow(config_, options_, "192.0.2.7", "half600").ok());
  auto offline = Unblock(config_, options_, "192.0.2.7");
  ASSERT_FALSE(offline.ok());
  EXPECT_NE(offline.status().message().find("undoing 'half600' for 192.0.2.7 failed: exit"),
            std::string::npos)
      << offline.status().message();

  // Through a running execd.
  StartExecd();
  ASSERT_TRUE(RunResponseNow(config_, options_, "192.0.2.8", "half600").ok());
  ASSERT_TRUE(execd_->WaitIdle(milliseconds(5000)));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (ListBlocks(options_).ok() && ListBlocks(options_)->empty() &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(5));
  }
  auto online = Unblock(config_, options_, "192.0.2.8");
  ASSERT_FALSE(online.ok());
  EXPECT_NE(online.status().message().find("undoing 'half600' for 192.0.2.8 failed: exit"),
            std::string::npos)
      << online.status().message();
  auto actions = RecentActions(options_, 1);
  ASSERT_TRUE(actions.ok());
  ASSERT_EQ(actions->size(), 1u);
  EXPECT_EQ((*actions)[0].event, "failed") << "the reply came after the delete had run";
}

TEST_F(ControlTest, RejectsInvalidRequests) {
  EXPECT_EQ(RunResponseNow(config_, options_, "1.2.3.4;reboot", "drop600").status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(RunResponseNow(config_, options_, "1.2.3.4", "nope").status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(RunResponseNow(config_, options_, "1.2.3.4", "lock account").status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_FALSE(Unblock(config_, options_, "host.example.com").ok());
  EXPECT_TRUE(testing::ReadRuns(bin_, "recorder").empty());
}

}  // namespace
}  // namespace vigil::response
