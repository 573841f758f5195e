#include "collector/ossec_readers.h"

#include <time.h>

#include "common/text.h"

namespace vigil::collector {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

bool AllDigits(std::string_view text, size_t pos, size_t count) {
  if (text.size() < pos + count) return false;
  for (size_t i = pos; i < pos + count; ++i) {
    if (!IsDigit(text[i])) return false;
  }
  return true;
}

// `hh:mm:ss` at `pos`, where the first digit may be a space (MySQL writes ` 9:00:32`).
bool IsClock(std::string_view text, size_t pos) {
  if (text.size() < pos + 8) return false;
  return (IsDigit(text[pos]) || text[pos] == ' ') && IsDigit(text[pos + 1]) &&
         text[pos + 2] == ':' && AllDigits(text, pos + 3, 2) && text[pos + 5] == ':' &&
         AllDigits(text, pos + 6, 2);
}

// `YYYY-MM-DD hh:mm:ss` at `pos`.
bool IsIsoDateTime(std::string_view text, size_t pos) {
  return AllDigits(text, pos, 4) && text.size() > pos + 10 && text[pos + 4] == '-' &&
         AllDigits(text, pos + 5, 2) && text[pos + 7] == '-' && AllDigits(text, pos + 8, 2) &&
         text[pos + 10] == ' ' && IsClock(text, pos + 11);
}

// snort's `MM/DD-hh:mm:ss` packet time.
bool IsSnortTime(std::string_view line) {
  return AllDigits(line, 0, 2) && line.size() > 5 && line[2] == '/' && AllDigits(line, 3, 2) &&
         line[5] == '-';
}

std::string_view AfterFirstSpace(std::string_view line) {
  size_t space = line.find(' ');
  return space == std::string_view::npos ? std::string_view() : line.substr(space + 1);
}

}  // namespace

bool StartsWithSyslogTime(std::string_view text) {
  if (text.size() < 15) return false;
  for (int i = 0; i < 3; ++i) {
    char c = text[i];
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'))) return false;
  }
  return text[3] == ' ' && (IsDigit(text[4]) || text[4] == ' ') && IsDigit(text[5]) &&
         text[6] == ' ' && IsClock(text, 7);
}

void SnortFullReader::OnLine(std::string_view line, bool truncated, const RecordCallback& emit) {
  const size_t max = options_.max_record_bytes;
  switch (state_) {
    case State::kIdle:
      if (line.starts_with("[**] [")) {
        pending_.Start(line, truncated, line_start(), line_end(), Now(), max);
        state_ = State::kAfterHeader;
      } else {
        ++counters_.skipped_lines;  // packet details after the alert's third line
      }
      return;
    case State::kAfterHeader:
      if (line.starts_with("[Classification: ") || line.starts_with("[Priority: ")) {
        pending_.Append({}, line, truncated, line_end(), Now(), max);
        state_ = State::kAfterClassification;
        return;
      }
      if (IsSnortTime(line)) {
        pending_.AppendText("[Classification: Preprocessor] [Priority: 3] ", max);
        pending_.Append({}, AfterFirstSpace(line), truncated, line_end(), Now(), max);
        FlushRecord(emit);
        return;
      }
      break;
    case State::kAfterClassification:
      if (IsSnortTime(line)) {
        pending_.Append({}, AfterFirstSpace(line), truncated, line_end(), Now(), max);
        FlushRecord(emit);
        return;
      }
      break;
  }
  // The alert stopped before its packet time: send what it has and start over with this line.
  ++counters_.format_errors;
  FlushRecord(emit);
  OnLine(line, truncated, emit);
}

void SnortFullReader::FlushRecord(const RecordCallback& emit) {
  state_ = State::kIdle;
  PendingRecordReader::FlushRecord(emit);
}

void NmapGrepReader::OnLine(std::string_view line, bool truncated, const RecordCallback& emit) {
  static constexpr std::string_view kPorts = "\tPorts: ";
  size_t ports_at = line.find(kPorts);
  if (!line.starts_with("Host: ") || ports_at == std::string_view::npos) {
    ++counters_.skipped_lines;  // comments, empty lines, `Status: Up` lines
    return;
  }
  std::string text(line.substr(0, ports_at));
  text += ", open ports:";
  std::string_view ports = line.substr(ports_at + kPorts.size());
  size_t tab = ports.find('\t');  // `\tIgnored State: ...` may follow the list
  if (tab != std::string_view::npos) ports = ports.substr(0, tab);
  while (!ports.empty()) {
    size_t comma = ports.find(',');
    std::string_view entry = Trim(ports.substr(0, comma));
    ports = comma == std::string_view::npos ? std::string_view() : ports.substr(comma + 1);
    // <port>/<state>/<protocol>/<owner>/<service>/<rpc>/<version>/
    size_t slash1 = entry.find('/');
    if (slash1 == std::string_view::npos) continue;
    size_t slash2 = entry.find('/', slash1 + 1);
    if (slash2 == std::string_view::npos) continue;
    size_t slash3 = entry.find('/', slash2 + 1);
    std::string_view state = entry.substr(slash1 + 1, slash2 - slash1 - 1);
    std::string_view protocol =
        entry.substr(slash2 + 1, slash3 == std::string_view::npos ? std::string_view::npos
                                                                  : slash3 - slash2 - 1);
    if (state != "open") continue;
    text += ' ';
    text.append(entry.substr(0, slash1));
    text += '(';
    text.append(protocol);
    text += ')';
  }
  Emit(std::move(text), truncated, line_end(), emit, '3');
}

