// OSSEC's local queue socket as an input: scripts and socat inject events with it.
#pragma once

#include <memory>
#include <string>

#include "collector/reader.h"
#include "collector/source_status.h"
#include "common/status.h"

namespace vigil::collector {

// Parses one datagram `<queue>:<location>:<message>`, with or without OSSEC's trailing NUL.
// A location that starts with `(` is the agent form `(name) address->location`, whose first
// `:` after `->` ends it. The message is escaped like file input and cut at `max_bytes`.
// Returns false for a datagram without the two separators.
bool ParseQueueMessage(std::string_view datagram, size_t max_bytes, Record* record,
                       uint64_t* escaped_bytes);

// An AF_UNIX datagram socket bound at a path. Used by the collector thread only.
class QueueSocket {
 public:
  // Binds `path` (mode 0660), replacing a stale socket file. Errors name the path.
  static Expected<std::unique_ptr<QueueSocket>> Bind(const std::string& path,
                                                     size_t max_record_bytes);
  ~QueueSocket();

  int fd() const { return fd_; }
  const std::string& path() const { return path_; }

  // Receives every datagram waiting, without blocking, and emits one record for each valid
  // one. Malformed datagrams are counted as format errors and logged (rate-limited).
  void Receive(const RecordCallback& emit);

  const SourceCounters& counters() const { return counters_; }

 private:
  QueueSocket(int fd, std::string path, size_t max_record_bytes)
      : fd_(fd), path_(std::move(path)), max_record_bytes_(max_record_bytes) {}

  int fd_;
  std::string path_;
  size_t max_record_bytes_;
  SourceCounters counters_;
};

}  // namespace vigil::collector
