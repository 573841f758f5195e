#include "collector/multiline_readers.h"

#include "common/logging.h"
#include "common/text.h"

namespace vigil::collector {

MultiLineReader::MultiLineReader(ReaderOptions options, size_t lines, std::string separator)
    : PendingRecordReader(std::move(options)),
      lines_per_record_(lines),
      separator_(std::move(separator)) {}

void MultiLineReader::OnLine(std::string_view line, bool truncated, const RecordCallback& emit) {
  const size_t max = options_.max_record_bytes;
  if (pending_.empty()) {
    pending_.Start(line, truncated, line_start(), line_end(), Now(), max);
  } else {
    pending_.Append(separator_, line, truncated, line_end(), Now(), max);
  }
  if (pending_.lines() >= lines_per_record_) FlushRecord(emit);
}

IndentedReader::IndentedReader(ReaderOptions options, std::string separator)
    : PendingRecordReader(std::move(options)), separator_(std::move(separator)) {}

void IndentedReader::OnLine(std::string_view line, bool truncated, const RecordCallback& emit) {
  const size_t max = options_.max_record_bytes;
  std::string_view content = Trim(line);
  if (content.empty()) {
    FlushRecord(emit);
    ++counters_.skipped_lines;
    return;
  }
  bool indented = line[0] == ' ' || line[0] == '\t';
  if (indented && !pending_.empty()) {
    pending_.Append(separator_, JoinedContinuation(line, separator_), truncated, line_end(), Now(),
                    max);
    return;
  }
  FlushRecord(emit);
  pending_.Start(line, truncated, line_start(), line_end(), Now(), max);
}

std::string SubstituteCaptures(std::string_view pattern, const std::vector<std::string>& captures) {
  std::string out;
  out.reserve(pattern.size());
  for (size_t i = 0; i < pattern.size(); ++i) {
    char c = pattern[i];
    if (c == '$' && i + 1 < pattern.size()) {
      char next = pattern[i + 1];
      if (next == '$') {
        out += "\\$";
        ++i;
        continue;
      }
      if (next >= '1' && next <= '9') {
        size_t index = static_cast<size_t>(next - '1');
        if (index < captures.size()) out += Regex::Escape(captures[index]);
        ++i;
        continue;
      }
    }
    out.push_back(c);
  }
  return out;
}

RegexReader::RegexReader(ReaderOptions options, std::unique_ptr<Regex> start,
                         std::string end_pattern, bool case_sensitive, bool end_refers_start,
                         std::string separator)
    : PendingRecordReader(std::move(options)),
      start_(std::move(start)),
      end_pattern_(std::move(end_pattern)),
      case_sensitive_(case_sensitive),
      end_refers_start_(end_refers_start),
      separator_(std::move(separator)) {}

void RegexReader::PrepareEnd(const std::vector<std::string>& captures) {
  if (end_pattern_.empty()) return;
  std::string text = end_refers_start_ ? SubstituteCaptures(end_pattern_, captures) : end_pattern_;
  if (end_ != nullptr && text == end_text_) return;
  auto compiled = Regex::Compile(text, case_sensitive_);
  if (!compiled.ok()) {
    // Only a capture with bytes that are not valid UTF-8 can get here, because the pattern
    // itself compiled when the reader was made. The record then ends at the next start.
    ++counters_.format_errors;
    end_.reset();
    end_text_.clear();
    return;
  }
  end_ = std::move(compiled).value();
  end_text_ = std::move(text);
}

void RegexReader::OnLine(std::string_view line, bool truncated, const RecordCallback& emit) {
  const size_t max = options_.max_record_bytes;
  if (!pending_.empty()) {
    if (!end_pattern_.empty() && end_ != nullptr) {
      pending_.Append(separator_, line, truncated, line_end(), Now(), max);
      if (end_->Match(line)) FlushRecord(emit);
      return;
    }
    if (!start_->Match(line)) {
      pending_.Append(separator_, line, truncated, line_end(), Now(), max);
      return;
    }
    FlushRecord(emit);
    // This line starts the next record; fall through to the start handling below.
  }
  if (start_->Match(line, end_refers_start_ ? &captures_ : nullptr)) {
    PrepareEnd(captures_);
    pending_.Start(line, truncated, line_start(), line_end(), Now(), max);
    return;
  }
  if (line.empty()) {
    ++counters_.skipped_lines;
    return;
  }
  Emit(std::string(line), truncated, line_end(), emit);
}

}  // namespace vigil::collector
