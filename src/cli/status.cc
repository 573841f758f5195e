// `vigil status`: the counters of a running or stopped daemon's collector.
#include <cstdio>

#include "cli/commands.h"
#include "collector/collector.h"
#include "collector/source_status.h"
#include "common/file.h"

namespace vigil::cli {

RunFunction RegisterStatus(CLI::App* app) {
  auto config_path = std::make_shared<std::string>();
  auto state_dir = std::make_shared<std::string>();
  app->add_option("-c,--config", *config_path, "Configuration file of the daemon")->required();
  app->add_option("--state-dir", *state_dir,
                  "The daemon's state folder, when it was given with --state-dir");
  return [config_path, state_dir]() {
    std::optional<config::Config> config = LoadConfigOrReport(*config_path);
    if (!config) return kExitConfig;
    ResolveDaemonPaths(*state_dir, "", "", &*config);
    collector::CollectorOptions options = collector::CollectorOptionsFromConfig(*config);
    Expected<collector::CollectorStatus> status = collector::ReadStatusFile(options.status_file);
    if (!status.ok()) {
      std::fprintf(stderr, "vigil status: %s (has `vigil run` started with this state folder?)\n",
                   status.status().message().c_str());
      return kExitInputError;
    }
    std::fputs(collector::FormatStatus(*status).c_str(), stdout);
    return kExitOk;
  };
}

}  // namespace vigil::cli
