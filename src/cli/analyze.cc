// `vigil analyze`: run the readers, decoders and rules over files or stdin and report alerts.
#include "collector/analyze.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>

#include "alerting/summary.h"
#include "alerting/writer.h"
#include "analysis/analyzer.h"
#include "analysis/parallel_analyzer.h"
#include "cli/commands.h"
#include "cli/progress.h"
#include "collector/reader.h"
#include "common/logging.h"

namespace vigil::cli {
namespace {

struct AnalyzeOptions {
  std::vector<std::string> inputs;
  std::string config_path;
  bool json = false;
  std::string output_dir;
  std::string log_format = "syslog";
  std::vector<std::string> format_options;
  bool records = false;
  size_t max_record_bytes = 64 * 1024;
  bool summary = false;
  bool no_summary = false;
  bool no_progress = false;
  int threads = 1;
};

struct RunTotals {
  uint64_t lines = 0;
  uint64_t records = 0;
  bool input_error = false;
  bool output_error = false;
  int output_errno = 0;  // errno of the first failed write
};

// Reads one input through the reader and hands each record to `on_record`. When the input is
// not a regular file, `flush_output` runs whenever the input has nothing more to read.
void ReadInput(const std::string& input, const AnalyzeOptions& options,
               const std::map<std::string, std::string>& format_options, Progress* progress,
               const collector::RecordCallback& on_record,
               const std::function<void()>& flush_output, RunTotals* totals) {
  auto logger = GetLogger("analyze");
  bool is_stdin = input == "-";
  std::string location = is_stdin ? "stdin" : input;
  int fd = is_stdin ? STDIN_FILENO : ::open(input.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    std::fprintf(stderr, "vigil analyze: %s: %s\n", input.c_str(),
                 errno == ENOENT ? "file not found" : std::strerror(errno));
    totals->input_error = true;
    return;
  }
  struct stat st {};
  if (::fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
    std::fprintf(stderr, "vigil analyze: %s: is a directory, expected a log file\n", input.c_str());
    ::close(fd);
    totals->input_error = true;
    return;
  }
  collector::ReaderOptions reader_options;
  reader_options.max_record_bytes = options.max_record_bytes;
  reader_options.location = location;
  Expected<std::unique_ptr<collector::RecordReader>> reader =
      collector::MakeReader(options.log_format, format_options, reader_options);
  if (!reader.ok()) {
    std::fprintf(stderr, "vigil analyze: %s\n", reader.status().message().c_str());
    if (!is_stdin) ::close(fd);
    totals->input_error = true;
    return;
  }
  if (progress != nullptr && S_ISREG(st.st_mode)) progress->StartFile(location, st.st_size);

  std::vector<char> buffer(1 << 20);
  bool live = !S_ISREG(st.st_mode);
  auto last_data = std::chrono::steady_clock::now();
  while (true) {
    if (live) collector::WaitForInput(fd, reader->get(), last_data, on_record, flush_output);
    ssize_t n = ::read(fd, buffer.data(), buffer.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      std::fprintf(stderr, "vigil analyze: %s: read failed: %s\n", input.c_str(),
                   std::strerror(errno));
      totals->input_error = true;
      break;
    }
    if (n == 0) break;
    (*reader)->Feed(std::string_view(buffer.data(), static_cast<size_t>(n)), on_record);
    // From a pipe or a terminal the input may be a live stream: once it has nothing more to
    // read, its alerts go out rather than wait for a full batch or output buffer.
    if (live) {
      last_data = std::chrono::steady_clock::now();
      (*reader)->Expire(last_data, on_record);
      pollfd ready{fd, POLLIN, 0};
      if (::poll(&ready, 1, 0) == 0) flush_output();
    }
    if (progress != nullptr) progress->Advance(static_cast<uint64_t>(n));
  }
  (*reader)->Flush(on_record);
  if (!is_stdin) ::close(fd);
  if (progress != nullptr) progress->FinishFile();

  const collector::ReaderCounters& counters = (*reader)->counters();
  totals->lines += counters.lines;
  totals->records += counters.records;
  if (counters.truncated > 0) {
    std::fprintf(stderr,
                 "vigil analyze: %s: %llu %s longer than %zu bytes and truncated "
                 "(set --max-record-size to keep more)\n",
                 location.c_str(), static_cast<unsigned long long>(counters.truncated),
                 counters.truncated == 1 ? "record was" : "records were", options.max_record_bytes);
  }
  if (counters.escaped_bytes > 0) {
    std::fprintf(stderr,
                 "vigil analyze: %s: %llu NUL or invalid UTF-8 bytes were escaped as \\xHH; the "
                 "input may be binary\n",
                 location.c_str(), static_cast<unsigned long long>(counters.escaped_bytes));
  }
  logger->info("{}: {} lines, {} records", location, counters.lines, counters.records);
}

int Run(const AnalyzeOptions& options) {
  std::map<std::string, std::string> format_options;
  for (const std::string& option : options.format_options) {
    size_t equals = option.find('=');
    if (equals == std::string::npos || equals == 0) {
      std::fprintf(stderr,
                   "vigil analyze: invalid --format-option '%s', expected KEY=VALUE such as "
                   "lines=3\n",
                   option.c_str());
      return kExitUsage;
    }
    format_options[option.substr(0, equals)] = option.substr(equals + 1);
  }
  // A file given on the command line is read to its end, so grouped formats need no idle
  // timeout to finish their records. The configuration file still requires one.
  if ((options.log_format == "linux_auditd" || options.log_format == "grouped") &&
      !format_options.contains("timeout") && !format_options.contains("window")) {
    format_options["timeout"] = "2s";
  }
  Expected<std::unique_ptr<collector::RecordReader>> probe =
      collector::MakeReader(options.log_format, format_options, collector::ReaderOptions());
  if (!probe.ok()) {
    std::fprintf(stderr, "vigil analyze: %s\n", probe.status().message().c_str());
    return kExitUsage;
  }
  std::vector<std::string> inputs = options.inputs;
  if (inputs.empty()) inputs.push_back("-");

  bool terminal = ::isatty(STDERR_FILENO) == 1;
  std::unique_ptr<Progress> progress;
  if (terminal && !options.no_progress) progress = std::make_unique<Progress>(stderr);

  RunTotals totals;
  if (options.records) {
    auto print_record = [&](collector::Record&& record) {
      std::string line = nlohmann::json(record.text)
                             .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      line += '\n';
      if (std::fwrite(line.data(), 1, line.size(), stdout) != line.size() && !totals.output_error) {
        totals.output_error = true;
        totals.output_errno = errno;
      }
    };
    auto flush_stdout = [] { std::fflush(stdout); };
    for (const std::string& input : inputs) {
      ReadInput(input, options, format_options, progress.get(), print_record, flush_stdout,
                &totals);
      // The next input may be a live stream, which should not hold back this one's output.
      flush_stdout();
    }
    if (std::fflush(stdout) != 0 && !totals.output_error) {
      totals.output_error = true;
      totals.output_errno = errno;
    }
    if (totals.output_error) {
      std::fprintf(stderr, "vigil analyze: stdout: write failed: %s\n",
                   std::strerror(totals.output_errno));
      return kExitFailure;
    }
    return totals.input_error ? kExitInputError : kExitOk;
  }

  std::optional<config::Config> config = LoadConfigOrReport(options.config_path);
  if (!config) return kExitConfig;
  Expected<std::unique_ptr<analysis::Analyzer>> created =
      analysis::Analyzer::Create(*config, &SystemClock::Get());
  if (!created.ok()) {
    std::fprintf(stderr, "vigil analyze: cannot load decoders and rules:\n%s\n",
                 created.status().message().c_str());
    return kExitConfig;
  }
  analysis::Analyzer& analyzer = **created;

  // Alerts go to files in the output folder, or else to stdout as alerts.log text or JSON
  // lines, with the ids that --output into a new folder would give.
  std::unique_ptr<alerting::AlertFileWriter> sink;
  if (!options.output_dir.empty()) {
    alerting::AlertFileWriter::Options file_options;
    file_options.output_dir = options.output_dir;
    file_options.archives = config->global.logall;
    file_options.archives_json = config->global.logall_json;
    Expected<std::unique_ptr<alerting::AlertFileWriter>> opened =
        alerting::AlertFileWriter::Open(file_options);
    if (!opened.ok()) {
      std::fprintf(stderr, "vigil analyze: %s\n", opened.status().message().c_str());
      return kExitFailure;
    }
    sink = std::move(*opened);
  } else {
    sink = alerting::AlertFileWriter::ForStream(STDOUT_FILENO, "stdout", options.json);
  }
  // The summary's counts are only kept when it will be printed.
  bool show_summary = !options.no_summary && (terminal || options.summary);
  alerting::Summary summary;
  Status write_status;

  // Alerts and archives are written here, on this thread and in input order, whatever the
  // number of decoding threads.
  auto on_event = [&](const analysis::RuleMatch& match, const analysis::Event& event) {
    if (config->global.logall || config->global.logall_json) {
      Status archived = sink->WriteArchive(event);
      if (!archived.ok() && write_status.ok()) write_status = archived;
    }
    if (!match.alert) return;
    if (show_summary) summary.AddAlert(*match.rule, event);
    Status written = sink->WriteAlert(match, event);
    if (!written.ok() && write_status.ok()) write_status = written;
  };
  analysis::ParallelAnalyzer parallel(&analyzer, options.threads, on_event);
  // A reader's records are valid UTF-8 without NUL bytes, because it escapes anything else.
  auto on_record = [&](collector::Record&& record) {
    parallel.AddTaking(record.location, &record.text, /*text_is_clean=*/true);
  };
  auto flush_alerts = [&] {
    parallel.Finish();
    Status flushed = sink->Flush();
    if (!flushed.ok() && write_status.ok()) write_status = flushed;
  };
  for (const std::string& input : inputs) {
    ReadInput(input, options, format_options, progress.get(), on_record, flush_alerts, &totals);
    // The next input may be a live stream, which should not hold back this one's alerts.
    flush_alerts();
  }
  if (progress) progress->Clear();

  if (show_summary) {
    std::string text = summary.Format(totals.lines, analyzer.counters().decoded);
    std::fputs(text.c_str(), stderr);
  }
  // The process exits after this command, and freeing the correlation state (one allocation
  // per stored event, up to 16,384 per list) took an estimated 4 % of a run over 50,000 sshd
  // lines. The analyzer is left to the exit instead. A static pointer keeps it reachable, so
  // leak checkers do not report it.
  [[maybe_unused]] static analysis::Analyzer* left_to_exit = nullptr;
  left_to_exit = created->release();
  if (!write_status.ok()) {
    std::fprintf(stderr, "vigil analyze: %s\n", write_status.message().c_str());
    return kExitFailure;
  }
  return totals.input_error ? kExitInputError : kExitOk;
}

}  // namespace

RunFunction RegisterAnalyze(CLI::App* app) {
  auto options = std::make_shared<AnalyzeOptions>();
  app->add_option("files", options->inputs, "Log files to read; - or none reads stdin");
  app->add_option("-c,--config", options->config_path,
                  "Configuration file in ossec.conf format (default: the bundled configuration)");
  CLI::Option* json = app->add_flag("--json", options->json,
                                    "Print alerts as JSON lines instead of alerts.log text");
  app->add_option("-o,--output", options->output_dir,
                  "Write alerts.log and alerts.json in this folder instead of stdout")
      ->excludes(json)
      ->check(CLI::Validator(
          [](std::string& folder) { return folder.empty() ? "the folder name is empty" : ""; },
          "DIR"));
  app->add_option("--log-format", options->log_format,
                  "Record framing, as <log_format> names it (syslog, multi-line:3, audit, ...)")
      ->capture_default_str();
  app->add_option("--format-option", options->format_options,
                  "KEY=VALUE attribute of the log format, such as lines=3 or timeout=2s; "
                  "repeatable")
      ->allow_extra_args(false);
  app->add_flag("--records", options->records,
                "Print each record as the reader frames it (one JSON string per line) instead "
                "of analysing it");
  app->add_option("--max-record-size", options->max_record_bytes,
                  "Longest record in bytes; longer ones are truncated and counted")
      ->capture_default_str()
      ->check(CLI::Range(static_cast<size_t>(256), static_cast<size_t>(64) << 20));
  app->add_flag("--summary", options->summary,
                "Print the summary on stderr even when stderr is not a terminal");
  app->add_flag("--no-summary", options->no_summary, "Never print the summary");
  app->add_flag("--no-progress", options->no_progress, "Never draw the progress bar");
  app->add_option("--threads", options->threads,
                  "Threads that decode records; rules and correlation run on one thread in "
                  "input order, so alerts are the same for any number")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  return [options]() { return Run(*options); };
}

}  // namespace vigil::cli
