// Alert sinks: files in an output folder (alerts.log, alerts.json, archives) or a stream.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "alerting/alert.h"
#include "analysis/rule_engine.h"
#include "common/status.h"

namespace vigil::alerting {

// A file descriptor with a buffer in front of it. Output waits in the buffer until Flush(),
// until the buffer fills, or, for a terminal, until the end of each Append().
class BufferedOutput {
 public:
  static constexpr size_t kBufferBytes = 256 * 1024;

  // `name` names the output in error messages. With `owned`, the destructor closes `fd`.
  BufferedOutput(int fd, std::string name, bool owned);
  BufferedOutput(const BufferedOutput&) = delete;
  BufferedOutput& operator=(const BufferedOutput&) = delete;
  // Flushes, and closes the descriptor when owned. A write error here is lost, so owners call
  // Flush() first.
  ~BufferedOutput();

  Status Append(std::string_view text);
  Status Flush();
  int fd() const { return fd_; }
  const std::string& name() const { return name_; }

 private:
  int fd_;
  std::string name_;
  bool owned_;
  bool terminal_;
  std::unique_ptr<char[]> buffer_;  // kBufferBytes, allocated by the first Append()
  size_t used_ = 0;
};

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
  // Writes to file descriptor `fd`, named `name` in error messages, instead of files: the
  // alerts.log text of each alert, or with `json` its JSON line. The ids count alerts.log
  // bytes from the start of the output in both cases, so they are the ids that an empty
  // alerts.log would give. The writer does not close `fd`.
  static std::unique_ptr<AlertFileWriter> ForStream(int fd, std::string name, bool json);

  // Writes one alert and, when `id` is not null, stores its id there. Rules without log_alert
  // are not written to alerts.log (OSSEC's log_alert_level) but still count.
  Status WriteAlert(const analysis::RuleMatch& match, const analysis::Event& event,
                    std::string* id = nullptr);
  // Writes an event to the archives when they are enabled.
  Status WriteArchive(const analysis::Event& event);
  // Writes buffered output to the files. Output stays in a buffer of
  // BufferedOutput::kBufferBytes per file until then, or until the buffer fills.
  Status Flush();

 private:
  AlertFileWriter() = default;
  std::unique_ptr<BufferedOutput> log_;
  std::unique_ptr<BufferedOutput> json_;
  std::unique_ptr<BufferedOutput> archives_;
  std::unique_ptr<BufferedOutput> archives_json_;
  long log_offset_ = 0;
  // Reused for every alert, so formatting allocates nothing once they have grown.
  Alert alert_;
  std::string text_;
};

}  // namespace vigil::alerting
