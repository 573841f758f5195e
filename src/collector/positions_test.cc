#include "collector/positions.h"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "collector/queue_socket.h"
#include "collector/source_status.h"
#include "common/file.h"

namespace vigil::collector {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;

class TempDir : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/vigil-positions-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_;
};

class PositionStoreTest : public TempDir {
 protected:
  // Loads `store`, failing the test on an error or a warning.
  void LoadWithoutWarnings(PositionStore* store) {
    std::vector<std::string> warnings;
    ASSERT_TRUE(store->Load(&warnings).ok());
    EXPECT_THAT(warnings, IsEmpty());
  }
};

TEST_F(PositionStoreTest, SavesAndLoadsPathsWithSpaces) {
  PositionStore store(dir_ + "/positions");
  FilePosition position;
  position.device = 2049;
  position.inode = 123456;
  position.offset = 789;
  position.fingerprint = ComputeFingerprint("first bytes");
  position.path = "/var/log/my app/x.log";
  store.Set(position);
  ASSERT_TRUE(store.Save().ok());

  PositionStore loaded(dir_ + "/positions");
  ASSERT_NO_FATAL_FAILURE(LoadWithoutWarnings(&loaded));
  const FilePosition* found = loaded.Find(2049, 123456);
  ASSERT_NE(found, nullptr);
  EXPECT_EQ(found->offset, 789u);
  EXPECT_EQ(found->fingerprint, position.fingerprint);
  EXPECT_EQ(found->path, "/var/log/my app/x.log");
}

TEST_F(PositionStoreTest, SkipsMalformedLinesWithWarning) {
  std::ofstream(dir_ + "/positions") << "# header\n1 2 3 4 5 /ok.log\nnot a position\n";
  PositionStore store(dir_ + "/positions");
  std::vector<std::string> warnings;
  ASSERT_TRUE(store.Load(&warnings).ok());
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_THAT(warnings[0], HasSubstr("positions:3: malformed"));
  EXPECT_NE(store.Find(1, 2), nullptr);
}

TEST_F(PositionStoreTest, SavesReplayMarkAndCheckpoint) {
  PositionStore store(dir_ + "/positions");
  FilePosition position;
  position.device = 7;
  position.inode = 8;
  position.offset = 100;
  position.before_offset = ComputeFingerprint("bytes before the offset");
  position.replay_end = 400;
  position.open_starts = {100, 250};
  position.path = "/var/log/audit/audit.log";
  store.Set(position);
  store.set_checkpoint("alerts.json=10\narchives.log=20");
  ASSERT_TRUE(store.Save().ok());

  PositionStore loaded(dir_ + "/positions");
  ASSERT_NO_FATAL_FAILURE(LoadWithoutWarnings(&loaded));
  EXPECT_EQ(loaded.checkpoint(), "alerts.json=10 archives.log=20");
  const FilePosition* found = loaded.Find(7, 8);
  ASSERT_NE(found, nullptr);
  EXPECT_EQ(found->before_offset, position.before_offset);
  EXPECT_EQ(found->replay_end, 400u);
  EXPECT_THAT(found->open_starts, ::testing::ElementsAre(100u, 250u));
  EXPECT_EQ(found->path, "/var/log/audit/audit.log");
}

TEST_F(PositionStoreTest, LoadsVersion1Files) {
  std::ofstream(dir_ + "/positions") << "# vigil collector positions v1\n"
                                        "3 4 55 11 99 /var/log/old format.log\n";
  PositionStore store(dir_ + "/positions");
  ASSERT_NO_FATAL_FAILURE(LoadWithoutWarnings(&store));
  const FilePosition* found = store.Find(3, 4);
  ASSERT_NE(found, nullptr);
  EXPECT_EQ(found->offset, 55u);
  EXPECT_EQ(found->before_offset.length, 0u) << "v1 has no fingerprint before the offset";
  EXPECT_EQ(found->path, "/var/log/old format.log");
}

