// Crash recovery of the daemon's output: the checkpoint saved with the read positions, and
// the records found past it in the output files at the next start.
//
// The collector saves its read positions together with a checkpoint: the sizes of
// alerts.json, archives.log and archives.json right after the pipeline flushed them. After a
// kill -9 the collector reads again from the saved positions, so the records handled between
// that save and the kill come again. Every one of them that reached an output file is past
// the checkpoint there, and DeliveredRecords lets the daemon drop it instead of analysing it
// twice.
#pragma once

#include <set>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/status.h"

namespace vigil::daemon {

// Returns the checkpoint text for the output files in `output_dir` as they are now:
// `alerts.json=<bytes> archives.log=<bytes> archives.json=<bytes>`, a missing file counting
// as 0. REQUIRES: the writer has flushed everything it was handed.
std::string OutputCheckpoint(const std::string& output_dir);

// Records that reached the output files after a checkpoint, as (location, text) pairs with a
// count. Used by one thread.
class DeliveredRecords {
 public:
  // Reads the complete lines past the checkpoint's sizes in alerts.json, archives.log and
  // archives.json of `output_dir`. Only records of the files in `locations` are kept,
  // because the collector reads only those again (never a command's or an agent's). An empty
  // checkpoint, a missing file or a file now shorter than its checkpoint size (rotated by hand)
  // adds nothing. A record found in several files counts once; a record found twice in one file
  // counts twice.
  static Expected<DeliveredRecords> ReadAfter(const std::string& output_dir,
                                              const std::string& checkpoint,
                                              const std::set<std::string>& locations);

  // Returns true, and removes one occurrence, when the record at `location` with `text` (as
  // the collector emitted it) is among the delivered records.
  bool Consume(std::string_view location, std::string_view text);

  bool empty() const { return counts_.empty(); }
  // Returns the number of records not consumed yet.
  size_t size() const;
  void Clear() { counts_.clear(); }

 private:
  static std::string Key(std::string_view location, std::string_view text);

  std::unordered_map<std::string, size_t> counts_;
};

}  // namespace vigil::daemon
