#include "response/runner.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <thread>

#include "response/test_support.h"

namespace vigil::response {
namespace {

using std::chrono::milliseconds;

std::string WriteScript(const std::string& dir, const std::string& name, const std::string& body) {
  const std::string path = dir + "/" + name;
  std::ofstream(path) << "#!/bin/sh\n" << body;
  ::chmod(path.c_str(), 0755);
  return path;
}

const std::vector<std::string> kEnv = {"PATH=/usr/bin:/bin"};

TEST(RunProgram, ReportsExitStatusAndOutput) {
  testing::TempDir dir;
  const std::string path = WriteScript(dir.path(), "p", "echo out; echo \"err $1\" >&2; exit 3\n");
  ProgramResult result = RunProgram(path, {"add"}, kEnv, "", milliseconds(5000));
  ASSERT_TRUE(result.spawn_status.ok()) << result.spawn_status.message();
  EXPECT_EQ(result.exit_status, 3);
  EXPECT_EQ(result.stdout_text, "out\n");
  EXPECT_EQ(result.stderr_text, "err add\n");
  EXPECT_FALSE(result.timed_out);
  EXPECT_FALSE(result.succeeded());
  EXPECT_EQ(DescribeResult(result), "exit status 3");
}

TEST(RunProgram, PassesArgumentsWithoutShellInterpretation) {
  testing::TempDir dir;
  const std::string path = WriteScript(dir.path(), "p", "printf '%s|' \"$@\"\n");
  const std::vector<std::string> args = {"a b", "$(id)", "`id`", ";id", "'\"", "x\ny", "*"};
  ProgramResult result = RunProgram(path, args, kEnv, "", milliseconds(5000));
  EXPECT_EQ(result.exit_status, 0);
  EXPECT_EQ(result.stdout_text, "a b|$(id)|`id`|;id|'\"|x\ny|*|");
}

TEST(RunProgram, WritesStdinAndSetsOnlyTheGivenEnvironment) {
  testing::TempDir dir;
  const std::string path = WriteScript(dir.path(), "p", "cat; env | sort\n");
  ProgramResult result =
      RunProgram(path, {}, {"PATH=/usr/bin:/bin", "VIGIL_X=1"}, "{\"a\":1}\n", milliseconds(5000));
  EXPECT_EQ(result.exit_status, 0);
  EXPECT_NE(result.stdout_text.find("{\"a\":1}\n"), std::string::npos);
  EXPECT_NE(result.stdout_text.find("VIGIL_X=1"), std::string::npos);
  EXPECT_EQ(result.stdout_text.find("HOME="), std::string::npos) << result.stdout_text;
}

TEST(RunProgram, KillsProgramGroupAfterTimeLimit) {
  testing::TempDir dir;
  const std::string marker = dir.path() + "/survived";
  const std::string path =
      WriteScript(dir.path(), "p", "(sleep 2; touch " + marker + ") & sleep 30\n");
  const auto start = std::chrono::steady_clock::now();
  ProgramResult result = RunProgram(path, {}, kEnv, "", milliseconds(300));
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_TRUE(result.timed_out);
  EXPECT_EQ(result.signal, 9);
  EXPECT_LT(elapsed, std::chrono::seconds(2));
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  EXPECT_FALSE(std::ifstream(marker).good()) << "a child of the killed program survived";
}

TEST(RunProgram, DoesNotWaitForChildrenHoldingOutput) {
  testing::TempDir dir;
  const std::string path = WriteScript(dir.path(), "p", "sleep 5 & exit 0\n");
  const auto start = std::chrono::steady_clock::now();
  ProgramResult result = RunProgram(path, {}, kEnv, "", milliseconds(10'000));
  EXPECT_EQ(result.exit_status, 0);
  EXPECT_FALSE(result.timed_out);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
}

TEST(RunProgram, ReportsMissingProgram) {
  ProgramResult result = RunProgram("/nonexistent/program", {}, kEnv, "", milliseconds(1000));
  EXPECT_FALSE(result.spawn_status.ok());
  EXPECT_NE(result.spawn_status.message().find("/nonexistent/program"), std::string::npos);
}

}  // namespace
}  // namespace vigil::response
