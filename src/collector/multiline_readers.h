// Readers that join consecutive lines: multi-line:N, multi-line_indented and regex.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "collector/line_reader.h"
#include "collector/regex.h"

namespace vigil::collector {

// multi-line:N and <log_format lines="N">multiline: every N lines form one record, joined with
// the separator. Empty lines count as lines. An incomplete group is emitted by Flush() (the
// idle flush timeout or the end of input); a truncated group still takes exactly N lines.
class MultiLineReader final : public PendingRecordReader {
 public:
  MultiLineReader(ReaderOptions options, size_t lines, std::string separator);

 protected:
  void OnLine(std::string_view line, bool truncated, const RecordCallback& emit) override;

 private:
  size_t lines_per_record_;
  std::string separator_;
};

// multi-line_indented: a line starting with a space or tab joins the record before it. With
// the space separator its indentation is dropped; with newlines it is kept. An empty line ends the
// record. Any other line starts a new one.
class IndentedReader final : public PendingRecordReader {
 public:
  IndentedReader(ReaderOptions options, std::string separator);

 protected:
  void OnLine(std::string_view line, bool truncated, const RecordCallback& emit) override;

 private:
  std::string separator_;
};

// regex: a record starts at a line matching `start` and ends with the first later line that
// matches `end`, or before the next start line when there is no `end`. With an `end`, start
// lines inside a record are data. Lines outside any record are records of their own. With
// `end_refers_start`, `$1`..`$9` in the end pattern stand for the start line's captures,
// matched literally.
class RegexReader final : public PendingRecordReader {
 public:
  RegexReader(ReaderOptions options, std::unique_ptr<Regex> start, std::string end_pattern,
              bool case_sensitive, bool end_refers_start, std::string separator);

 protected:
  void OnLine(std::string_view line, bool truncated, const RecordCallback& emit) override;

 private:
  // Compiles the end pattern for the record that `captures` started.
  void PrepareEnd(const std::vector<std::string>& captures);

  std::unique_ptr<Regex> start_;
  std::string end_pattern_;  // empty: a record ends before the next start
  bool case_sensitive_;
  bool end_refers_start_;
  std::string separator_;
  std::unique_ptr<Regex> end_;  // the end pattern of the current record
  std::string end_text_;        // the text `end_` was compiled from
  std::vector<std::string> captures_;
};

// Replaces `$1`..`$9` in `pattern` with the escaped captures; `$$` is a literal `$`.
std::string SubstituteCaptures(std::string_view pattern, const std::vector<std::string>& captures);

}  // namespace vigil::collector
