#include "config/describe.h"

#include <string_view>
#include <vector>

namespace vigil::config {
namespace {

const char* YesNo(bool value) { return value ? "yes" : "no"; }

std::string Join(const std::vector<std::string>& items, std::string_view separator) {
  std::string out;
  for (const std::string& item : items) {
    if (!out.empty()) out += separator;
    out += item;
  }
  return out;
}

std::string JoinNumbers(const std::vector<int>& numbers) {
  std::vector<std::string> items;
  for (int number : numbers) items.push_back(std::to_string(number));
  return Join(items, ",");
}

std::string Where(const SourceRef& source) {
  return source.file + ":" + std::to_string(source.line);
}

std::string LocationNames(unsigned locations) {
  std::vector<std::string> names;
  auto has = [locations](ResponseLocation location) {
    return (locations & static_cast<unsigned>(location)) != 0;
  };
  if (has(ResponseLocation::kServer)) names.push_back("server");
  if (has(ResponseLocation::kLocal)) names.push_back("local");
  if (has(ResponseLocation::kDefinedAgent)) names.push_back("defined-agent");
  if (has(ResponseLocation::kAll)) names.push_back("all");
  return names.empty() ? "none" : Join(names, ",");
}

void AddFiles(std::string* out, const char* title, const std::vector<std::string>& files) {
  *out += std::string(title) + " (" + std::to_string(files.size()) + "):\n";
  for (const std::string& file : files) *out += "  " + file + "\n";
}

void AddLocalFiles(std::string* out, const std::vector<LocalFileConfig>& localfiles) {
  *out += "log sources (" + std::to_string(localfiles.size()) + "):\n";
  for (const LocalFileConfig& localfile : localfiles) {
    std::string line = "  ";
    if (!localfile.command.empty()) {
      line += "command '" + localfile.command + "' every " +
              std::to_string(localfile.frequency_seconds) + " s";
      if (!localfile.alias.empty()) line += " as '" + localfile.alias + "'";
    } else {
      line += localfile.location;
    }
    line += " [" + localfile.log_format;
    for (const auto& [key, value] : localfile.format_options) line += " " + key + "=" + value;
    line += "]";
    if (localfile.only_future_events) line += " only-future-events";
    *out += line + " (" + Where(localfile.source) + ")\n";
  }
}

void AddCommands(std::string* out, const std::vector<CommandConfig>& commands) {
  *out += "commands (" + std::to_string(commands.size()) + "):\n";
  for (const CommandConfig& command : commands) {
    std::vector<std::string> expect;
    if (command.expect_srcip) expect.push_back("srcip");
    if (command.expect_user) expect.push_back("user");
    if (command.expect_filename) expect.push_back("filename");
    *out += "  " + command.name + ": executable " + command.executable + ", expect " +
            (expect.empty() ? std::string("nothing") : Join(expect, ",")) + ", timeout allowed " +
            YesNo(command.timeout_allowed) + ", json stdin " + YesNo(command.json_stdin) +
            ", refresh on extend " + YesNo(command.refresh_on_extend) + " (" +
            Where(command.source) + ")\n";
  }
}

void AddResponses(std::string* out, const std::vector<ActiveResponseConfig>& responses) {
  *out += "active responses (" + std::to_string(responses.size()) + "):\n";
  for (const ActiveResponseConfig& response : responses) {
    std::string line = "  " + response.name + ": ";
    if (response.disabled) {
      *out += line + "disabled (" + Where(response.source) + ")\n";
      continue;
    }
    line += "command " + response.command + ", location " + LocationNames(response.locations);
    if (!response.agent_id.empty()) line += ", agent " + response.agent_id;
    if (response.level) line += ", level >= " + std::to_string(*response.level);
    if (!response.rules_id.empty()) line += ", rules " + JoinNumbers(response.rules_id);
    if (!response.rules_group.empty()) line += ", groups " + Join(response.rules_group, ",");
    line += ", timeout " + std::to_string(response.timeout_seconds) + " s";
    if (!response.repeated_offenders_minutes.empty()) {
      line += ", repeated offenders " + JoinNumbers(response.repeated_offenders_minutes) + " min";
    }
    if (response.simulate) line += ", simulated";
    *out += line + " (" + Where(response.source) + ")\n";
  }
}

void AddTransport(std::string* out, const Config& config) {
  for (const RemoteConfig& remote : config.remotes) {
    *out += "remote: " + remote.connection + " on " + remote.protocol + " port " +
            std::to_string(remote.port);
    if (!remote.local_ip.empty()) *out += ", address " + remote.local_ip;
    if (!remote.allowed_ips.empty()) *out += ", allowed " + Join(remote.allowed_ips, ",");
    if (!remote.denied_ips.empty()) *out += ", denied " + Join(remote.denied_ips, ",");
    *out += " (" + Where(remote.source) + ")\n";
  }
  if (config.client) {
    const ClientConfig& client = *config.client;
    *out += "client: servers " + Join(client.server_addresses, ",") + ", notify every " +
            std::to_string(client.notify_time_seconds) + " s, active response " +
            (client.disable_active_response ? "disabled" : "enabled") + " (" +
            Where(client.source) + ")\n";
  }
}

}  // namespace

std::string DescribeConfig(const Config& config) {
  std::string out = "config: " + config.path + "\n";
  AddFiles(&out, "decoder files", config.rules.decoder_files);
  AddFiles(&out, "rule files", config.rules.rule_files);
  out += "lists (" + std::to_string(config.rules.lists.size()) + "):\n";
  for (const ListRef& list : config.rules.lists) out += "  " + list.path + "\n";

  out += "alerts: log_alert_level " + std::to_string(config.alerts.log_alert_level) +
         ", email_alert_level " + std::to_string(config.alerts.email_alert_level) + "\n";
  const GlobalConfig& global = config.global;
  out += std::string("global: logall ") + YesNo(global.logall) + ", logall_json " +
         YesNo(global.logall_json) + ", jsonout_output " + YesNo(global.jsonout_output) +
         ", memory_size " + std::to_string(global.memory_size) + "\n";
  if (!global.allow_list.empty()) out += "allow list: " + Join(global.allow_list, ", ") + "\n";
  if (!global.geoip_db.empty()) out += "GeoIP database: " + global.geoip_db + "\n";
  if (!global.custom_alert_output.empty()) {
    out += "custom alert output: " + global.custom_alert_output + "\n";
  }

  AddLocalFiles(&out, config.localfiles);
  AddCommands(&out, config.commands);
  AddResponses(&out, config.active_responses);
  AddTransport(&out, config);

  const PathsConfig& paths = config.paths;
  auto or_unset = [](const std::string& dir) { return dir.empty() ? "(not set)" : dir; };
  out += "paths: state_dir " + or_unset(paths.state_dir) + ", output_dir " +
         or_unset(paths.output_dir) + ", responses_dir " + or_unset(paths.responses_dir) + "\n";
  const InternalOptions& internal = config.internal;
  out += "internal options: loop_timeout " + std::to_string(internal.loop_timeout_seconds) +
         " s, default_timeframe " + std::to_string(internal.default_timeframe) +
         " s, decoder_order_size " + std::to_string(internal.decoder_order_size) +
         ", fts_list_size " + std::to_string(internal.fts_list_size) + ", fts_min_size_for_str " +
         std::to_string(internal.fts_min_size_for_str) + "\n";

  out += "warnings (" + std::to_string(config.warnings.size()) + "):\n";
  for (const std::string& warning : config.warnings) out += "  " + warning + "\n";
  return out;
}

}  // namespace vigil::config