TEST_F(PositionStoreTest, SavesListedAndClosedFiles) {
  PositionStore store(dir_ + "/positions");
  KnownFile rotated;
  rotated.fingerprint = ComputeFingerprint("rotated");
  KnownFile empty;
  empty.fingerprint = ComputeFingerprint("");
  store.set_listed({{{1, 2}, rotated}, {{1, 3}, empty}});
  KnownFile closed;
  closed.fingerprint = ComputeFingerprint("closed");
  closed.offset = 4096;
  store.AddClosed({1, 4}, closed);
  ASSERT_TRUE(store.Save().ok());

  PositionStore loaded(dir_ + "/positions");
  ASSERT_NO_FATAL_FAILURE(LoadWithoutWarnings(&loaded));
  EXPECT_TRUE(loaded.listed_loaded());
  ASSERT_EQ(loaded.listed().size(), 2u);
  EXPECT_EQ(loaded.listed().at({1, 2}).fingerprint, rotated.fingerprint);
  EXPECT_TRUE(loaded.listed().at({1, 3}).fingerprint_known) << "an empty file is known";
  EXPECT_EQ(loaded.listed().at({1, 3}).fingerprint, empty.fingerprint);
  ASSERT_EQ(loaded.closed().size(), 1u);
  EXPECT_EQ(loaded.closed().at({1, 4}).fingerprint, closed.fingerprint);
  EXPECT_EQ(loaded.closed().at({1, 4}).offset, 4096u);
}

TEST_F(PositionStoreTest, LoadsVersion2Listing) {
  std::ofstream(dir_ + "/positions") << "# vigil collector positions v2\n"
                                        "@listed 7 8 7 9\n";
  PositionStore store(dir_ + "/positions");
  ASSERT_NO_FATAL_FAILURE(LoadWithoutWarnings(&store));
  ASSERT_EQ(store.listed().size(), 2u);
  EXPECT_FALSE(store.listed().at({7, 8}).fingerprint_known);
  ASSERT_TRUE(store.Save().ok());

  PositionStore loaded(dir_ + "/positions");
  ASSERT_NO_FATAL_FAILURE(LoadWithoutWarnings(&loaded));
  ASSERT_EQ(loaded.listed().size(), 2u);
  EXPECT_FALSE(loaded.listed().at({7, 9}).fingerprint_known) << "saved as unknown";
}

TEST_F(PositionStoreTest, KeepsLatestClosedFiles) {
  PositionStore store(dir_ + "/positions");
  for (size_t i = 0; i < PositionStore::kMaxClosed + 5; ++i) {
    store.AddClosed({1, static_cast<ino_t>(i)}, KnownFile());
  }
  EXPECT_EQ(store.closed().size(), PositionStore::kMaxClosed);
  EXPECT_EQ(store.closed().count({1, 4}), 0u) << "the oldest are dropped";
  EXPECT_EQ(store.closed().count({1, 5}), 1u);
}

TEST_F(PositionStoreTest, MissingFileIsEmpty) {
  PositionStore store(dir_ + "/absent");
  ASSERT_TRUE(store.Load(nullptr).ok());
  EXPECT_TRUE(store.all().empty());
}

