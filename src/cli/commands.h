// The subcommands of `vigil`. Each Register* adds its options to the parser and returns the
// function that runs it. main() calls the one the user chose and exits with its status.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <memory>
#include <string>

#include "common/status.h"
#include "config/config.h"

namespace vigil::cli {

using RunFunction = std::function<int()>;

RunFunction RegisterAnalyze(CLI::App* app);
RunFunction RegisterLogtest(CLI::App* app);
RunFunction RegisterCheck(CLI::App* app);
RunFunction RegisterRun(CLI::App* app);
RunFunction RegisterStatus(CLI::App* app);
RunFunction RegisterControl(CLI::App* app);
RunFunction RegisterManager(CLI::App* app);
RunFunction RegisterAgent(CLI::App* app);

// Loads the config at `path`, or the bundled default when `path` is empty, and logs its
// warnings to the "config" logger. A config that names no rule files gets the bundled rules.
Expected<config::Config> LoadRunConfig(const std::string& path);

// Calls LoadRunConfig. On error prints every problem to stderr and returns nullopt.
std::optional<config::Config> LoadConfigOrReport(const std::string& path);

// Fills config->paths: flags first, then the config's <paths>, then defaults. The state and
// output folders default to var/state and var/alerts beside the config file. The responses
// folder defaults to active-response beside the config file when that exists, else the
// active-response folder shipped with this binary (found from the executable's path, in a
// build tree or under ../share/vigil).
void ResolveDaemonPaths(const std::string& state_dir, const std::string& output_dir,
                        const std::string& responses_dir, config::Config* config);

// Exit statuses shared by the subcommands.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;      // a run that could not complete
inline constexpr int kExitUsage = 2;        // invalid command line
inline constexpr int kExitConfig = 78;      // invalid configuration (EX_CONFIG)
inline constexpr int kExitInputError = 66;  // an input could not be read (EX_NOINPUT)
inline constexpr int kExitOutputError = 74;  // an output could not be written (EX_IOERR)

}  // namespace vigil::cli
