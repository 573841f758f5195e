// journald as an input, where Vigil is built with libsystemd.
#pragma once

#include <memory>
#include <string>

#include "collector/reader.h"
#include "collector/source_status.h"
#include "common/status.h"

namespace vigil::collector {

// Reads new journal entries and emits each as
// `YYYY-MM-DDThh:mm:ss+hh:mm <_HOSTNAME> <SYSLOG_IDENTIFIER>: <MESSAGE>` with location
// "journald", as OSSEC does. `unit` "all", "journald" or empty reads every entry; any other
// value keeps the entries whose _SYSTEMD_UNIT equals it. Reading starts at the journal's tail, or
// after the cursor saved in `cursor_file` by the last run. Used by the collector thread only.
class JournaldSource {
 public:
  // Returns Unsupported when Vigil was built without libsystemd.
  static Expected<std::unique_ptr<JournaldSource>> Open(const std::string& unit,
                                                        const std::string& cursor_file,
                                                        size_t max_record_bytes);
  virtual ~JournaldSource() = default;

  // A descriptor that becomes readable when the journal changes, or -1.
  virtual int fd() const = 0;
  // Emits every entry added since the last call.
  virtual void Read(const RecordCallback& emit) = 0;
  // Saves the cursor of the last entry read.
  virtual void SaveCursor() = 0;

  const SourceCounters& counters() const { return counters_; }
  const std::string& unit() const { return unit_; }

 protected:
  SourceCounters counters_;
  std::string unit_;
};

}  // namespace vigil::collector
