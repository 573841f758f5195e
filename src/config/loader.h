// Loads and validates configuration files in OSSEC's ossec.conf format.
#pragma once

#include <string>

#include "common/status.h"
#include "config/config.h"

namespace vigil::config {

// Loads `path` and validates everything in one pass. On failure the Status message lists
// every problem found, one per line, each as "FILE:LINE: <element>: what was expected".
// Relative paths inside resolve against the folder of `path`. `path` may be a bundled file.
Expected<Config> LoadConfig(const std::string& path);

// Loads the configuration compiled into the binary: the bundled rules, alerts to stdout.
Expected<Config> LoadBundledConfig();

// Path of the bundled default configuration.
inline constexpr const char* kBundledConfigPath = "<bundled>/rules/vigil.conf";

}  // namespace vigil::config
