// Loads and validates configuration files in OSSEC's ossec.conf format.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"
#include "config/config.h"

namespace vigil::config {

// Loads `path` and validates everything in one pass. On failure the Status message lists
// every problem found, one per line, each as "FILE:LINE: <element>: what was expected".
// Relative paths inside resolve against the folder of `path`. `path` may be a bundled file.
Expected<Config> LoadConfig(const std::string& path);

// File system access settings for LoadConfigFromString.
struct LoadOptions {
  // Folder that relative paths resolve against.
  std::string base_dir = ".";
  // When false, nothing is read from disk: named files are not checked for existence, <rule_dir>
  // and <decoder_dir> list nothing, no default decoder files are added and no
  // internal_options.conf is read. For fuzzing and for checking a file's syntax alone.
  bool access_files = true;
};

// Loads configuration text as if it were the file `file_name` (used in messages). LoadConfig
// is this plus reading the file and setting `base_dir` to the file's folder.
Expected<Config> LoadConfigFromString(std::string_view content, const std::string& file_name,
                                      const LoadOptions& options);

// Loads the configuration compiled into the binary: the bundled rules, alerts to stdout.
Expected<Config> LoadBundledConfig();

// Path of the bundled default configuration.
inline constexpr const char* kBundledConfigPath = "<bundled>/rules/vigil.conf";

}  // namespace vigil::config
