// `vigil logtest`: OSSEC logtest's three phases for each line on stdin, and the -U exit-code
// contract of OSSEC's rule test suite.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>

#include "alerting/alert.h"
#include "analysis/analyzer.h"
#include "analysis/expectation.h"
#include "cli/commands.h"

namespace vigil::cli {
namespace {

struct LogtestOptions {
  std::string config_path;
  bool alerts = false;
  bool verbose = false;
  bool quiet = false;
  std::string expect;  // RULE:LEVEL:DECODER
  // Lines longer than this are cut to it, as the collector's readers truncate records.
  size_t max_record_bytes = 64 * 1024;
};

// Prints the three phases. `trace`, when not empty, is the rule debugging text, which OSSEC
// prints between decoding and the rule decision.
void PrintPhases(const analysis::Event& event, const analysis::RuleMatch& match,
                 const std::string& trace) {
  std::string out = "\n\n\n**Phase 1: Completed pre-decoding.\n";
  out += "       full event: '" + event.full_log + "'\n";
  out += "       hostname: '" + event.hostname + "'\n";
  out += "       program_name: '" +
         (event.has_program_name ? event.program_name : std::string("(null)")) + "'\n";
  out += "       log: '" + std::string(event.log()) + "'\n";
  out += "\n**Phase 2: Completed decoding.\n";
  if (event.decoder == nullptr) {
    out += "       No decoder matched.\n";
  } else {
    out += "       decoder: '" + event.decoder->ReportedName() + "'\n";
    for (const auto& [label, value] : event.decoded_order) {
      out += "       " + label + ": '" + value + "'\n";
    }
  }
  out += trace;
  if (match.rule != nullptr) {
    const analysis::Rule& rule = *match.rule;
    out += "\n**Phase 3: Completed filtering (rules).\n";
    out += "       Rule id: '" + std::to_string(rule.id) + "'\n";
    out += "       Level: '" + std::to_string(rule.level) + "'\n";
    out += "       Description: '" + rule.description + "'\n";
    for (const analysis::RuleInfo& info : rule.info) {
      std::string type = info.type;
      if (type == "cve" || type == "osvdb") {
        for (char& c : type) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      } else if (!type.empty()) {
        type[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(type[0])));
      }
      out += "       Info - " + type + ": '" + info.value + "'\n";
    }
    if (match.alert && rule.log_alert) out += "**Alert to be generated.\n";
  }
  std::fputs(out.c_str(), stdout);
}

int Run(const LogtestOptions& options) {
  analysis::Expectation expectation;
  bool unit_test = !options.expect.empty();
  if (unit_test && !analysis::ParseExpectation(options.expect, &expectation)) {
    std::fprintf(stderr,
                 "vigil logtest: invalid -U value '%s', expected RULE:LEVEL:DECODER such as "
                 "5710:5:sshd\n",
                 options.expect.c_str());
    return kExitUsage;
  }
  std::optional<config::Config> config = LoadConfigOrReport(options.config_path);
  if (!config) return kExitConfig;
  Expected<std::unique_ptr<analysis::Analyzer>> created =
      analysis::Analyzer::Create(*config, &SystemClock::Get());
  if (!created.ok()) {
    std::fprintf(stderr, "vigil logtest: cannot load decoders and rules:\n%s\n",
                 created.status().message().c_str());
    return kExitConfig;
  }
  analysis::Analyzer& analyzer = **created;
  analyzer.set_record_decoded_order(true);  // phase 2 lists the fields in decoding order
  if (!options.quiet) {
    std::fprintf(stderr,
                 "vigil logtest: loaded %zu decoders and %zu rules. Type one log per line.\n",
                 analyzer.decoders().size(), analyzer.rules().size());
  }

  int status = unit_test ? 3 : kExitOk;
  uint64_t alert_counter = 0;
  analysis::Event event;
  std::string line;
  uint64_t line_number = 0;
  uint64_t analysed = 0;
  while (std::getline(std::cin, line)) {
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.size() < 2) continue;
    if (line.size() > options.max_record_bytes) {
      std::fprintf(stderr,
                   "vigil logtest: line %llu has %zu bytes; analysing its first %zu "
                   "(--max-record-size)\n",
                   static_cast<unsigned long long>(line_number), line.size(),
                   options.max_record_bytes);
      line.resize(options.max_record_bytes);
    }
    ++analysed;
    std::string trace;
    analysis::RuleMatch match =
        analyzer.Process("stdin", line, &event, options.verbose ? &trace : nullptr);
    if (!unit_test || options.verbose) {
      if (!options.alerts || options.verbose) PrintPhases(event, match, trace);
    }
    if (options.alerts && match.alert && match.rule->log_alert) {
      alerting::Alert alert;
      alert.id = std::to_string(event.time) + "." + std::to_string(++alert_counter);
      alert.rule = match.rule;
      alert.event = &event;
      alert.previous = &match.previous;
      std::fputs(alerting::FormatAlertLog(alert).c_str(), stdout);
    }
    if (unit_test) {
      status = analysis::CheckExpectation(expectation, event, match);
      std::string decoder = event.decoder != nullptr ? event.decoder->ReportedName() : "";
      if (!options.quiet) {
        std::printf("decoder: '%s' rule: %d level: %d -> %s\n",
                    event.decoder != nullptr ? decoder.c_str() : "(none)",
                    match.rule != nullptr ? match.rule->id : 0,
                    match.rule != nullptr ? match.rule->level : 0,
                    status == 0 ? "as expected" : "differs");
      }
    }
    if (std::fflush(stdout) != 0 || std::ferror(stdout)) {
      // 1 to 3 belong to the -U contract, so a lost result gets a code of its own.
      std::fprintf(stderr, "vigil logtest: stdout: write failed: %s\n", std::strerror(errno));
      return kExitOutputError;
    }
  }
  if (unit_test && analysed == 0) {
    std::fprintf(stderr, "vigil logtest: -U needs a log line on stdin, and none was read\n");
    return kExitInputError;
  }
  return status;
}

}  // namespace

RunFunction RegisterLogtest(CLI::App* app) {
  auto options = std::make_shared<LogtestOptions>();
  app->add_option("-c,--config", options->config_path,
                  "Configuration file in ossec.conf format (default: the bundled configuration)");
  app->add_flag("-a,--alerts", options->alerts,
                "Print alerts in the alerts.log format instead of the three phases");
  app->add_flag("-v,--verbose", options->verbose, "Explain every rule tried and why it failed");
  app->add_flag("-q,--quiet", options->quiet, "Print no start-up or -U summary messages");
  app->add_option("-U,--unit-test", options->expect,
                  "RULE:LEVEL:DECODER expected for the last line; exit 0 when it matches, "
                  "3 when the decoder differs, 2 the rule id, 1 the level, 66 when no line was "
                  "read, 74 when stdout cannot be written (a pipe whose reader has gone ends "
                  "it with SIGPIPE instead, as it ends other tools)");
  app->add_option("--max-record-size", options->max_record_bytes,
                  "Longest line in bytes; longer lines are cut to this size, as the collector "
                  "truncates records")
      ->capture_default_str()
      ->check(CLI::Range(static_cast<size_t>(256), static_cast<size_t>(64) << 20));
  return [options]() { return Run(*options); };
}

}  // namespace vigil::cli
