// The agent's bounded on-disk queue of event batches that the manager has not acknowledged.
//
// Records enter as batches: each batch gets the next sequence number of the queue's session
// when it is appended, and it keeps that number and its content until the manager
// acknowledges it, so a batch resent after a reconnect is byte-for-byte the one sent before
// and the manager can drop it as a duplicate.
//
// Files in `dir` (mode 0600):
//   session                 the session id: 32 random hex digits, created with the queue
//   acked                   the highest acknowledged sequence number
//   <20-digit seq>.seg      segments of appended batches, named by their first sequence
// A segment entry is a 4-byte little-endian length, a 4-byte CRC-32 of the payload, and the
// payload: one encoded EventBatch frame. A torn or corrupt tail (a crash mid-append) is cut
// off at open and counted.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/status.h"
#include "transport/message.h"

namespace vigil::transport {

struct DiskQueueOptions {
  std::string dir;
  uint64_t max_bytes = 64ull << 20;      // bound on unacknowledged batch bytes on disk
  uint64_t max_batch_bytes = 256 << 10;  // records per batch before compression
  uint64_t segment_bytes = 8ull << 20;   // a new segment starts past this size
  bool fsync_each_append = false;        // fsync(2) every append; slower but crash-proof
};

// One batch as the agent sends it.
struct QueuedBatch {
  uint64_t seq = 0;
  uint64_t records = 0;
  std::string frame;  // the encoded EventBatch frame
};

struct DiskQueueCounters {
  uint64_t appended_batches = 0;
  uint64_t appended_records = 0;
  uint64_t acknowledged_batches = 0;
  uint64_t rejected_full = 0;          // Append calls refused because the queue was full
  uint64_t truncated_records = 0;      // records cut to the protocol's maximum event size
  uint64_t dropped_corrupt_bytes = 0;  // bytes of torn or corrupt segment tails cut at open
};

// Thread-safe: the collector appends while the sender peeks and acknowledges.
class DiskQueue {
 public:
  static Expected<std::unique_ptr<DiskQueue>> Open(const DiskQueueOptions& options);
  ~DiskQueue();

  // Appends `records` as one or more batches, all or nothing. Returns kResourceExhausted
  // without writing anything when they do not fit: the caller stops advancing its read
  // positions and retries after WaitForSpace().
  Status Append(const std::vector<EventRecord>& records);

  // Blocks until `bytes` more would fit, the timeout passes or Close() is called. Returns true
  // when there is room.
  bool WaitForSpace(uint64_t bytes, std::chrono::milliseconds timeout);

  // Returns up to `max_batches` batches with sequence numbers above `after_seq`, in order.
  std::vector<QueuedBatch> Peek(uint64_t after_seq, size_t max_batches) const;

  // Drops every batch up to and including `seq`.
  Status Acknowledge(uint64_t seq);

  // Moves the unacknowledged batches into a new session: a new session id, and the batches
  // renumbered from 1 in their order. For a queue whose session the manager retired.
  Status StartNewSession();

  // Calls `notify` after every successful Append (from the appending thread).
  void SetAppendNotify(std::function<void()> notify);

  // Wakes WaitForSpace callers and persists the acknowledged sequence number.
  void Close();

  std::string session_id() const;
  uint64_t acked_seq() const;
  uint64_t last_seq() const;
  uint64_t depth_records() const;
  uint64_t depth_bytes() const;
  DiskQueueCounters counters() const;

 private:
  struct Segment {
    uint64_t first_seq = 0;
    uint64_t last_seq = 0;
    uint64_t bytes = 0;
    std::string path;
  };

  explicit DiskQueue(DiskQueueOptions options) : options_(std::move(options)) {}
  Status Load();
  Status LoadSegment(const std::string& path, uint64_t first_seq);
  Status WriteBatchLocked(QueuedBatch batch);
  Status SaveAckedLocked();

  DiskQueueOptions options_;
  std::string session_id_;
  mutable std::mutex mu_;
  std::condition_variable space_cv_;
  std::deque<QueuedBatch> batches_;  // unacknowledged, in sequence order
  std::deque<Segment> segments_;
  int write_fd_ = -1;
  uint64_t acked_seq_ = 0;
  uint64_t saved_acked_seq_ = 0;
  uint64_t next_seq_ = 1;
  uint64_t depth_records_ = 0;
  uint64_t depth_bytes_ = 0;
  bool closed_ = false;
  std::function<void()> notify_;
  DiskQueueCounters counters_;
};

// Returns the CRC-32 (IEEE 802.3 polynomial) of `data`.
uint32_t Crc32(std::string_view data);

}  // namespace vigil::transport
