#include <cstdio>

#include "cli/commands.h"
#include "common/logging.h"
#include "config/loader.h"

namespace vigil::cli {

std::optional<config::Config> LoadConfigOrReport(const std::string& path) {
  Expected<config::Config> loaded =
      path.empty() ? config::LoadBundledConfig() : config::LoadConfig(path);
  if (!loaded.ok()) {
    std::fprintf(stderr, "vigil: invalid configuration:\n%s\n", loaded.status().message().c_str());
    return std::nullopt;
  }
  auto logger = GetLogger("config");
  for (const std::string& warning : loaded->warnings) logger->warn("{}", warning);
  return std::move(*loaded);
}

}  // namespace vigil::cli
