#include "transport/disk_queue.h"

#include <gtest/gtest.h>

#include <fstream>

#include "common/file.h"
#include "transport/test_support.h"

namespace vigil::transport {
namespace {

using testing::TempDir;

class DiskQueueTest : public ::testing::Test {
 protected:
  std::unique_ptr<DiskQueue> Open(uint64_t max_bytes = 1 << 20, uint64_t segment_bytes = 1 << 20) {
    DiskQueueOptions options;
    options.dir = dir_.Sub("queue");
    options.max_bytes = max_bytes;
    options.segment_bytes = segment_bytes;
    Expected<std::unique_ptr<DiskQueue>> queue = DiskQueue::Open(options);
    EXPECT_TRUE(queue.ok()) << queue.status().ToString();
    return queue.ok() ? std::move(*queue) : nullptr;
  }
  size_t SegmentCount() {
    Expected<std::vector<std::string>> names = ListDirectory(dir_.Sub("queue"));
    size_t n = 0;
    for (const std::string& name : *names) n += name.ends_with(".seg") ? 1 : 0;
    return n;
  }

  TempDir dir_;
};

TEST_F(DiskQueueTest, KeepsUnackedBatchesAcrossReopen) {
  std::string session;
  std::vector<QueuedBatch> before;
  {
    auto queue = Open();
    session = queue->session_id();
    for (int i = 0; i < 3; ++i) {
      ASSERT_TRUE(queue->Append({{"stdin", "record " + std::to_string(i)}}).ok());
    }
    ASSERT_TRUE(queue->Acknowledge(1).ok());
    before = queue->Peek(0, 10);
  }
  auto queue = Open();
  EXPECT_EQ(queue->session_id(), session);
  std::vector<QueuedBatch> after = queue->Peek(0, 10);
  ASSERT_EQ(after.size(), 2u);
  EXPECT_EQ(after[0].seq, 2u);
  EXPECT_EQ(after[0].frame, before[0].frame);
  EXPECT_EQ(queue->depth_records(), 2u);
  ASSERT_TRUE(queue->Append({{"stdin", "record 3"}}).ok());
  EXPECT_EQ(queue->last_seq(), 4u);
}

TEST_F(DiskQueueTest, FullQueueRejectsThenRecovers) {
  auto queue = Open(/*max_bytes=*/4096);
  std::vector<EventRecord> records{{"stdin", std::string(1000, 'x')}};
  int accepted = 0;
  Status status;
  while ((status = queue->Append(records)).ok()) ++accepted;
  EXPECT_EQ(status.code(), StatusCode::kResourceExhausted);
  EXPECT_GT(accepted, 0);
  EXPECT_EQ(queue->counters().rejected_full, 1u);
  EXPECT_FALSE(queue->WaitForSpace(1100, std::chrono::milliseconds(10)));
  ASSERT_TRUE(queue->Acknowledge(queue->last_seq()).ok());
  EXPECT_TRUE(queue->WaitForSpace(1100, std::chrono::milliseconds(10)));
  EXPECT_TRUE(queue->Append(records).ok());
}

TEST_F(DiskQueueTest, CutsTornTailAtOpen) {
  {
    auto queue = Open();
    ASSERT_TRUE(queue->Append({{"stdin", "a"}}).ok());
    ASSERT_TRUE(queue->Append({{"stdin", "b"}}).ok());
  }
  Expected<std::vector<std::string>> names = ListDirectory(dir_.Sub("queue"));
  std::string segment;
  for (const std::string& name : *names) {
    if (name.ends_with(".seg")) segment = dir_.Sub("queue") + "/" + name;
  }
  ASSERT_FALSE(segment.empty());
  std::ofstream(segment, std::ios::app) << std::string("\x40\x00\x00\x00garbage", 11);
  {
    auto queue = Open();
    EXPECT_EQ(queue->Peek(0, 10).size(), 2u);
    EXPECT_EQ(queue->counters().dropped_corrupt_bytes, 11u);
    ASSERT_TRUE(queue->Append({{"stdin", "c"}}).ok());
  }
  auto queue = Open();
  std::vector<QueuedBatch> batches = queue->Peek(0, 10);
  ASSERT_EQ(batches.size(), 3u);
  EXPECT_EQ(batches[2].seq, 3u);
}

TEST_F(DiskQueueTest, AcknowledgedSegmentsAreRemoved) {
  auto queue = Open(1 << 20, /*segment_bytes=*/512);
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(queue->Append({{"stdin", std::string(100, 'a' + i % 26)}}).ok());
  }
  EXPECT_GT(SegmentCount(), 3u);
  ASSERT_TRUE(queue->Acknowledge(25).ok());
  EXPECT_EQ(queue->depth_records(), 25u);
  ASSERT_TRUE(queue->Acknowledge(50).ok());
  EXPECT_EQ(SegmentCount(), 0u);
  EXPECT_EQ(queue->depth_bytes(), 0u);
}

TEST_F(DiskQueueTest, SplitsLargeAppendsAndTruncatesHugeRecords) {
  auto queue = Open(64 << 20);
  std::vector<EventRecord> records(600, {"stdin", std::string(1000, 'r')});
  records.push_back({"stdin", std::string(kMaxEventBytes + 10, 'h')});
  ASSERT_TRUE(queue->Append(records).ok());
  EXPECT_GT(queue->last_seq(), 1u);
  EXPECT_EQ(queue->depth_records(), 601u);
  EXPECT_EQ(queue->counters().truncated_records, 1u);
}

TEST_F(DiskQueueTest, SeparateQueuesHaveSeparateSessions) {
  auto first = Open();
  DiskQueueOptions options;
  options.dir = dir_.Sub("other");
  Expected<std::unique_ptr<DiskQueue>> second = DiskQueue::Open(options);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(first->session_id().size(), 32u);
  EXPECT_NE(first->session_id(), (*second)->session_id());
}

}  // namespace
}  // namespace vigil::transport

