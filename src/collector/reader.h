// Readers frame a byte stream into records, one reader per <log_format>.
//
// The same readers serve the live collector, `vigil analyze` and the fuzz targets: bytes go in
// through Feed() in chunks of any size, complete records come out through the callback.
// A reader is used by one thread at a time; readers share nothing.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "collector/record.h"
#include "common/clock.h"
#include "common/status.h"

namespace vigil::collector {

using RecordCallback = std::function<void(Record&&)>;

// Counts of what a reader has seen and changed. Readers count and report, and they never stop
// or lose sync.
struct ReaderCounters {
  uint64_t lines = 0;          // input lines seen
  uint64_t records = 0;        // records emitted
  uint64_t truncated = 0;      // records cut at the maximum size
  uint64_t escaped_bytes = 0;  // NUL and invalid UTF-8 bytes escaped as \xHH
  uint64_t skipped_lines = 0;  // lines that carry no event: empty lines, comments, trailers
  uint64_t format_errors = 0;  // lines that break the format; each is still emitted or counted
  uint64_t timeouts = 0;       // records emitted because their idle timeout or window expired

  ReaderCounters& operator+=(const ReaderCounters& other);
};

// Record of what a reader with several open records had emitted past ResumeOffset() when its
// position was saved. A reader restarted at ResumeOffset() with this mark skips the records that
// start before `end` and were not open, because they were emitted already.
struct ReplayMark {
  uint64_t end = 0;                   // stream offset just past the last line consumed; 0: none
  std::vector<uint64_t> open_starts;  // start offsets of the records open at `end`, ascending
};

struct ReaderOptions {
  // Records longer than this are cut, marked truncated and counted (bytes).
  size_t max_record_bytes = 64 * 1024;
  // Location copied into every record.
  std::string location;
  // Stream offset of the first byte Feed() will receive; records' offsets count from here.
  uint64_t start_offset = 0;
  // Unit of a timeout or window written as a plain number (logcollector.loop_timeout).
  std::chrono::milliseconds loop_timeout{2000};
  // Idle time after which a multi-line reader emits its pending record when the format's
  // options do not set a timeout.
  std::chrono::milliseconds default_flush_timeout{5000};
  // Time source for timeouts and windows; null means the system clock. Not owned.
  const Clock* clock = nullptr;
};

class RecordReader {
 public:
  virtual ~RecordReader() = default;

  // Consumes `bytes`, the next part of the stream, and emits every record it completes.
  virtual void Feed(std::string_view bytes, const RecordCallback& emit) = 0;

  // Emits whatever is pending as records: at the end of a finite input, or when the source
  // has been idle for the flush timeout. A partial last line becomes a record.
  virtual void Flush(const RecordCallback& emit) = 0;

  // Returns true when bytes are buffered that no record has emitted yet.
  virtual bool HasPending() const = 0;

  // Emits the records whose own timeout or window has expired at `now` (grouping readers);
  // the other readers emit nothing. Call it on every pass of the collector's loop.
  virtual void Expire(std::chrono::steady_clock::time_point now, const RecordCallback& emit) {}

  // Returns the earliest time at which Expire() may emit something, or time_point::max().
  virtual std::chrono::steady_clock::time_point NextExpiry() const {
    return std::chrono::steady_clock::time_point::max();
  }

  // Emits pending records that a restart could not rebuild exactly, before positions are
  // saved at a clean stop. Readers that keep several records open at once (grouped,
  // modsec_audit) emit them all; the others keep their pending record, because restarting at
  // ResumeOffset() rebuilds it.
  virtual void PrepareStop(const RecordCallback& emit) {}

  // Returns the stream offset where a restarted reader loses nothing and repeats no record
  // emitted so far: the start of the oldest pending record, or the end of the last line
  // consumed when nothing is pending. Readers with several open records may repeat records
  // completed after the oldest open one when restarted here after a crash.
  virtual uint64_t ResumeOffset() const = 0;

  // Returns the mark to save with ResumeOffset(), or an empty mark when restarting there
  // repeats nothing (readers that keep at most one record open).
  virtual ReplayMark GetReplayMark() const { return {}; }

  // Makes a reader that starts at a saved ResumeOffset() skip the records emitted before the
  // save. REQUIRES: no byte fed yet.
  virtual void SetReplayMark(ReplayMark mark) {}

  // Ends the current file but not the records it started, so they can continue in the next
  // file after a rotation: a partial last line becomes a complete line, and records still
  // waiting for lines stay pending. Then Rebase() before the next file's bytes.
  virtual void EndOfFile(const RecordCallback& emit) {}

  // Makes `offset` the stream offset of the next byte Feed() receives and of every pending
  // record's start, for a reader that continues in another file.
  virtual void Rebase(uint64_t offset) {}

  // Idle time after which the collector calls Flush() on a reader with HasPending().
  virtual std::chrono::milliseconds flush_timeout() const { return flush_timeout_; }

  const ReaderCounters& counters() const { return counters_; }

 protected:
  ReaderCounters counters_;
  std::chrono::milliseconds flush_timeout_{5000};
};

// Creates the reader for a log format name as written in <log_format> ("syslog", ...), with
// the format's attributes (`lines`, `timeout`, ...). Unknown names and invalid attributes are
// InvalidArgument errors that name the format and the attribute; the caller prefixes the
// config file and line.
Expected<std::unique_ptr<RecordReader>> MakeReader(
    const std::string& log_format, const std::map<std::string, std::string>& format_options,
    const ReaderOptions& options);

// Returns true when `log_format` names a format that runs a command instead of reading a file
// (`command`, `full_command`).
bool IsCommandFormat(const std::string& log_format);

// Returns the names MakeReader accepts, in documentation order.
const std::vector<std::string>& KnownLogFormats();

}  // namespace vigil::collector