void MysqlLogReader::OnLine(std::string_view line, bool truncated, const RecordCallback& emit) {
  std::string_view message;
  if (AllDigits(line, 0, 6) && line.size() > 7 && line[6] == ' ' && IsClock(line, 7)) {
    last_timestamp_.assign(line.substr(0, 15));
    message = Trim(line.substr(15));
  } else if (line.starts_with("\t\t") && !last_timestamp_.empty()) {
    message = Trim(line);
  } else {
    ++counters_.skipped_lines;
    return;
  }
  std::string text = "MySQL log: ";
  text += last_timestamp_;
  text += ' ';
  text.append(message);
  Emit(std::move(text), truncated, line_end(), emit, 'a');
}

HeaderedReader::HeaderedReader(ReaderOptions options, Dialect dialect, std::string separator)
    : PendingRecordReader(std::move(options)), dialect_(dialect), separator_(std::move(separator)) {
  queue_ = dialect == Dialect::kPostgresql ? 'b' : '1';
}

void HeaderedReader::OnLine(std::string_view line, bool truncated, const RecordCallback& emit) {
  const size_t max = options_.max_record_bytes;
  bool header = dialect_ == Dialect::kMssql ? IsIsoDateTime(line, 0)
                                            : line.starts_with('[') && IsIsoDateTime(line, 1);
  bool continues = dialect_ == Dialect::kMssql ? line.size() > 2 : line.starts_with('\t');
  if (!header && continues && !pending_.empty()) {
    pending_.Append(separator_, JoinedContinuation(line, separator_), truncated, line_end(), Now(),
                    max);
    return;
  }
  FlushRecord(emit);
  if (Trim(line).size() <= (dialect_ == Dialect::kMssql ? 2u : 0u)) {
    ++counters_.skipped_lines;
    return;
  }
  pending_.Start(line, truncated, line_start(), line_end(), Now(), max);
}

DjbMultilogReader::DjbMultilogReader(ReaderOptions options, std::string program,
                                     std::string hostname)
    : PendingRecordReader(std::move(options)),
      program_(std::move(program)),
      hostname_(std::move(hostname)) {}

void DjbMultilogReader::OnLine(std::string_view line, bool truncated, const RecordCallback& emit) {
  if (line.empty()) {
    ++counters_.skipped_lines;
    return;
  }
  bool labelled = line.size() > 26 && line[0] == '@' && line[25] == ' ';
  uint64_t label_seconds = 0;
  for (size_t i = 1; labelled && i < 17; ++i) {
    char c = line[i];
    int digit = IsDigit(c) ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
    if (digit < 0) labelled = false;
    label_seconds = label_seconds * 16 + static_cast<uint64_t>(digit < 0 ? 0 : digit);
  }

  if (!labelled) {
    ++counters_.format_errors;
    Emit(std::string(line), truncated, line_end(), emit, 'a');
    return;
  }

  std::string_view message = line.substr(26);
  if (StartsWithSyslogTime(message)) {
    Emit(std::string(message), truncated, line_end(), emit, 'a');
    return;
  }
  // A TAI64 label is 2^62 plus TAI seconds; TAI ran 10 s ahead of UTC in 1970.
  constexpr uint64_t kTai64Base = uint64_t{1} << 62;
  time_t seconds =
      label_seconds >= kTai64Base + 10 ? static_cast<time_t>(label_seconds - kTai64Base - 10) : 0;

  struct tm local = {};
  localtime_r(&seconds, &local);
  char stamp[32];
  size_t length = strftime(stamp, sizeof(stamp), "%b %e %H:%M:%S", &local);
  std::string text(stamp, length);
  text += ' ';
  text += hostname_;
  text += ' ';
  text += program_;
  text += ": ";
  text.append(message);
  Emit(std::move(text), truncated, line_end(), emit, 'a');
}

CommandOutputReader::CommandOutputReader(ReaderOptions options, bool full, std::string label)
    : PendingRecordReader(std::move(options)),
      full_(full),
      prefix_("ossec: output: '" + label + "':") {}

void CommandOutputReader::OnLine(std::string_view line, bool truncated,
                                 const RecordCallback& emit) {
  if (Trim(line).empty()) {
    ++counters_.skipped_lines;
    return;
  }
  if (!full_) {
    std::string text = prefix_;
    text += ' ';
    text.append(line);
    Emit(std::move(text), truncated, line_end(), emit);
    return;
  }
  const size_t max = options_.max_record_bytes;
  if (pending_.empty()) {
    pending_.Start(prefix_, false, line_start(), line_end(), Now(), max);
  }
  pending_.Append("\n", line, truncated, line_end(), Now(), max);
}

}  // namespace vigil::collector