namespace vigil::transport {
namespace {

TEST_F(DiskQueueTest, NewSessionRenumbersUnackedBatches) {
  std::string old_session;
  {
    auto queue = Open();
    old_session = queue->session_id();
    for (int i = 0; i < 5; ++i) ASSERT_TRUE(queue->Append({{"stdin", std::to_string(i)}}).ok());
    ASSERT_TRUE(queue->Acknowledge(2).ok());
    ASSERT_TRUE(queue->StartNewSession().ok());
    EXPECT_NE(queue->session_id(), old_session);
    std::vector<QueuedBatch> batches = queue->Peek(0, 10);
    ASSERT_EQ(batches.size(), 3u);
    EXPECT_EQ(batches[0].seq, 1u);
    EXPECT_EQ(batches[2].seq, 3u);
    ASSERT_TRUE(queue->Append({{"stdin", "5"}}).ok());
  }
  auto queue = Open();
  EXPECT_NE(queue->session_id(), old_session);
  std::vector<QueuedBatch> batches = queue->Peek(0, 10);
  ASSERT_EQ(batches.size(), 4u);
  EXPECT_EQ(batches[3].seq, 4u);
  FrameDecoder decoder;
  decoder.Append(batches[0].frame);
  Frame frame;
  ASSERT_EQ(decoder.Next(&frame), FrameDecoder::Result::kFrame);
  Expected<Message> first = DecodeFrame(frame);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(std::get<EventBatchMessage>(*first).records[0].text, "2");
}

TEST_F(DiskQueueTest, InterruptedSessionChangeIsFinishedAtOpen) {
  std::string new_session;
  {
    auto queue = Open();
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(queue->Append({{"stdin", std::to_string(i)}}).ok());
    ASSERT_TRUE(queue->StartNewSession().ok());
    new_session = queue->session_id();
  }
  // Recreate the state just before the final rename: the committed file and an old segment.
  std::string dir = dir_.Sub("queue");
  std::string segment = dir + "/00000000000000000001.seg";
  std::string pending = dir + "/renumbered-" + new_session + ".tmp";
  ASSERT_EQ(std::rename(segment.c_str(), pending.c_str()), 0);
  std::ofstream(dir + "/00000000000000000007.seg") << std::string("stale", 5);
  auto queue = Open();
  EXPECT_EQ(queue->session_id(), new_session);
  std::vector<QueuedBatch> batches = queue->Peek(0, 10);
  ASSERT_EQ(batches.size(), 3u);
  EXPECT_EQ(batches[0].seq, 1u);
  EXPECT_EQ(SegmentCount(), 1u);
}

}  // namespace
}  // namespace vigil::transport
