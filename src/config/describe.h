// Text rendering of a loaded configuration, for `vigil check`.
#pragma once

#include <string>

#include "config/config.h"

namespace vigil::config {

// Renders `config` as indented text: the config file, the resolved decoder, rule and list
// files in load order, alert levels, log sources, commands, active responses, remote and
// client settings, paths, internal options and the warnings. Every line ends with '\n'.
std::string DescribeConfig(const Config& config);

}  // namespace vigil::config
