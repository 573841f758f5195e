// Alert sinks: files in an output folder (alerts.log, alerts.json, archives) or a stream.
#pragma once

#include <cstdio>
#include <memory>
#include <string>

#include "alerting/alert.h"
#include "analysis/rule_engine.h"
#include "common/status.h"

namespace vigil::alerting {

// Writes alerts as OSSEC does: alerts.log gets each alert's text block and the alert id is
// `<epoch>.<byte offset of the block in alerts.log>`; alerts.json gets the same alert as JSON.
// Not thread-safe.
class AlertFileWriter {
 public:
  struct Options {
    std::string output_dir;
    bool json = true;            // write alerts.json
    bool archives = false;       // write archives.log with every event (logall)
    bool archives_json = false;  // write archives.json (logall_json)
  };

  // Creates the folder if needed and opens the files for appending.
  static Expected<std::unique_ptr<AlertFileWriter>> Open(const Options& options);
  ~AlertFileWriter();

  // Writes one alert and, when `id` is not null, stores its id there. Rules without log_alert
  // are not written to alerts.log (OSSEC's log_alert_level) but still count.
  Status WriteAlert(const analysis::RuleMatch& match, const analysis::Event& event,
                    std::string* id = nullptr);
  // Writes an event to the archives when they are enabled.
  Status WriteArchive(const analysis::Event& event);
  // Flushes buffered output to the files. Output stays in a buffer of kBufferBytes per file
  // until then, or until the buffer fills.
  Status Flush();

  static constexpr size_t kBufferBytes = 256 * 1024;

 private:
  AlertFileWriter() = default;
  std::string dir_;
  FILE* log_ = nullptr;
  FILE* json_ = nullptr;
  FILE* archives_ = nullptr;
  FILE* archives_json_ = nullptr;
  // Stdio buffers of kBufferBytes for log_, json_, archives_ and archives_json_, in that order.
  // glibc ignores setvbuf's size without a buffer, so the writer supplies them. They must
  // outlive the streams.
  std::unique_ptr<char[]> buffers_[4];
  long log_offset_ = 0;
  // Reused for every alert, so formatting allocates nothing once they have grown.
  Alert alert_;
  std::string text_;
};

}  // namespace vigil::alerting
