// Runs a reader over a whole file or stream, for `vigil analyze` and tests: the same framing
// as the daemon, without following.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "collector/reader.h"

namespace vigil::collector {

struct FramedInput {
  std::vector<Record> records;
  ReaderCounters counters;
};

// Waits until `fd` has input or reaches its end. While it waits, it does what the daemon's
// collector does for a quiet file: it ends the groups whose timeout passes and emits a record
// left pending for the reader's flush timeout since `last_data`, then calls `after_emit`
// (may be empty). `clock` null means the system clock.
void WaitForInput(int fd, RecordReader* reader, std::chrono::steady_clock::time_point last_data,
                  const RecordCallback& emit, const std::function<void()>& after_emit,
                  const Clock* clock = nullptr);

// Frames everything `fd` delivers until end of file with the reader of `log_format`, and
// emits records as they complete. At the end, Flush() emits the partial last line and every
// open group. While the stream is idle (a pipe from `tail -f`), groups and pending records
// end as WaitForInput() describes. Returns the reader's counters. Errors are an invalid format or
// attribute and read failures.
Expected<ReaderCounters> FrameStream(int fd, const std::string& log_format,
                                     const std::map<std::string, std::string>& format_options,
                                     const ReaderOptions& options, const RecordCallback& emit);

// Frames a whole file ("-" reads standard input). The records' location is the path unless
// options.location is set.
Expected<FramedInput> FrameFile(const std::string& path, const std::string& log_format,
                                const std::map<std::string, std::string>& format_options,
                                ReaderOptions options = {});

// Returns the record text as one JSON string literal, the `--records` output format.
std::string RecordToJson(const Record& record);

}  // namespace vigil::collector
