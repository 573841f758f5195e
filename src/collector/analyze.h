// Runs a reader over a whole file or stream, for `vigil analyze` and tests: the same framing
// as the daemon, without following.
#pragma once

#include <string>
#include <vector>

#include "collector/reader.h"

namespace vigil::collector {

struct FramedInput {
  std::vector<Record> records;
  ReaderCounters counters;
};

// Frames everything `fd` delivers until end of file with the reader of `log_format`, and
// emits records as they complete. At the end, Flush() emits the partial last line and every
// open group. Groups whose timeout passes while the stream is idle (a pipe from `tail -f`)
// end on time. Returns the reader's counters. Errors are an invalid format or attribute and
// read failures.
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
