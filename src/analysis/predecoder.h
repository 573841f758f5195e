// Pre-decoding: finds the header of a log line (timestamp, host name, program name) and where
// the message itself starts, as OSSEC's analysisd does before running decoders.
#pragma once

#include <string>
#include <string_view>

#include "analysis/event.h"

namespace vigil::analysis {

class PreDecoder {
 public:
  // `local_hostname` is used for local events whose header names no host (OSSEC uses the
  // manager's short host name).
  explicit PreDecoder(std::string local_hostname) : local_hostname_(std::move(local_hostname)) {}

  // Sets event->log_offset, hostname, program_name and has_program_name from full_log and
  // location. The log's own timestamp is recognised and skipped but never parsed: the event
  // time stays the receive time, as in OSSEC.
  void Run(Event* event) const;

  // Returns the short host name of this machine (up to the first dot).
  static std::string ShortHostname();

 private:
  std::string local_hostname_;
};

}  // namespace vigil::analysis
