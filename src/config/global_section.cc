// Readers for <global>, <alerts> and <paths>.
#include <climits>
#include <string>
#include <string_view>

#include "common/file.h"
#include "common/text.h"
#include "config/parse_context.h"

namespace vigil::config::internal {
namespace {

// The smallest <memory_size> that OSSEC's analysisd uses.
constexpr int kMinMemorySize = 2048;

// <global> elements of OSSEC that Vigil accepts with a warning and does not implement.
constexpr std::string_view kUnsupportedGlobal[] = {
    "email_to",           "email_from",         "email_reply_to",
    "email_idsname",      "smtp_server",        "helo_server",
    "email_maxperhour",   "prelude_output",     "prelude_profile",
    "prelude_log_level",  "zeromq_output",      "zeromq_uri",
    "zeromq_server_cert", "zeromq_client_cert", "stats",
    "integrity_checking", "rootkit_detection",  "host_information",
    "compress_alerts",    "md5_whitelist",      "md5_allowlist",
};

bool Contains(const auto& list, std::string_view name) {
  for (std::string_view entry : list) {
    if (entry == name) return true;
  }
  return false;
}

// Checks an allow-list entry. As in OSSEC, text made only of digits, dots and a slash must be
// an IPv4 address with an optional prefix length. Anything else is kept as a host name or an
// IPv6 address. A leading `!` negates the entry.
bool IsValidAllowEntry(std::string_view entry) {
  if (entry.starts_with('!')) entry.remove_prefix(1);
  if (entry.empty()) return false;
  if (entry.find_first_not_of("0123456789./") != std::string_view::npos) return true;
  return IsValidIp(entry, /*allow_prefix=*/true);
}

void SetIfPresent(std::optional<bool> value, bool* field) {
  if (value) *field = *value;
}

void SetIfPresent(std::optional<int> value, int* field) {
  if (value) *field = *value;
}

}  // namespace

void ReadGlobal(ParseContext& context, const XmlNode& node) {
  GlobalConfig& global = context.config().global;
  for (const XmlNode& child : node.children) {
    const std::string& name = child.name;
    if (name == "logall") {
      SetIfPresent(context.YesNo(child), &global.logall);
    } else if (name == "logall_json") {
      SetIfPresent(context.YesNo(child), &global.logall_json);
    } else if (name == "jsonout_output") {
      SetIfPresent(context.YesNo(child), &global.jsonout_output);
    } else if (name == "email_notification") {
      SetIfPresent(context.YesNo(child), &global.email_notification);
    } else if (name == "white_list" || name == "allow_list") {
      std::optional<std::string> entry = context.NonEmptyText(child);
      if (!entry) continue;
      if (!IsValidAllowEntry(*entry)) {
        context.Error(child,
                      "expected an IPv4 address with an optional /prefix (0 to 32), an "
                      "IPv6 address or a host name, got " +
                          Quote(*entry));
        continue;
      }
      global.allow_list.push_back(*entry);
    } else if (name == "memory_size") {
      // OSSEC's analysisd raises a smaller size to its minimum of 2048 without a message, so
      // such a configuration loads here too, with a warning.
      std::optional<int> size = context.Number(child, 0, INT_MAX);
      if (size && *size < kMinMemorySize) {
        context.Warning(child, std::to_string(*size) + " is below the minimum, so " +
                                   std::to_string(kMinMemorySize) + " is used, as in OSSEC");
        size = kMinMemorySize;
      }
      SetIfPresent(size, &global.memory_size);
    } else if (name == "custom_alert_output") {
      std::optional<std::string> format = context.Text(child);
      if (format) global.custom_alert_output = *format;
    } else if (name == "geoipdb" || name == "geoip_db_path") {
      std::optional<std::string> path = context.NonEmptyText(child);
      if (!path) continue;
      global.geoip_db = NormalizePath(ResolvePath(context.base_dir(), *path));
      global.geoip_db_source = context.SourceOf(child);
    } else if (name == "geoip6_db_path") {
      context.Warning(child, "<geoip6_db_path> is ignored: the MaxMind DB named by <geoipdb> "
                             "holds IPv4 and IPv6 networks");
    } else if (Contains(kUnsupportedGlobal, name)) {
      context.WarnUnsupported(child, "global/" + name);
    } else {
      context.UnknownElement(node, child);
    }
  }
}

void ReadAlerts(ParseContext& context, const XmlNode& node) {
  AlertsConfig& alerts = context.config().alerts;
  for (const XmlNode& child : node.children) {
    if (child.name == "log_alert_level") {
      SetIfPresent(context.Number(child, 0, 16), &alerts.log_alert_level);
    } else if (child.name == "email_alert_level") {
      SetIfPresent(context.Number(child, 0, 16), &alerts.email_alert_level);
    } else if (child.name == "use_geoip") {
      context.WarnUnsupported(child, "alerts/use_geoip");
    } else {
      context.UnknownElement(node, child);
    }
  }
}

void ReadPaths(ParseContext& context, const XmlNode& node) {
  PathsConfig& paths = context.config().paths;
  for (const XmlNode& child : node.children) {
    std::string* field = nullptr;
    if (child.name == "state_dir") {
      field = &paths.state_dir;
    } else if (child.name == "output_dir") {
      field = &paths.output_dir;
    } else if (child.name == "responses_dir") {
      field = &paths.responses_dir;
    } else {
      context.UnknownElement(node, child);
      continue;
    }
    std::optional<std::string> dir = context.NonEmptyText(child);
    if (dir) *field = NormalizePath(ResolvePath(context.base_dir(), *dir));
  }
}

}  // namespace vigil::config::internal
