#include "collector/line_reader.h"

#include <cstring>

#include "common/text.h"

namespace vigil::collector {

void LineReader::EmitLine(std::string_view line, bool truncated, const RecordCallback& emit) {
  ++counters_.lines;
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  Record record;
  record.text.assign(line);
  if (record.text.size() > options_.max_record_bytes) {
    record.text.resize(options_.max_record_bytes);
    truncated = true;
  }
  SanitizeCounts counts;
  SanitizeText(&record.text, &counts);
  counters_.escaped_bytes += counts.nul_bytes + counts.invalid_bytes;
  record.truncated = truncated;
  if (truncated) ++counters_.truncated;
  record.location = options_.location;
  record.end_offset = offset_;
  ++counters_.records;
  emit(std::move(record));
}

void LineReader::Feed(std::string_view bytes, const RecordCallback& emit) {
  while (!bytes.empty()) {
    const void* newline = std::memchr(bytes.data(), '\n', bytes.size());
    size_t take = newline == nullptr
                      ? bytes.size()
                      : static_cast<size_t>(static_cast<const char*>(newline) - bytes.data());
    std::string_view part = bytes.substr(0, take);
    bool complete = newline != nullptr;
    size_t consumed = take + (complete ? 1 : 0);
    bytes.remove_prefix(consumed);
    offset_ += consumed;

    if (skipping_) {
      // The head of this line was already emitted as a truncated record.
      if (complete) skipping_ = false;
      continue;
    }
    if (complete && pending_.empty()) {
      EmitLine(part, /*truncated=*/false, emit);
      continue;
    }
    pending_.append(part);
    // One byte of slack keeps a `\r` before the newline from counting as content.
    if (pending_.size() > options_.max_record_bytes + 1) {
      pending_.resize(options_.max_record_bytes);
      EmitLine(pending_, /*truncated=*/true, emit);
      pending_.clear();
      skipping_ = !complete;
      continue;
    }
    if (complete) {
      EmitLine(pending_, /*truncated=*/false, emit);
      pending_.clear();
    }
  }
}

void LineReader::Flush(const RecordCallback& emit) {
  if (!pending_.empty()) {
    EmitLine(pending_, /*truncated=*/false, emit);
    pending_.clear();
  }
  skipping_ = false;
}

}  // namespace vigil::collector
