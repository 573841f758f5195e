#include "collector/line_reader.h"

#include <algorithm>
#include <cstring>

#include "common/text.h"

namespace vigil::collector {

ReaderCounters& ReaderCounters::operator+=(const ReaderCounters& other) {
  lines += other.lines;
  records += other.records;
  truncated += other.truncated;
  escaped_bytes += other.escaped_bytes;
  skipped_lines += other.skipped_lines;
  format_errors += other.format_errors;
  timeouts += other.timeouts;
  return *this;
}

LineBasedReader::LineBasedReader(ReaderOptions options)
    : options_(std::move(options)),
      offset_(options_.start_offset),
      consumed_(options_.start_offset) {
  flush_timeout_ = options_.default_flush_timeout;
}

std::chrono::steady_clock::time_point LineBasedReader::Now() const {
  return options_.clock != nullptr ? options_.clock->SteadyNow() : std::chrono::steady_clock::now();
}

void LineBasedReader::Emit(std::string text, bool truncated, uint64_t end_offset,
                           const RecordCallback& emit, char queue) {
  record_.text = std::move(text);
  EmitRecord(truncated, end_offset, emit, queue);
}

void LineBasedReader::Emit(std::string_view text, bool truncated, uint64_t end_offset,
                           const RecordCallback& emit, char queue) {
  record_.text.assign(text.substr(0, options_.max_record_bytes));
  EmitRecord(truncated || text.size() > options_.max_record_bytes, end_offset, emit, queue);
}

void LineBasedReader::EmitRecord(bool truncated, uint64_t end_offset, const RecordCallback& emit,
                                 char queue) {
  Record& record = record_;
  if (record.text.size() > options_.max_record_bytes) {
    record.text.resize(options_.max_record_bytes);
    truncated = true;
  }
  if (!IsCleanUtf8(record.text)) {
    SanitizeCounts counts;
    SanitizeText(&record.text, &counts);
    counters_.escaped_bytes += counts.nul_bytes + counts.invalid_bytes;
  }
  record.truncated = truncated;
  if (truncated) ++counters_.truncated;
  // A consumer may have moved the location away; assigning reuses its buffer otherwise.
  if (record.location != options_.location) record.location = options_.location;
  record.queue = queue;
  record.end_offset = end_offset;
  ++counters_.records;
  emit(std::move(record));
}

void LineBasedReader::DeliverLine(std::string_view line, bool truncated,
                                  const RecordCallback& emit) {
  ++counters_.lines;
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (replay_.end > 0 && line_start_ >= replay_.end) {
    // The records the last run had completed before its save are behind us: those still
    // open here were emitted then and must not collect the lines that follow.
    DropReplayedRecords();
    replay_ = ReplayMark();
  }
  OnLine(line, truncated, emit);
}

void LineBasedReader::Feed(std::string_view bytes, const RecordCallback& emit) {
  const size_t max = options_.max_record_bytes;
  while (!bytes.empty()) {
    const void* newline = std::memchr(bytes.data(), '\n', bytes.size());
    size_t take = newline == nullptr
                      ? bytes.size()
                      : static_cast<size_t>(static_cast<const char*>(newline) - bytes.data());
    std::string_view part = bytes.substr(0, take);
    bool complete = newline != nullptr;
    size_t used = take + (complete ? 1 : 0);
    bytes.remove_prefix(used);
    uint64_t part_start = offset_;
    offset_ += used;

    if (skipping_) {
      // The head of this line was already emitted as a truncated record.
      if (complete) {
        skipping_ = false;
        consumed_ = offset_;
      }
      continue;
    }
    if (complete && partial_.empty() && part.size() <= max + 1) {
      line_start_ = part_start;
      line_end_ = offset_;
      DeliverLine(part, /*truncated=*/false, emit);
      consumed_ = offset_;
      continue;
    }
    if (partial_.empty()) line_start_ = part_start;
    partial_.append(part);
    // One byte of slack keeps a `\r` before the newline from counting as content.
    if (partial_.size() > max + 1) {
      partial_.resize(max);
      line_end_ = offset_;
      DeliverLine(partial_, /*truncated=*/true, emit);
      partial_.clear();
      skipping_ = !complete;
      if (complete) consumed_ = offset_;
      continue;
    }
    if (complete) {
      line_end_ = offset_;
      DeliverLine(partial_, /*truncated=*/false, emit);
      partial_.clear();
      consumed_ = offset_;
    }
  }
}

void LineBasedReader::Flush(const RecordCallback& emit) {
  EndOfFile(emit);
  FlushRecord(emit);
}

void LineBasedReader::EndOfFile(const RecordCallback& emit) {
  if (!partial_.empty()) {
    line_end_ = offset_;
    std::string line;
    line.swap(partial_);
    DeliverLine(line, /*truncated=*/false, emit);
  }
  skipping_ = false;
  consumed_ = offset_;
}

void LineBasedReader::Rebase(uint64_t offset) {
  // The mark's offsets belong to the old file.
  replay_ = ReplayMark();
  offset_ = offset;
  consumed_ = offset;
  line_start_ = offset;
  line_end_ = offset;
  RebaseRecords(offset);
}

bool LineBasedReader::HasPending() const {
  uint64_t start;
  return !partial_.empty() || skipping_ || PendingRecordStart(&start);
}

ReplayMark LineBasedReader::GetReplayMark() const {
  ReplayMark mark;
  mark.open_starts = OpenRecordStarts();
  if (mark.open_starts.empty()) return mark;
  std::sort(mark.open_starts.begin(), mark.open_starts.end());
  mark.end = consumed_;
  return mark;
}

void LineBasedReader::SetReplayMark(ReplayMark mark) {
  replay_from_ = offset_;
  if (mark.end <= offset_) return;
  std::sort(mark.open_starts.begin(), mark.open_starts.end());
  replay_ = std::move(mark);
}

bool LineBasedReader::AlreadyEmitted(uint64_t start) const {
  return replay_.end > 0 && start >= replay_from_ && start < replay_.end &&
         !std::binary_search(replay_.open_starts.begin(), replay_.open_starts.end(), start);
}

uint64_t LineBasedReader::ResumeOffset() const {
  uint64_t start;
  if (PendingRecordStart(&start)) return start;
  return consumed_;
}

void PendingRecord::Start(std::string_view line, bool truncated, uint64_t start_offset,
                          uint64_t end_offset, std::chrono::steady_clock::time_point now,
                          size_t max_bytes) {
  text_.clear();
  truncated_ = false;
  lines_ = 0;
  start_offset_ = start_offset;
  first_time_ = now;
  Append({}, line, truncated, end_offset, now, max_bytes);
}

void PendingRecord::Append(std::string_view separator, std::string_view line, bool truncated,
                           uint64_t end_offset, std::chrono::steady_clock::time_point now,
                           size_t max_bytes) {
  if (lines_ > 0) AppendText(separator, max_bytes);
  AppendText(line, max_bytes);
  if (truncated) truncated_ = true;
  ++lines_;
  end_offset_ = end_offset;
  last_time_ = now;
}

void PendingRecord::AppendText(std::string_view text, size_t max_bytes) {
  size_t room = text_.size() < max_bytes ? max_bytes - text_.size() : 0;
  if (text.size() > room) {
    text = text.substr(0, room);
    truncated_ = true;
  }
  text_.append(text);
}

std::string PendingRecord::Take() {
  std::string text;
  text.swap(text_);
  lines_ = 0;
  truncated_ = false;
  return text;
}

void PendingRecordReader::FlushRecord(const RecordCallback& emit) {
  if (pending_.empty()) return;
  bool truncated = pending_.truncated();
  uint64_t end = pending_.end_offset();
  Emit(pending_.Take(), truncated, end, emit, queue_);
}

bool PendingRecordReader::PendingRecordStart(uint64_t* offset) const {
  if (pending_.empty()) return false;
  *offset = pending_.start_offset();
  return true;
}

std::string_view JoinedContinuation(std::string_view line, std::string_view separator) {
  if (separator == "\n") return line;
  size_t i = 0;
  while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
  return line.substr(i);
}

bool IsStackTraceContinuation(std::string_view line) {
  if (line.empty()) return false;
  if (line[0] == ' ' || line[0] == '\t') return true;
  if (line.starts_with("Caused by:") || line.starts_with("Suppressed:")) return true;
  if (line.starts_with("...")) {
    std::string_view rest = Trim(line.substr(3));
    return !rest.empty() && rest[0] >= '0' && rest[0] <= '9';
  }
  return false;
}

OneLineReader::OneLineReader(ReaderOptions options, bool continuation, std::string separator)
    : PendingRecordReader(std::move(options)),
      continuation_(continuation),
      separator_(std::move(separator)) {}

void OneLineReader::OnLine(std::string_view line, bool truncated, const RecordCallback& emit) {
  if (!continuation_) {
    if (line.empty()) {
      ++counters_.skipped_lines;
      return;
    }
    Emit(line, truncated, line_end(), emit);
    return;
  }
  if (!pending_.empty() && IsStackTraceContinuation(line)) {
    pending_.Append(separator_, JoinedContinuation(line, separator_), truncated, line_end(), Now(),
                    options_.max_record_bytes);
    in_traceback_frames_ = in_python_traceback_;
    return;
  }
  if (in_traceback_frames_ && !line.empty()) {
    // A Python traceback ends with the unindented `Type: message` line after its frames.
    pending_.Append(separator_, line, truncated, line_end(), Now(), options_.max_record_bytes);
    FlushRecord(emit);
    return;
  }
  FlushRecord(emit);
  if (line.empty()) {
    ++counters_.skipped_lines;
    return;
  }
  pending_.Start(line, truncated, line_start(), line_end(), Now(), options_.max_record_bytes);
  in_python_traceback_ = line.ends_with("Traceback (most recent call last):");
}

void OneLineReader::FlushRecord(const RecordCallback& emit) {
  in_python_traceback_ = false;
  in_traceback_frames_ = false;
  PendingRecordReader::FlushRecord(emit);
}

}  // namespace vigil::collector
