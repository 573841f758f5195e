// The one-line reader: one record per line, for syslog and every single-line format.
#pragma once

#include <string>

#include "collector/reader.h"

namespace vigil::collector {

// Splits at `\n`, strips a trailing `\r`, escapes NUL and invalid UTF-8, and cuts lines over
// the maximum size (the rest of such a line up to its newline is dropped and counted, so the
// next line starts in sync). A partial last line stays buffered until its newline or Flush().
class LineReader final : public RecordReader {
 public:
  explicit LineReader(ReaderOptions options) : options_(std::move(options)) {}

  void Feed(std::string_view bytes, const RecordCallback& emit) override;
  void Flush(const RecordCallback& emit) override;
  bool HasPending() const override { return !pending_.empty() || skipping_; }

 private:
  void EmitLine(std::string_view line, bool truncated, const RecordCallback& emit);

  ReaderOptions options_;
  std::string pending_;       // bytes of the current line seen so far
  bool skipping_ = false;     // dropping the rest of an over-long line
  uint64_t offset_ = 0;       // stream offset of the next byte Feed() receives
};

}  // namespace vigil::collector
