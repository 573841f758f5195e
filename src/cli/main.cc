// `vigil`: one binary, one subcommand per job.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <map>
#include <string>

#include "cli/commands.h"
#include "common/logging.h"

#ifndef VIGIL_VERSION
#define VIGIL_VERSION "0.0.0"
#endif

int main(int argc, char** argv) {
  CLI::App app{
      "Vigil: host-based intrusion detection and response, compatible with OSSEC's "
      "configuration, decoders and rules."};
  app.set_version_flag("--version", std::string("vigil ") + VIGIL_VERSION);
  app.require_subcommand(1);
  std::string log_level = "warn";
  app.add_option("--log-level", log_level,
                 "Minimum level of status messages on stderr: trace, debug, info, warn, error, "
                 "critical or off")
      ->capture_default_str();

  std::map<CLI::App*, vigil::cli::RunFunction> commands;
  auto add = [&](const char* name, const char* help,
                 vigil::cli::RunFunction (*registrar)(CLI::App*)) {
    CLI::App* sub = app.add_subcommand(name, help);
    commands[sub] = registrar(sub);
  };
  add("analyze", "Analyse log files or stdin and report alerts", vigil::cli::RegisterAnalyze);
  add("logtest", "Test decoders and rules on lines read from stdin (like ossec-logtest)",
      vigil::cli::RegisterLogtest);
  add("check", "Load and validate a configuration with its decoders and rules",
      vigil::cli::RegisterCheck);
  add("run", "Run the daemon: follow the configured logs, alert and respond",
      vigil::cli::RegisterRun);
  add("status", "Print the collector counters of a daemon", vigil::cli::RegisterStatus);
  add("control", "List, run and undo active responses (like OSSEC's agent_control)",
      vigil::cli::RegisterControl);
  add("manager", "Create enrollment tokens and PSK agents on the manager",
      vigil::cli::RegisterManager);
  add("agent", "Run the agent, enroll it, or import its pre-shared key",
      vigil::cli::RegisterAgent);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    // app.exit() prints the help, the version or the error. Every invalid command line exits
    // with the one usage code, whatever CLI11's own code for the error is.
    int code = app.exit(error);
    return code == 0 ? 0 : vigil::cli::kExitUsage;
  }
  vigil::LoggingOptions logging;
  logging.level = log_level;
  vigil::ConfigureLogging(logging);
  for (auto& [sub, run] : commands) {
    if (sub->parsed()) return run();
  }
  return vigil::cli::kExitUsage;
}
