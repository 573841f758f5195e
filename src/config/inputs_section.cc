// Readers for <localfile>, <remote> and <client>.
#include <arpa/inet.h>

#include <algorithm>
#include <climits>

#include "common/file.h"
#include "common/text.h"
#include "config/parse_context.h"

namespace vigil::config::internal {
namespace {

constexpr int kDefaultAgentPort = 1514;
constexpr int kDefaultSyslogPort = 514;

bool IsCommandFormat(std::string_view format) {
  return format == "command" || format == "full_command";
}

// Formats whose <location> names a channel, a unit or `all` rather than a file.
bool IsNamedSourceFormat(std::string_view format) {
  return format == "eventlog" || format == "eventchannel" || format == "journald";
}

std::optional<int> Frequency(ParseContext& context, const XmlNode& node) {
  std::optional<std::string> text = context.Text(node);
  if (!text) return std::nullopt;
  if (*text == "hourly") return 3600;
  if (*text == "daily") return 86400;
  uint64_t seconds = 0;
  if (!ParseUint(*text, &seconds) || seconds > INT_MAX) {
    context.Error(node, "expected a number of seconds, hourly or daily, got " + Quote(*text));
    return std::nullopt;
  }
  return static_cast<int>(seconds);
}

// Reads an element that must hold an IPv4 or IPv6 address, with a /prefix when
// `allow_prefix` is set.
std::optional<std::string> IpText(ParseContext& context, const XmlNode& node, bool allow_prefix) {
  std::optional<std::string> text = context.NonEmptyText(node);
  if (!text) return std::nullopt;
  if (IsValidIp(*text, allow_prefix)) return text;
  context.Error(node, std::string(allow_prefix ? "expected an IP address or network (ADDRESS/"
                                                 "PREFIX), got "
                                               : "expected an IP address, got ") +
                          Quote(*text));
  return std::nullopt;
}

// Returns "tcp", "udp" or "tcp,udp" for a <protocol> value such as "UDP" or "udp, tcp".
std::optional<std::string> NormalizeProtocols(const std::string& text) {
  bool tcp = false;
  bool udp = false;
  for (const std::string& part : SplitList(ToLower(text), ",")) {
    if (part == "tcp") {
      tcp = true;
    } else if (part == "udp") {
      udp = true;
    } else {
      return std::nullopt;
    }
  }
  if (tcp && udp) return "tcp,udp";
  if (tcp) return "tcp";
  if (udp) return "udp";
  return std::nullopt;
}

// Returns the socket types a <remote> binds: agents always use TCP, syslog its <protocol>.
std::vector<std::string> RemoteTransports(const RemoteConfig& remote) {
  if (remote.connection == "secure") return {"tcp"};
  return SplitList(remote.protocol, ",");
}

// Returns the transport ("tcp" or "udp") on which two <remote> blocks would bind the same
// port and address, or "" when they do not collide. An empty <local_ip> binds every address.
std::string SharedTransport(const RemoteConfig& a, const RemoteConfig& b) {
  if (a.port != b.port) return "";
  if (!a.local_ip.empty() && !b.local_ip.empty() && a.local_ip != b.local_ip) return "";
  for (const std::string& x : RemoteTransports(a)) {
    for (const std::string& y : RemoteTransports(b)) {
      if (x == y) return x;
    }
  }
  return "";
}

// A server named in <client>, before the block's <port> is known.
struct ServerEntry {
  std::string host;
  int port = 0;  // 0: the block's <port>
};

std::string FormatAddress(const std::string& host, int port) {
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

// Parses Wazuh's block form <server><address>HOST</address><port>N</port></server>. Its
// <protocol> is checked and otherwise ignored, because Vigil agents always connect over TCP.
std::optional<ServerEntry> ParseServerBlock(ParseContext& context, const XmlNode& node) {
  ServerEntry entry;
  bool valid = true;
  for (const XmlNode& child : node.children) {
    if (child.name == "address") {
      std::optional<std::string> address = context.NonEmptyText(child);
      valid = valid && address.has_value();
      if (address) entry.host = *address;
    } else if (child.name == "port") {
      std::optional<int> port = context.Number(child, 1, 65535);
      valid = valid && port.has_value();
      if (port) entry.port = *port;
    } else if (child.name == "protocol") {
      std::optional<std::string> protocol = context.Text(child);
      if (protocol && ToLower(*protocol) != "tcp" && ToLower(*protocol) != "udp") {
        context.Error(child, "expected tcp or udp, got " + Quote(*protocol));
      }
    } else {
      context.UnknownElement(node, child);
    }
  }
  if (!valid) return std::nullopt;
  if (entry.host.empty()) {
    context.Error(node, "missing <address>");
    return std::nullopt;
  }
  return entry;
}

// Splits HOST, HOST:PORT, IPV6 or [IPV6]:PORT into `host` and the returned port text, which
// is empty when no port is written. Returns nullopt when the text is malformed.
std::optional<std::string> SplitHostPort(const std::string& value, std::string* host) {
  if (value.front() == '[') {
    size_t close = value.find(']');
    if (close == std::string::npos) return std::nullopt;
    *host = value.substr(1, close - 1);
    std::string rest = value.substr(close + 1);
    if (rest.empty()) return std::string();
    if (rest.front() != ':' || rest.size() == 1) return std::nullopt;
    return rest.substr(1);
  }
  if (std::count(value.begin(), value.end(), ':') != 1) {
    *host = value;  // a host name, an IPv4 address or a bare IPv6 address
    return std::string();
  }
  size_t colon = value.find(':');
  *host = value.substr(0, colon);
  if (colon + 1 == value.size()) return std::nullopt;
  return value.substr(colon + 1);
}

// Parses <server>: Vigil's HOST, HOST:PORT, IPV6 or [IPV6]:PORT, or Wazuh's block form.
std::optional<ServerEntry> ParseServer(ParseContext& context, const XmlNode& node) {
  if (!node.children.empty()) return ParseServerBlock(context, node);
  std::optional<std::string> text = context.NonEmptyText(node);
  if (!text) return std::nullopt;

  ServerEntry entry;
  std::optional<std::string> port_text = SplitHostPort(*text, &entry.host);
  uint64_t port = 0;
  bool valid = port_text.has_value() && !entry.host.empty() &&
               (port_text->empty() || (ParseUint(*port_text, &port) && port >= 1 && port <= 65535));
  if (!valid) {
    context.Error(
        node,
        "expected HOST, HOST:PORT or [IPV6]:PORT with a port from 1 to 65535, got " + Quote(*text));
    return std::nullopt;
  }
  entry.port = static_cast<int>(port);
  return entry;
}

}  // namespace

bool IsValidIp(std::string_view text, bool allow_prefix) {
  std::string_view address = text;
  uint64_t prefix = 0;
  bool has_prefix = false;
  size_t slash = text.find('/');
  if (slash != std::string_view::npos) {
    if (!allow_prefix || !ParseUint(text.substr(slash + 1), &prefix)) return false;
    address = text.substr(0, slash);
    has_prefix = true;
  }
  std::string copy(address);
  in6_addr buffer{};
  if (inet_pton(AF_INET, copy.c_str(), &buffer) == 1) return !has_prefix || prefix <= 32;
  if (inet_pton(AF_INET6, copy.c_str(), &buffer) == 1) return !has_prefix || prefix <= 128;
  return false;
}

void ReadLocalFile(ParseContext& context, const XmlNode& node) {
  LocalFileConfig localfile;
  localfile.source = context.SourceOf(node);
  for (const XmlNode& child : node.children) {
    const std::string& name = child.name;
    if (name == "location") {
      std::optional<std::string> location = context.NonEmptyText(child);
      if (location) localfile.location = *location;
    } else if (name == "command") {
      std::optional<std::string> command = context.NonEmptyText(child);
      if (command) localfile.command = *command;
    } else if (name == "log_format") {
      std::optional<std::string> format = context.NonEmptyText(child);
      if (!format) continue;
      localfile.log_format = *format;
      for (const auto& [key, value] : child.attributes) localfile.format_options[key] = value;
    } else if (name == "alias") {
      std::optional<std::string> alias = context.NonEmptyText(child);
      if (alias) localfile.alias = *alias;
    } else if (name == "frequency") {
      std::optional<int> seconds = Frequency(context, child);
      if (seconds) localfile.frequency_seconds = *seconds;
    } else if (name == "only-future-events") {
      std::optional<bool> only_future = context.YesNo(child);
      if (only_future) localfile.only_future_events = *only_future;
    } else if (name == "query") {
      std::optional<std::string> query = context.Text(child);
      if (query) localfile.query = *query;
    } else {
      context.UnknownElement(node, child);
    }
  }

  if (IsCommandFormat(localfile.log_format)) {
    if (localfile.command.empty()) {
      context.Error(node,
                    "missing <command>, which log_format '" + localfile.log_format + "' needs");
      return;
    }
  } else if (localfile.location.empty()) {
    context.Error(node, localfile.command.empty()
                            ? "missing <location> (or <command> with log_format command)"
                            : "<command> needs log_format command or full_command");
    return;
  }
  if (!localfile.location.empty() && !IsNamedSourceFormat(localfile.log_format)) {
    localfile.location = ResolvePath(context.base_dir(), localfile.location);
  }
  // OSSEC reads a location once and drops later <localfile> blocks that repeat it.
  for (const LocalFileConfig& other : context.config().localfiles) {
    if (localfile.location.empty() || other.location != localfile.location) continue;
    context.Warning(node, "location '" + localfile.location + "' is already read by the " +
                              "<localfile> at " + other.source.file + ":" +
                              std::to_string(other.source.line) + ", so this block is ignored");
    return;
  }
  context.config().localfiles.push_back(std::move(localfile));
}

void ReadRemote(ParseContext& context, const XmlNode& node) {
  RemoteConfig remote;
  remote.source = context.SourceOf(node);
  bool port_set = false;
  bool protocol_set = false;
  for (const XmlNode& child : node.children) {
    const std::string& name = child.name;
    if (name == "connection") {
      std::optional<std::string> connection = context.Text(child);
      if (!connection) continue;
      if (*connection != "secure" && *connection != "syslog") {
        context.Error(child, "expected secure or syslog, got " + Quote(*connection));
        continue;
      }
      remote.connection = *connection;
    } else if (name == "port") {
      std::optional<int> port = context.Number(child, 1, 65535);
      if (!port) continue;
      remote.port = *port;
      port_set = true;
    } else if (name == "protocol") {
      std::optional<std::string> protocol = context.Text(child);
      if (!protocol) continue;
      std::optional<std::string> normalized = NormalizeProtocols(*protocol);
      if (!normalized) {
        context.Error(child, "expected tcp, udp or tcp,udp, got " + Quote(*protocol));
        continue;
      }
      remote.protocol = *normalized;
      protocol_set = true;
    } else if (name == "allowed-ips" || name == "denied-ips") {
      std::optional<std::string> network = IpText(context, child, /*allow_prefix=*/true);
      if (!network) continue;
      (name == "allowed-ips" ? remote.allowed_ips : remote.denied_ips).push_back(*network);
    } else if (name == "local_ip") {
      std::optional<std::string> address = IpText(context, child, /*allow_prefix=*/false);
      if (address) remote.local_ip = *address;
    } else if (name == "ipv6") {
      std::optional<bool> ipv6 = context.YesNo(child);
      if (ipv6) remote.ipv6 = *ipv6;
    } else {
      context.UnknownElement(node, child);
    }
  }
  if (remote.connection == "syslog") {
    if (!port_set) remote.port = kDefaultSyslogPort;
    if (!protocol_set) remote.protocol = "udp";  // OSSEC's remote syslog default
    // OSSEC's remoted also exits when a syslog remote admits no address.
    if (remote.allowed_ips.empty()) {
      context.Error(node, "a syslog <remote> needs at least one <allowed-ips> naming the "
                          "addresses that may send syslog");
    }
  }
  for (const RemoteConfig& other : context.config().remotes) {
    std::string shared = SharedTransport(remote, other);
    if (shared.empty()) continue;
    context.Error(node, "port " + std::to_string(remote.port) + "/" + shared +
                            " is already used by the <remote> at " + other.source.file + ":" +
                            std::to_string(other.source.line));
  }
  context.config().remotes.push_back(std::move(remote));
}

void ReadClient(ParseContext& context, const XmlNode& node) {
  std::optional<ClientConfig>& client = context.config().client;
  if (!client) {
    client.emplace();
    client->source = context.SourceOf(node);
  }
  std::vector<ServerEntry> servers;
  bool names_server = false;  // an invalid server element has its own error already
  int block_port = kDefaultAgentPort;
  for (const XmlNode& child : node.children) {
    const std::string& name = child.name;
    if (name == "server-ip" || name == "server-hostname" || name == "server") {
      names_server = true;
    }
    if (name == "server-ip") {
      std::optional<std::string> address = IpText(context, child, /*allow_prefix=*/false);
      if (address) servers.push_back({*address, 0});
    } else if (name == "server-hostname") {
      std::optional<std::string> host = context.NonEmptyText(child);
      if (host) servers.push_back({*host, 0});
    } else if (name == "server") {
      std::optional<ServerEntry> server = ParseServer(context, child);
      if (server) servers.push_back(*server);
    } else if (name == "port") {
      std::optional<int> port = context.Number(child, 1, 65535);
      if (port) block_port = *port;
    } else if (name == "notify_time") {
      std::optional<int> seconds = context.Number(child, 1, INT_MAX);
      if (seconds) client->notify_time_seconds = *seconds;
    } else if (name == "time-reconnect") {
      std::optional<int> seconds = context.Number(child, 1, INT_MAX);
      if (seconds) client->time_reconnect_seconds = *seconds;
    } else if (name == "disable-active-response") {
      std::optional<bool> disable = context.YesNo(child);
      if (disable) client->disable_active_response = *disable;
    } else if (name == "local_ip") {
      std::optional<std::string> address = IpText(context, child, /*allow_prefix=*/false);
      if (address) client->local_ip = *address;
    } else if (name == "config-profile") {
      std::optional<std::string> profile = context.Text(child);
      if (profile) client->config_profile = *profile;
    } else {
      context.UnknownElement(node, child);
    }
  }
  for (const ServerEntry& server : servers) {
    client->server_addresses.push_back(
        FormatAddress(server.host, server.port != 0 ? server.port : block_port));
  }
  if (client->server_addresses.empty() && !names_server) {
    context.Error(node, "missing <server-ip>, <server-hostname> or <server>");
  }
}

}  // namespace vigil::config::internal
