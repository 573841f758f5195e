// Readers for OSSEC's single-purpose formats: snort-full, nmapg, mysql_log, mssql_log,
// postgresql_log, djb-multilog, command and full_command.
#pragma once

#include <string>

#include "collector/line_reader.h"

namespace vigil::collector {

// snort-full: an alert is a `[**] [` line, an optional `[Classification: ` or `[Priority: `
// line and a `MM/DD-hh:mm:ss.uuuuuu ...` line. The record joins the first two lines and the
// third line after its first space, without separators. An alert without its second line
// gets `[Classification: Preprocessor] [Priority: 3] `. The packet lines after the third line
// are skipped. A line out of order is a format error: it is counted and emitted alone.
class SnortFullReader final : public PendingRecordReader {
 public:
  explicit SnortFullReader(ReaderOptions options) : PendingRecordReader(std::move(options)) {}

 protected:
  void OnLine(std::string_view line, bool truncated, const RecordCallback& emit) override;
  void FlushRecord(const RecordCallback& emit) override;

 private:
  enum class State { kIdle, kAfterHeader, kAfterClassification };
  State state_ = State::kIdle;
};

// nmapg: grepable nmap output. `Host: <ip> (<name>)\tPorts: <port>/<state>/<proto>/...` becomes
// `Host: <ip> (<name>), open ports: 22(tcp) 80(tcp)` on queue '3'. Comments, empty lines and
// `Status:` lines are skipped.
class NmapGrepReader final : public PendingRecordReader {
 public:
  explicit NmapGrepReader(ReaderOptions options) : PendingRecordReader(std::move(options)) {}

 protected:
  void OnLine(std::string_view line, bool truncated, const RecordCallback& emit) override;
};

// mysql_log: a line starting `YYMMDD hh:mm:ss` becomes `MySQL log: <YYMMDD hh:mm:ss> <msg>`;
// a line starting with two tabs reuses the last timestamp. Queue 'a'. Other lines are
// skipped and counted.
class MysqlLogReader final : public PendingRecordReader {
 public:
  explicit MysqlLogReader(ReaderOptions options) : PendingRecordReader(std::move(options)) {}

 protected:
  void OnLine(std::string_view line, bool truncated, const RecordCallback& emit) override;

 private:
  std::string last_timestamp_;
};

// mssql_log and postgresql_log: a record starts at a header line and takes the following
// continuation lines, joined with the separator. mssql_log headers start `YYYY-MM-DD hh:mm:ss`
// and every other line longer than two bytes continues; postgresql_log headers start
// `[YYYY-MM-DD hh:mm:ss` and lines starting with a tab continue. Lines that neither start nor
// continue a record become records of their own.
class HeaderedReader final : public PendingRecordReader {
 public:
  enum class Dialect { kMssql, kPostgresql };
  HeaderedReader(ReaderOptions options, Dialect dialect, std::string separator);

 protected:
  void OnLine(std::string_view line, bool truncated, const RecordCallback& emit) override;

 private:
  Dialect dialect_;
  std::string separator_;
};

// djb-multilog: lines `@<24 hex digits TAI64N label> <message>` from `<program>/current`.
// A message that starts with a syslog time (`Mmm dd hh:mm:ss`) is sent as it is; any other
// gets `Mmm dd hh:mm:ss <hostname> <program>: ` from the label's time in local time. Queue 'a'.
// Lines without a label are sent as they are.
class DjbMultilogReader final : public PendingRecordReader {
 public:
  DjbMultilogReader(ReaderOptions options, std::string program, std::string hostname);

 protected:
  void OnLine(std::string_view line, bool truncated, const RecordCallback& emit) override;

 private:
  std::string program_;
  std::string hostname_;
};

// command and full_command: the output of one run of a command. `command` sends each
// non-empty output line as `ossec: output: '<label>': <line>`. `full_command` keeps the whole
// output until Flush() (the end of the run) and sends `ossec: output: '<label>':\n<output>`
// with empty lines removed and the last newline stripped. The label is the alias, or the
// command itself.
class CommandOutputReader final : public PendingRecordReader {
 public:
  CommandOutputReader(ReaderOptions options, bool full, std::string label);

 protected:
  void OnLine(std::string_view line, bool truncated, const RecordCallback& emit) override;

 private:
  bool full_;
  std::string prefix_;
};

// Returns true when `text` starts with a syslog time such as `Dec  4 16:23:35`.
bool StartsWithSyslogTime(std::string_view text);

}  // namespace vigil::collector
