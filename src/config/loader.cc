#include "config/loader.h"

#include <filesystem>
#include <string_view>

#include "common/file.h"
#include "config/parse_context.h"
#include "config/xml.h"

namespace vigil::config {
namespace {

using internal::ParseContext;

// OSSEC sections that Vigil accepts with a warning and does not implement.
constexpr std::string_view kUnsupportedSections[] = {
    "syscheck",      "rootcheck", "email_alerts", "database_output",
    "syslog_output", "agentless", "reports",
};

bool IsUnsupportedSection(std::string_view name) {
  for (std::string_view section : kUnsupportedSections) {
    if (name == section) return true;
  }
  return false;
}

void ReadSection(ParseContext& context, const XmlNode& node) {
  const std::string& name = node.name;
  if (name == "global") {
    internal::ReadGlobal(context, node);
  } else if (name == "alerts") {
    internal::ReadAlerts(context, node);
  } else if (name == "rules") {
    internal::ReadRules(context, node);
  } else if (name == "paths") {
    internal::ReadPaths(context, node);
  } else if (name == "localfile") {
    internal::ReadLocalFile(context, node);
  } else if (name == "remote") {
    internal::ReadRemote(context, node);
  } else if (name == "client") {
    internal::ReadClient(context, node);
  } else if (name == "command") {
    internal::ReadCommand(context, node);
  } else if (name == "active-response") {
    internal::ReadActiveResponse(context, node);
  } else if (IsUnsupportedSection(name)) {
    context.WarnUnsupported(node, name);
  } else {
    context.Error(node,
                  "unknown section; expected global, rules, alerts, localfile, command, "
                  "active-response, remote, client or paths");
  }
}

Status JoinErrors(const std::vector<std::string>& errors) {
  std::string message;
  for (const std::string& error : errors) {
    if (!message.empty()) message += '\n';
    message += error;
  }
  return Status::InvalidArgument(std::move(message));
}

}  // namespace

Expected<Config> LoadConfigFromString(std::string_view content, const std::string& file_name,
                                      const LoadOptions& options) {
  Expected<std::vector<XmlNode>> roots = ParseXml(content, file_name);
  if (!roots.ok()) return roots.status();

  Config config;
  config.path = file_name;
  ParseContext context(file_name, options, &config);
  if (roots->empty()) context.ErrorAt(1, "no <ossec_config> element in the file");
  for (const XmlNode& root : *roots) {
    if (root.name != "ossec_config") {
      context.Error(root, "expected <ossec_config> at the top level");
      continue;
    }
    for (const XmlNode& section : root.children) ReadSection(context, section);
  }
  internal::FinishRules(context);
  internal::FinishActiveResponses(context);

  std::vector<std::string> errors = context.errors();
  if (options.access_files) {
    internal::ReadInternalOptions(options.base_dir, &config.internal, &errors);
  }
  if (!errors.empty()) return JoinErrors(errors);
  return config;
}

Expected<Config> LoadConfig(const std::string& path) {
  std::string absolute = path;
  if (!path.empty() && path.front() != '/' && !path.starts_with(kBundledPrefix)) {
    // Resolved paths stay valid if the process changes its working folder later.
    std::error_code error;
    std::filesystem::path cwd = std::filesystem::current_path(error);
    if (!error) absolute = ResolvePath(cwd.string(), path);
  }
  absolute = internal::NormalizePath(absolute);
  Expected<std::string> content = ReadFile(absolute);
  if (!content.ok()) return content.status();
  LoadOptions options;
  options.base_dir = DirName(absolute);
  return LoadConfigFromString(*content, absolute, options);
}

Expected<Config> LoadBundledConfig() { return LoadConfig(kBundledConfigPath); }

}  // namespace vigil::config
