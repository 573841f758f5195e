#include "collector/reader.h"

#include <unistd.h>

#include "collector/format_options.h"
#include "collector/grouped_reader.h"
#include "collector/line_reader.h"
#include "collector/modsec_reader.h"
#include "collector/multiline_readers.h"
#include "collector/ossec_readers.h"
#include "common/text.h"

namespace vigil::collector {
namespace {

using ReaderPtr = std::unique_ptr<RecordReader>;

const char* const kOneLineFormats[] = {"syslog", "generic", "snort-fast", "apache",
                                       "iis",    "squid",   "syslog-pipe"};

// Parses `max_size`: bytes, or a number with a `k` or `m` suffix (KiB, MiB).
Status ApplyMaxSize(FormatOptions* options, ReaderOptions* reader_options) {
  std::optional<std::string> text = options->GetString("max_size");
  if (!text) return Status::Ok();
  std::string value = ToLower(Trim(*text));
  uint64_t multiplier = 1;
  if (!value.empty() && (value.back() == 'k' || value.back() == 'm')) {
    multiplier = value.back() == 'k' ? 1024 : 1024 * 1024;
    value.pop_back();
  }
  uint64_t number = 0;
  if (!ParseUint(value, &number) || number == 0 || number > (uint64_t{1} << 30) / multiplier) {
    return options->Invalid("max_size", "'" + *text + "' is not a size from 1 byte to 1g");
  }
  reader_options->max_record_bytes = number * multiplier;
  return Status::Ok();
}

// Parses `timeout` as the idle flush timeout of a multi-line reader.
Status ApplyFlushTimeout(FormatOptions* options, const ReaderOptions& reader_options,
                         std::chrono::milliseconds* timeout) {
  auto parsed = options->GetDuration("timeout", reader_options.loop_timeout);
  if (!parsed.ok()) return parsed.status();
  *timeout = parsed->value_or(reader_options.default_flush_timeout);
  return Status::Ok();
}

// Reads timeout and window for the grouping readers: exactly one must be set.
Status ApplyGroupTimes(FormatOptions* options, const ReaderOptions& reader_options,
                       GroupedOptions* grouped) {
  auto timeout = options->GetDuration("timeout", reader_options.loop_timeout);
  if (!timeout.ok()) return timeout.status();
  auto window = options->GetDuration("window", reader_options.loop_timeout);
  if (!window.ok()) return window.status();
  if (timeout->has_value() == window->has_value()) {
    return options->Invalid(timeout->has_value() ? "timeout" : "window",
                            "set exactly one of timeout and window");
  }
  grouped->timeout = timeout->value_or(std::chrono::milliseconds(0));
  grouped->window = window->value_or(std::chrono::milliseconds(0));
  return Status::Ok();
}

// Parses the N of `multi-line:N` / `multi-line: N`.
Expected<size_t> ParseMultiLineCount(std::string_view log_format) {
  std::string_view count = Trim(log_format.substr(log_format.find(':') + 1));
  uint64_t lines = 0;
  if (!ParseUint(count, &lines) || lines == 0 || lines > 10000) {
    return Status::InvalidArgument("log format '" + std::string(log_format) +
                                   "': the line count must be a whole number from 1 to 10000");
  }
  return static_cast<size_t>(lines);
}

std::string HostName() {
  char name[256] = {};
  if (gethostname(name, sizeof(name) - 1) != 0) return "localhost";
  return name;
}

Expected<ReaderPtr> MakeReaderChecked(const std::string& log_format, FormatOptions* options,
                                      ReaderOptions reader_options) {
  VIGIL_RETURN_IF_ERROR(ApplyMaxSize(options, &reader_options));

  for (const char* name : kOneLineFormats) {
    if (log_format != name) continue;
    auto continuation = options->GetBool("continuation");
    if (!continuation.ok()) return continuation.status();
    auto join = options->GetJoin();
    if (!join.ok()) return join.status();
    std::chrono::milliseconds timeout;
    VIGIL_RETURN_IF_ERROR(ApplyFlushTimeout(options, reader_options, &timeout));
    reader_options.default_flush_timeout = timeout;
    return ReaderPtr(new OneLineReader(reader_options, continuation->value_or(false), *join));
  }
  if (log_format == "snort-full") return ReaderPtr(new SnortFullReader(reader_options));
  if (log_format == "nmapg") return ReaderPtr(new NmapGrepReader(reader_options));
  if (log_format == "mysql_log") return ReaderPtr(new MysqlLogReader(reader_options));
  if (log_format == "djb-multilog") {
    // multilog writes `<program>/current`; the program name comes from the folder.
    const std::string& location = reader_options.location;
    std::string_view suffix = "/current";
    if (!std::string_view(location).ends_with(suffix) || location.size() == suffix.size()) {
      return Status::InvalidArgument(
          "log format 'djb-multilog' needs a location ending in "
          "<program>/current, got '" +
          location + "'");
    }
    std::string folder = location.substr(0, location.size() - suffix.size());
    std::string program = folder.substr(folder.rfind('/') + 1);
    return ReaderPtr(new DjbMultilogReader(reader_options, program, HostName()));
  }
  if (log_format == "command" || log_format == "full_command") {
    return ReaderPtr(new CommandOutputReader(reader_options, log_format == "full_command",
                                             reader_options.location));
  }

  auto join = options->GetJoin();
  if (!join.ok()) return join.status();
  std::string separator = *join;

  if (log_format == "linux_auditd" || log_format == "grouped" || log_format == "audit") {
    GroupedOptions grouped;
    grouped.separator = separator;
    std::unique_ptr<KeyExtractor> keys;
    if (log_format == "audit") {
      // OSSEC's audit format groups consecutive lines only; an idle timeout ends the last one.
      std::chrono::milliseconds timeout;
      VIGIL_RETURN_IF_ERROR(ApplyFlushTimeout(options, reader_options, &timeout));
      grouped.timeout = timeout;
      grouped.consecutive_only = true;
      grouped.keyless_is_error = true;
      keys = std::make_unique<AuditKeyExtractor>();
    } else {
      VIGIL_RETURN_IF_ERROR(ApplyGroupTimes(options, reader_options, &grouped));
      auto max_groups = options->GetPositive("max_groups");
      if (!max_groups.ok()) return max_groups.status();
      grouped.max_open_groups = max_groups->value_or(grouped.max_open_groups);
      if (log_format == "linux_auditd") {
        grouped.keyless_is_error = true;
        keys = std::make_unique<AuditKeyExtractor>();
      } else {
        std::optional<std::string> pattern = options->GetString("key_regex");
        if (!pattern || pattern->empty()) {
          return options->Invalid("key_regex", "missing; grouped needs a key_regex");
        }
        auto case_sensitive = options->GetBool("case_sensitive");
        if (!case_sensitive.ok()) return case_sensitive.status();
        auto regex = Regex::Compile(*pattern, case_sensitive->value_or(false));
        if (!regex.ok()) return options->Invalid("key_regex", regex.status().message());
        if ((*regex)->capture_count() == 0) {
          return options->Invalid("key_regex", "'" + *pattern + "' has no capture group");
        }
        keys = std::make_unique<RegexKeyExtractor>(std::move(regex).value());
      }
    }
    return ReaderPtr(new GroupedReader(reader_options, std::move(keys), grouped));
  }

  std::chrono::milliseconds timeout;
  VIGIL_RETURN_IF_ERROR(ApplyFlushTimeout(options, reader_options, &timeout));
  reader_options.default_flush_timeout = timeout;

  if (log_format == "mssql_log" || log_format == "postgresql_log") {
    auto dialect = log_format == "mssql_log" ? HeaderedReader::Dialect::kMssql
                                             : HeaderedReader::Dialect::kPostgresql;
    return ReaderPtr(new HeaderedReader(reader_options, dialect, separator));
  }
  if (log_format == "multi-line_indented") {
    return ReaderPtr(new IndentedReader(reader_options, separator));
  }
  if (log_format == "modsec_audit" || log_format == "modsec-audit") {
    return ReaderPtr(new ModsecAuditReader(reader_options, separator));
  }
  if (log_format == "multiline") {
    auto lines = options->GetPositive("lines");
    if (!lines.ok()) return lines.status();
    if (!lines->has_value()) return options->Invalid("lines", "missing; multiline needs lines=N");
    return ReaderPtr(new MultiLineReader(reader_options, **lines, separator));
  }
  if (log_format.starts_with("multi-line:")) {
    auto lines = ParseMultiLineCount(log_format);
    if (!lines.ok()) return lines.status();
    return ReaderPtr(new MultiLineReader(reader_options, *lines, separator));
  }
  if (log_format == "regex") {
    std::optional<std::string> start = options->GetString("start_regex");
    if (!start || start->empty()) {
      return options->Invalid("start_regex", "missing; regex needs a start_regex");
    }
    std::string end = options->GetString("end_regex").value_or("");
    auto case_sensitive = options->GetBool("case_sensitive");
    if (!case_sensitive.ok()) return case_sensitive.status();
    auto refers = options->GetBool("end_refers_start");
    if (!refers.ok()) return refers.status();
    bool sensitive = case_sensitive->value_or(false);
    auto start_regex = Regex::Compile(*start, sensitive);
    if (!start_regex.ok()) return options->Invalid("start_regex", start_regex.status().message());
    if (refers->value_or(false) && end.empty()) {
      return options->Invalid("end_refers_start", "needs an end_regex");
    }
    if (!end.empty()) {
      // Check the end pattern now, with empty captures, so a syntax error is a config error.
      auto end_regex = Regex::Compile(SubstituteCaptures(end, {}), sensitive);
      if (!end_regex.ok()) return options->Invalid("end_regex", end_regex.status().message());
    }
    return ReaderPtr(new RegexReader(reader_options, std::move(start_regex).value(), end, sensitive,
                                     refers->value_or(false), separator));
  }
  if (log_format == "journald") {
    return Status::Unsupported(
        "log format 'journald' reads the systemd journal, not a file or stream");
  }
  return Status::InvalidArgument("unknown log format '" + log_format + "'");
}

}  // namespace

Expected<ReaderPtr> MakeReader(const std::string& log_format,
                               const std::map<std::string, std::string>& format_options,
                               const ReaderOptions& options) {
  FormatOptions parsed(log_format, format_options);
  auto reader = MakeReaderChecked(log_format, &parsed, options);
  if (!reader.ok()) return reader;
  VIGIL_RETURN_IF_ERROR(parsed.CheckAllKnown());
  return reader;
}

bool IsCommandFormat(const std::string& log_format) {
  return log_format == "command" || log_format == "full_command";
}

const std::vector<std::string>& KnownLogFormats() {
  static const std::vector<std::string> kNames = {
      "syslog",       "generic",      "snort-full",   "snort-fast",
      "apache",       "iis",          "squid",        "syslog-pipe",
      "nmapg",        "mysql_log",    "mssql_log",    "postgresql_log",
      "djb-multilog", "multi-line:N", "multiline",    "multi-line_indented",
      "audit",        "command",      "full_command", "journald",
      "modsec_audit", "regex",        "linux_auditd", "grouped"};
  return kNames;
}

}  // namespace vigil::collector
