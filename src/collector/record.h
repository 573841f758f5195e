// A record: one log event as a reader frames it, before analysis.
#pragma once

#include <cstdint>
#include <string>

namespace vigil::collector {

struct Record {
  // The event text: valid UTF-8 without NUL bytes (the reader escapes anything else).
  std::string text;
  // Source of the record as analysis and alerts show it: a file path, a command alias, "stdin".
  std::string location;
  // True when the record was longer than the reader's maximum and was cut.
  bool truncated = false;
  // OSSEC's message queue code for this record: '1' for log files, '3' for nmap host
  // information, 'a' for MySQL and djb-multilog, 'b' for PostgreSQL.
  char queue = '1';
  // Byte offset in the source just past the last byte of this record. A reader restarted at
  // this offset neither loses nor repeats a record, for readers that emit records in order.
  uint64_t end_offset = 0;
};

}  // namespace vigil::collector
