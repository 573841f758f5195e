#include "collector/analyze.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <string>
#include <vector>

#include "collector/journald_source.h"

namespace vigil::collector {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(FrameFile, FramesWholeFileAndFlushesLastLine) {
  char path[] = "/tmp/vigil-analyze-XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  close(fd);
  {
    std::ofstream out(path, std::ios::binary);
    out << "a\nb\nc\nd";
  }
  auto framed = FrameFile(path, "multiline", {{"lines", "3"}});
  unlink(path);
  ASSERT_TRUE(framed.ok()) << framed.status().message();
  ASSERT_EQ(framed->records.size(), 2u);
  EXPECT_EQ(framed->records[0].text, "a b c");
  EXPECT_EQ(framed->records[1].text, "d");
  EXPECT_EQ(framed->records[1].location, path);
  EXPECT_EQ(framed->counters.lines, 4u);
}

TEST(FrameFile, MissingFileNamesThePath) {
  auto framed = FrameFile("/nonexistent/vigil.log", "syslog", {});
  ASSERT_FALSE(framed.ok());
  EXPECT_THAT(framed.status().message(), HasSubstr("/nonexistent/vigil.log"));
}

TEST(FrameFile, InvalidOptionIsAnError) {
  auto framed = FrameFile("/dev/null", "multiline", {});
  ASSERT_FALSE(framed.ok());
  EXPECT_THAT(framed.status().message(), HasSubstr("lines"));
}

// On a quiet stream, a record that only the next line would end is emitted once the reader's
// flush timeout has passed since the last data, and `after_emit` runs.
TEST(WaitForInput, QuietStreamEmitsPendingRecord) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  ManualClock clock;
  ReaderOptions options;
  options.clock = &clock;
  auto reader = MakeReader("multi-line_indented", {}, options);
  ASSERT_TRUE(reader.ok()) << reader.status().message();
  std::vector<std::string> records;
  auto emit = [&](Record&& record) { records.push_back(record.text); };
  (*reader)->Feed("first line\n  continued\n", emit);
  ASSERT_TRUE(records.empty());

  auto last_data = clock.SteadyNow();
  clock.Advance((*reader)->flush_timeout());
  int idle_calls = 0;
  WaitForInput(
      fds[0], reader->get(), last_data, emit, [&] { ++idle_calls; }, &clock);
  EXPECT_THAT(records, ElementsAre("first line continued"));
  EXPECT_EQ(idle_calls, 1);

  // With nothing pending, it returns as soon as input is ready.
  ASSERT_EQ(write(fds[1], "x\n", 2), 2);
  WaitForInput(
      fds[0], reader->get(), clock.SteadyNow(), emit, [&] { ++idle_calls; }, &clock);
  EXPECT_EQ(idle_calls, 1);
  close(fds[0]);
  close(fds[1]);
}

TEST(RecordToJson, EscapesQuotesAndNewlines) {
  Record record;
  record.text = "say \"hi\"\nthen\\go";
  EXPECT_EQ(RecordToJson(record), "\"say \\\"hi\\\"\\nthen\\\\go\"");
}

TEST(JournaldSource, OpensAndReadsWithoutError) {
  auto journal = JournaldSource::Open("journald", "", 4096);
  if (!journal.ok()) {
    GTEST_SKIP() << "no journal here: " << journal.status().message();
  }
  std::vector<Record> records;
  (*journal)->Read([&](Record&& record) { records.push_back(std::move(record)); });
  for (const Record& record : records) {
    EXPECT_EQ(record.location, "journald");
    EXPECT_LE(record.text.size(), 4u * 4096);
  }
  EXPECT_EQ((*journal)->counters().reader.records, records.size());
}

}  // namespace
}  // namespace vigil::collector
