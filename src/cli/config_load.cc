#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include "cli/commands.h"
#include "common/file.h"
#include "common/logging.h"
#include "config/loader.h"

namespace vigil::cli {

Expected<config::Config> LoadRunConfig(const std::string& path) {
  Expected<config::Config> loaded =
      path.empty() ? config::LoadBundledConfig() : config::LoadConfig(path);
  if (!loaded.ok()) return loaded.status();
  auto logger = GetLogger("config");
  for (const std::string& warning : loaded->warnings) logger->warn("{}", warning);
  if (loaded->rules.rule_files.empty()) {
    // A configuration that names no rule files (no <rules> section) gets the bundled ruleset,
    // so a daemon config can contain only its <localfile> and response sections.
    Expected<config::Config> bundled = config::LoadBundledConfig();
    if (!bundled.ok()) {
      return Status(bundled.status().code(),
                    "cannot load the bundled rules: " + bundled.status().message());
    }
    logger->info("{} names no rule files; using the bundled decoders and rules", loaded->path);
    loaded->rules.decoder_files = bundled->rules.decoder_files;
    loaded->rules.rule_files = bundled->rules.rule_files;
  }
  return loaded;
}

std::optional<config::Config> LoadConfigOrReport(const std::string& path) {
  Expected<config::Config> loaded = LoadRunConfig(path);
  if (!loaded.ok()) {
    std::fprintf(stderr, "vigil: invalid configuration:\n%s\n", loaded.status().message().c_str());
    return std::nullopt;
  }
  return std::move(*loaded);
}

namespace {

// Returns the active-response folder shipped with this binary, or an empty string.
std::string ShippedResponsesDir() {
  std::error_code error;
  std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", error);
  if (error) return "";
  std::filesystem::path dir = exe.parent_path();
  // An installed binary (bin/vigil) or one in a build tree (build/<preset>/src/cli/vigil).
  for (const char* relative : {"../share/vigil/active-response", "../../../../active-response"}) {
    std::filesystem::path candidate = (dir / relative).lexically_normal();
    if (std::filesystem::is_directory(candidate, error)) return candidate.string();
  }
  return "";
}

}  // namespace

void ResolveDaemonPaths(const std::string& state_dir, const std::string& output_dir,
                        const std::string& responses_dir, config::Config* config) {
  std::string base = DirName(config->path);
  if (!state_dir.empty()) config->paths.state_dir = state_dir;
  if (config->paths.state_dir.empty()) config->paths.state_dir = ResolvePath(base, "var/state");
  if (!output_dir.empty()) config->paths.output_dir = output_dir;
  if (config->paths.output_dir.empty()) {
    config->paths.output_dir = ResolvePath(base, "var/alerts");
  }
  if (!responses_dir.empty()) config->paths.responses_dir = responses_dir;
  if (config->paths.responses_dir.empty()) {
    std::string beside = ResolvePath(base, "active-response");
    std::error_code error;
    config->paths.responses_dir =
        std::filesystem::is_directory(beside, error) ? beside : ShippedResponsesDir();
  }
}

}  // namespace vigil::cli
