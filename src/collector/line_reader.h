// Line framing shared by every line-oriented reader, and the one-line reader itself.
#pragma once

#include <string>

#include "collector/reader.h"

namespace vigil::collector {

// The base of every line-oriented reader. It splits the stream at `\n` and strips a trailing
// `\r`. It cuts a line over the maximum record size and drops the rest of that line up to its
// newline, so the next line starts in sync. A partial last line waits for its newline or
// Flush(). Subclasses see whole lines through OnLine() and build records from them.
class LineBasedReader : public RecordReader {
 public:
  explicit LineBasedReader(ReaderOptions options);

  void Feed(std::string_view bytes, const RecordCallback& emit) final;
  void Flush(const RecordCallback& emit) final;
  bool HasPending() const final;
  uint64_t ResumeOffset() const override;
  void EndOfFile(const RecordCallback& emit) final;
  void Rebase(uint64_t offset) final;
  ReplayMark GetReplayMark() const final;
  void SetReplayMark(ReplayMark mark) final;

 protected:
  // Receives one line without its line ending. `truncated` is true when the line was cut at
  // the maximum record size. line_start() and line_end() give its offsets.
  virtual void OnLine(std::string_view line, bool truncated, const RecordCallback& emit) = 0;

  // Emits the record being built, if any. Flush() calls it after the partial last line.
  virtual void FlushRecord(const RecordCallback& emit) {}

  // Returns the start offset of the record being built, or false when there is none.
  virtual bool PendingRecordStart(uint64_t* offset) const { return false; }

  // Moves the start of every record being built to `offset` (see Rebase()).
  virtual void RebaseRecords(uint64_t offset) {}

  // Returns the start offsets of the records being built, for readers that build several at
  // once; the others return nothing and save no replay mark.
  virtual std::vector<uint64_t> OpenRecordStarts() const { return {}; }

  // Returns true for a record starting at `start` that a run before a restart already emitted
  // (see SetReplayMark()). Readers check it before they emit a record.
  bool AlreadyEmitted(uint64_t start) const;

  // Drops, without emitting them, the records being built for which AlreadyEmitted() is true.
  // Called once, before the first line past the replay mark's end.
  virtual void DropReplayedRecords() {}

  // Cuts `text` at the maximum size, escapes NUL and invalid UTF-8, counts and emits it.
  void Emit(std::string text, bool truncated, uint64_t end_offset, const RecordCallback& emit,
            char queue = '1');
  // The same for a view: the text is copied into a record the reader reuses, so a consumer
  // that does not move the record's strings away saves their allocations.
  void Emit(std::string_view text, bool truncated, uint64_t end_offset, const RecordCallback& emit,
            char queue = '1');

  // Offset of the first byte of the line OnLine() is handling, and just past its newline.
  uint64_t line_start() const { return line_start_; }
  uint64_t line_end() const { return line_end_; }

  // Returns the time of the current call, from the options' clock.
  std::chrono::steady_clock::time_point Now() const;

  ReaderOptions options_;

 private:
  void DeliverLine(std::string_view line, bool truncated, const RecordCallback& emit);

  // Finishes and emits record_, whose text is set.
  void EmitRecord(bool truncated, uint64_t end_offset, const RecordCallback& emit, char queue);

  Record record_;          // reused by every Emit()
  std::string partial_;    // bytes of the current line seen so far
  bool skipping_ = false;  // dropping the rest of an over-long line
  uint64_t offset_ = 0;    // stream offset of the next byte Feed() receives
  uint64_t consumed_ = 0;  // stream offset just past the last complete line
  uint64_t line_start_ = 0;
  uint64_t line_end_ = 0;
  ReplayMark replay_;         // active while replay_.end > 0
  uint64_t replay_from_ = 0;  // ResumeOffset() the replay started at
};

// A record under construction from several lines, bounded by the maximum record size: lines
// past the bound still join the record (so grouping stays in step) but add no bytes, and the
// record is marked truncated.
class PendingRecord {
 public:
  bool empty() const { return lines_ == 0; }
  size_t lines() const { return lines_; }
  uint64_t start_offset() const { return start_offset_; }
  std::chrono::steady_clock::time_point first_time() const { return first_time_; }
  std::chrono::steady_clock::time_point last_time() const { return last_time_; }

  // Starts a record with its first line.
  void Start(std::string_view line, bool truncated, uint64_t start_offset, uint64_t end_offset,
             std::chrono::steady_clock::time_point now, size_t max_bytes);
  // Appends a line after `separator`.
  void Append(std::string_view separator, std::string_view line, bool truncated,
              uint64_t end_offset, std::chrono::steady_clock::time_point now, size_t max_bytes);
  // Appends raw text to the record without counting a line.
  void AppendText(std::string_view text, size_t max_bytes);

  uint64_t end_offset() const { return end_offset_; }
  bool truncated() const { return truncated_; }
  // Returns the text and resets the record to empty.
  std::string Take();
  // Moves the record's start and end to `offset`, for a record that continues in a new file.
  void Rebase(uint64_t offset) { start_offset_ = end_offset_ = offset; }

 private:
  std::string text_;
  size_t lines_ = 0;
  bool truncated_ = false;
  uint64_t start_offset_ = 0;
  uint64_t end_offset_ = 0;
  std::chrono::steady_clock::time_point first_time_;
  std::chrono::steady_clock::time_point last_time_;
};

// A line-based reader that builds at most one record at a time, in `pending_`.
class PendingRecordReader : public LineBasedReader {
 protected:
  using LineBasedReader::LineBasedReader;

  // Emits the record in `pending_`, if there is one, on queue `queue_`.
  void FlushRecord(const RecordCallback& emit) override;
  bool PendingRecordStart(uint64_t* offset) const override;
  void RebaseRecords(uint64_t offset) override { pending_.Rebase(offset); }

  PendingRecord pending_;
  char queue_ = '1';
};

// One record per line, for syslog and every single-line format. Empty lines are skipped.
// With `continuation` set, indented lines, `Caused by:`, `Suppressed:` and `... N more` /
// `... N common frames omitted` lines join the record before them, as in Java and Python stack
// traces. The unindented last line of a Python traceback joins and ends it. Otherwise a record
// ends at the next ordinary line or after the idle flush timeout.
class OneLineReader final : public PendingRecordReader {
 public:
  OneLineReader(ReaderOptions options, bool continuation, std::string separator);

 protected:
  void OnLine(std::string_view line, bool truncated, const RecordCallback& emit) override;
  void FlushRecord(const RecordCallback& emit) override;

 private:
  bool continuation_;
  std::string separator_;
  bool in_python_traceback_ = false;  // the pending record starts a Python traceback
  bool in_traceback_frames_ = false;  // and its indented frames have begun
};

// Returns the continuation line as it joins a record: without its indentation when lines are
// joined with a space, as it is when they are joined with newlines.
std::string_view JoinedContinuation(std::string_view line, std::string_view separator);

// Returns true when `line` continues a stack trace: it starts with a space or tab, or with
// `Caused by:`, `Suppressed:`, or `...` followed by a frame count.
bool IsStackTraceContinuation(std::string_view line);

}  // namespace vigil::collector
