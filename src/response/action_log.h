// The record of every active-response action, one JSON object per line, that `vigil control`
// reads. Events: "decided" (a rule bound a response and the request went to execd), "sent"
// (the request was queued for an agent), "skipped" (with the reason), "executed" (with exit
// status), "failed", "extended", "escalated", "simulated", "undone", and on a manager
// "expired" (the agent did not connect in time).
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/status.h"

namespace vigil::response {

struct ActionRecord {
  int64_t time_ms = 0;  // wall clock, milliseconds since the Unix epoch; set by Append()
  std::string event;
  std::string response;
  std::string key;  // address, "user:NAME" or other dedupe key
  std::string rule_id;
  std::string agent_id;            // the agent the record is about; empty for this host
  std::string reason;              // why it was skipped or failed, or what was done
  std::vector<std::string> args;   // program arguments after argv[0]
  std::optional<int> exit_status;  // program exit status; -1 when it was killed
  int64_t duration_ms = -1;        // program run time
};

// Appends records to a file. Each record is one write() on a file opened with O_APPEND, so
// records from several processes do not interleave. Thread-safe.
class ActionLog {
 public:
  // Opens (creating) `path`. An empty path makes a log that drops every record.
  static Expected<std::unique_ptr<ActionLog>> Open(const std::string& path, const Clock* clock);
  ~ActionLog();

  void Append(ActionRecord record);

  const std::string& path() const { return path_; }

 private:
  ActionLog(std::string path, int fd, const Clock* clock)
      : path_(std::move(path)), fd_(fd), clock_(clock) {}

  std::string path_;
  int fd_ = -1;
  const Clock* clock_;
  std::mutex mu_;
  uint64_t write_errors_ = 0;
};

// Reads the last `max_records` records of a log (all when 0). Lines that do not parse are
// skipped and counted in `*skipped` when it is not null.
Expected<std::vector<ActionRecord>> ReadActionLog(const std::string& path, size_t max_records,
                                                  size_t* skipped);

// Returns one line of text for a record: time, event, response, key, then details.
std::string FormatActionRecord(const ActionRecord& record);

}  // namespace vigil::response
