// Readers frame a byte stream into records, one reader per <log_format>.
//
// The same readers serve the live collector, `vigil analyze` and the fuzz targets: bytes go in
// through Feed() in chunks of any size, complete records come out through the callback.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "collector/record.h"
#include "common/status.h"

namespace vigil::collector {

using RecordCallback = std::function<void(Record&&)>;

// What a reader has seen and changed. Readers count and report; they never stop or lose sync.
struct ReaderCounters {
  uint64_t lines = 0;          // input lines seen
  uint64_t records = 0;        // records emitted
  uint64_t truncated = 0;      // records cut at the maximum size
  uint64_t escaped_bytes = 0;  // NUL and invalid UTF-8 bytes escaped as \xHH
};

struct ReaderOptions {
  // Records longer than this are cut, marked truncated and counted (bytes).
  size_t max_record_bytes = 64 * 1024;
  // Location copied into every record.
  std::string location;
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

  const ReaderCounters& counters() const { return counters_; }

 protected:
  ReaderCounters counters_;
};

// Creates the reader for a log format name as written in <log_format> ("syslog", ...), with
// the format's attributes (`lines`, `timeout`, ...). Unknown names and invalid attributes are
// InvalidArgument errors that name the format and the attribute.
Expected<std::unique_ptr<RecordReader>> MakeReader(
    const std::string& log_format, const std::map<std::string, std::string>& format_options,
    const ReaderOptions& options);

}  // namespace vigil::collector
