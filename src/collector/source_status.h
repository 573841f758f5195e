// Counters per input source, as `vigil run` logs them at stop and `vigil status` prints them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "collector/reader.h"
#include "common/status.h"

namespace vigil::collector {

struct SourceCounters {
  ReaderCounters reader;    // summed over every file the source has read
  uint64_t bytes_read = 0;  // bytes read from files, commands or the socket
  uint64_t files_opened = 0;
  uint64_t rotations = 0;     // renames, truncations and rewrites detected
  uint64_t open_errors = 0;   // files that exist but could not be opened or read
  uint64_t command_runs = 0;  // runs of a command source
  // Bytes that a truncation removed before they were read, when no copy of them was found.
  uint64_t bytes_lost = 0;

  SourceCounters& operator+=(const SourceCounters& other);
};

struct SourceStatus {
  std::string location;  // as configured: a path, glob, command or socket path
  std::string log_format;
  std::vector<std::string> files;  // files followed now
  SourceCounters counters;
};

struct CollectorStatus {
  int64_t updated_unix_seconds = 0;  // wall-clock time of the snapshot
  std::vector<SourceStatus> sources;
};

// Writes `status` as JSON to `path`, atomically.
Status WriteStatusFile(const std::string& path, const CollectorStatus& status);

// Reads a file written by WriteStatusFile.
Expected<CollectorStatus> ReadStatusFile(const std::string& path);

// Formats the status as a table for `vigil status`: one row per source.
std::string FormatStatus(const CollectorStatus& status);

// Formats the counters as `key=value` pairs for a log line.
std::string FormatCounters(const SourceCounters& counters);

}  // namespace vigil::collector
