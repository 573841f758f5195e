// `vigil check`: load a configuration and everything it names, report problems, print a
// description.
#include <cstdio>
#include <string>
#include <vector>

#include "analysis/analyzer.h"
#include "cli/commands.h"
#include "collector/reader.h"
#include "config/describe.h"

namespace vigil::cli {

RunFunction RegisterCheck(CLI::App* app) {
  auto config_path = std::make_shared<std::string>();
  auto quiet = std::make_shared<bool>(false);
  app->add_option("-c,--config", *config_path,
                  "Configuration file in ossec.conf format (default: the bundled configuration)");
  app->add_flag("-q,--quiet", *quiet, "Print nothing when the configuration is valid");
  return [config_path, quiet]() {
    std::optional<config::Config> config = LoadConfigOrReport(*config_path);
    if (!config) return kExitConfig;
    // The log formats and their attributes are checked by building each reader, as the
    // collector does when the daemon starts.
    std::string format_errors;
    for (const config::LocalFileConfig& localfile : config->localfiles) {
      if (collector::IsCommandFormat(localfile.log_format) || localfile.log_format == "journald") {
        continue;
      }
      Expected<std::unique_ptr<collector::RecordReader>> reader = collector::MakeReader(
          localfile.log_format, localfile.format_options, collector::ReaderOptions());
      if (!reader.ok()) {
        format_errors += localfile.source.file + ":" + std::to_string(localfile.source.line) +
                         ": <localfile>: " + reader.status().message() + "\n";
      }
    }
    if (!format_errors.empty()) {
      std::fprintf(stderr, "vigil: invalid configuration:\n%s", format_errors.c_str());
      return kExitConfig;
    }
    Expected<std::unique_ptr<analysis::Analyzer>> analyzer =
        analysis::Analyzer::Create(*config, &SystemClock::Get());
    if (!analyzer.ok()) {
      std::fprintf(stderr, "vigil: cannot load decoders and rules:\n%s\n",
                   analyzer.status().message().c_str());
      return kExitConfig;
    }
    if (!*quiet) {
      std::vector<std::string> load_warnings = (*analyzer)->load_warnings();
      config->warnings.insert(config->warnings.end(), load_warnings.begin(), load_warnings.end());
      std::printf("%s", config::DescribeConfig(*config).c_str());
      std::printf("Loaded %zu decoders and %zu rules.\n", (*analyzer)->decoders().size(),
                  (*analyzer)->rules().size());
      std::printf("Configuration is valid.\n");
    }
    return kExitOk;
  };
}

}  // namespace vigil::cli