TEST(Fingerprint, BeforeOffsetCoversBytesBeforeIt) {
  std::string path = "/tmp/vigil-fingerprint-" + std::to_string(getpid());
  std::ofstream(path) << std::string(600, 'x') << "tail bytes";
  int fd = open(path.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  Fingerprint before;
  ASSERT_TRUE(ReadFingerprintBefore(fd, 610, &before));
  EXPECT_EQ(before.length, Fingerprint::kFingerprintBytes);
  EXPECT_EQ(before, ComputeFingerprint(std::string(502, 'x') + "tail bytes"));
  ASSERT_TRUE(ReadFingerprintBefore(fd, 5, &before));
  EXPECT_EQ(before, ComputeFingerprint("xxxxx"));
  EXPECT_FALSE(ReadFingerprintBefore(fd, 700, &before)) << "past the end of the file";
  close(fd);
  unlink(path.c_str());
}

TEST(Fingerprint, CoversOnlyFirstBytes) {
  std::string a(600, 'a');
  std::string b = a;
  b[550] = 'b';
  EXPECT_EQ(ComputeFingerprint(a), ComputeFingerprint(b));
  b[10] = 'b';
  EXPECT_NE(ComputeFingerprint(a), ComputeFingerprint(b));
  EXPECT_EQ(ComputeFingerprint(a).length, Fingerprint::kFingerprintBytes);
}

using StatusFileTest = TempDir;

TEST_F(StatusFileTest, RejectsInvalidJson) {
  std::ofstream(dir_ + "/status.json") << "{not json";
  auto status = ReadStatusFile(dir_ + "/status.json");
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(status.status().message(), HasSubstr("status.json"));
}

TEST_F(StatusFileTest, KeepsEveryCounter) {
  CollectorStatus status;
  status.updated_unix_seconds = 1700000000;
  SourceStatus source;
  source.location = "/var/log/*.log";
  source.log_format = "syslog";
  source.files = {"/var/log/a.log"};
  source.counters.reader.lines = 1;
  source.counters.reader.records = 2;
  source.counters.reader.truncated = 3;
  source.counters.reader.escaped_bytes = 4;
  source.counters.reader.skipped_lines = 5;
  source.counters.reader.format_errors = 6;
  source.counters.reader.timeouts = 7;
  source.counters.bytes_read = 8;
  source.counters.files_opened = 9;
  source.counters.rotations = 10;
  source.counters.open_errors = 11;
  source.counters.command_runs = 12;
  source.counters.bytes_lost = 13;
  status.sources.push_back(source);
  ASSERT_TRUE(WriteStatusFile(dir_ + "/status.json", status).ok());
  auto loaded = ReadStatusFile(dir_ + "/status.json");
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  EXPECT_EQ(loaded->updated_unix_seconds, 1700000000);
  ASSERT_EQ(loaded->sources.size(), 1u);
  EXPECT_EQ(FormatCounters(loaded->sources[0].counters), FormatCounters(source.counters));
  EXPECT_EQ(loaded->sources[0].files, source.files);
}

TEST(ParseQueueMessage, Forms) {
  struct Case {
    std::string datagram;
    bool ok;
    std::string location;
    std::string text;
    char queue;
  };
  std::vector<Case> cases = {
      {"1:/var/log/x:hello", true, "/var/log/x", "hello", '1'},
      {std::string("1:loc:with nul\0", 15), true, "loc", "with nul", '1'},
      {"1:(web) 10.0.0.1->/var/log/secure:a: b", true, "(web) 10.0.0.1->/var/log/secure", "a: b",
       '1'},
      {"a:mysql:text", true, "mysql", "text", 'a'},
      {"1:no message separator", false, "", "", 0},
      {"1", false, "", "", 0},
      {"", false, "", "", 0},
  };
  for (const Case& test : cases) {
    SCOPED_TRACE(test.datagram);
    Record record;
    uint64_t escaped = 0;
    ASSERT_EQ(ParseQueueMessage(test.datagram, 1024, &record, &escaped), test.ok);
    if (!test.ok) continue;
    EXPECT_EQ(record.location, test.location);
    EXPECT_EQ(record.text, test.text);
    EXPECT_EQ(record.queue, test.queue);
  }
}

TEST(ParseQueueMessage, CutsAndEscapes) {
  Record record;
  uint64_t escaped = 0;
  ASSERT_TRUE(
      ParseQueueMessage("1:loc:abc\xff"
                        "defgh",
                        5, &record, &escaped));
  EXPECT_EQ(record.text, "abc\\xffd");
  EXPECT_TRUE(record.truncated);
  EXPECT_EQ(escaped, 1u);
}

}  // namespace
}  // namespace vigil::collector
