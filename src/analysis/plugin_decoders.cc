#include "analysis/plugin_decoders.h"

#include <optional>

#include "analysis/pattern/pattern.h"

namespace vigil::analysis {
namespace {

constexpr std::pair<std::string_view, Plugin> kPlugins[] = {
    {"PF_Decoder", Plugin::kPf},
    {"SymantecWS_Decoder", Plugin::kSymantecWs},
    {"SonicWall_Decoder", Plugin::kSonicWall},
    {"OSSECAlert_Decoder", Plugin::kOssecAlert},
};

// Splits `address.port` where the port follows the fourth dot of an IPv4 address; a token
// without a fourth dot is all address.
void SetAddressAndPort(std::string_view token, Field ip_field, Field port_field, Event* event) {
  int dots = 0;
  for (size_t i = 0; i < token.size(); ++i) {
    if (token[i] == '.' && ++dots == 4) {
      event->Set(ip_field, token.substr(0, i));
      event->Set(port_field, token.substr(i + 1));
      return;
    }
  }
  event->Set(ip_field, token);
}

// pf: `... rule 2/(match) pass in on xl0: 10.0.0.1.6667 > 192.168.2.10.16290: P 7408 ...`.
void DecodePf(Event* event) {
  std::string_view log = event->log();
  size_t pos = log.find(')');
  if (pos == std::string_view::npos || pos + 2 > log.size() || log[pos + 1] != ' ') return;
  pos += 2;
  if (pos >= log.size()) return;
  if (log[pos] == 'p') {
    event->Set(Field::kAction, "pass");
  } else if (log[pos] == 'b') {
    event->Set(Field::kAction, "block");
  } else {
    return;
  }
  pos = log.find(':', pos);
  if (pos == std::string_view::npos || pos + 1 >= log.size() || log[pos + 1] != ' ') return;
  pos += 2;
  size_t space = log.find(' ', pos);
  if (space == std::string_view::npos) return;
  SetAddressAndPort(log.substr(pos, space - pos), Field::kSrcIp, Field::kSrcPort, event);
  pos = space + 1;
  if (pos + 1 >= log.size() || log[pos] != '>' || log[pos + 1] != ' ') return;
  pos += 2;
  size_t colon = log.find(':', pos);
  if (colon == std::string_view::npos) return;
  SetAddressAndPort(log.substr(pos, colon - pos), Field::kDstIp, Field::kDstPort, event);
  pos = colon + 1;
  while (pos < log.size() && log[pos] == ' ') ++pos;
  if (pos >= log.size()) return;
  // pf prints `udp` or `icmp` for those protocols and TCP flags otherwise.
  if (log[pos] == 'u') {
    event->Set(Field::kProtocol, "UDP");
  } else if (log[pos] == 'i') {
    event->Set(Field::kProtocol, "ICMP");
  } else {
    event->Set(Field::kProtocol, "TCP");
  }
}

// Symantec Web Security: `20070717,73613,1=5,11=10.1.1.3,10=userc,3=1,2=1`. Entries after the
// date are `code=value`: 10 is the user, 11 the client address, 60 the URL, and the event id
// starts at the first `3=` or `2=` entry and spans 9 bytes, so it covers `3=1,2=1`.
void DecodeSymantecWs(Event* event) {
  std::string_view log = event->log();
  size_t pos = log.find(',');
  if (pos == std::string_view::npos) return;
  // The time field that follows the date is read as an entry too; its value has no code.
  ++pos;
  auto value_at = [&](size_t start, size_t max) {
    size_t end = start;
    while (end < log.size() && end - start < max && log[end] != ',') ++end;
    return log.substr(start, end - start);
  };
  while (pos <= log.size()) {
    std::string_view rest = log.substr(pos);
    size_t next = pos;
    if (rest.starts_with("10=")) {
      std::string_view user = value_at(pos + 3, 128);
      if (!event->Has(Field::kDstUser)) event->Set(Field::kDstUser, user);
      next = pos + 3 + user.size();
    } else if (rest.starts_with("11=")) {
      std::string_view ip = value_at(pos + 3, 128);
      if (!event->Has(Field::kSrcIp)) event->Set(Field::kSrcIp, ip);
      next = pos + 3 + ip.size();
    } else if (rest.starts_with("60=")) {
      std::string_view url = value_at(pos + 3, 1024);
      if (!event->Has(Field::kUrl)) event->Set(Field::kUrl, url);
      next = pos + 3 + url.size();
    } else if (rest.starts_with("3=") || rest.starts_with("2=")) {
      std::string_view id = rest.substr(0, 9);
      if (!event->Has(Field::kId)) event->Set(Field::kId, id);
      next = pos + id.size();
    }
    size_t comma = log.find(',', next);
    if (comma == std::string_view::npos) return;
    pos = comma + 1;
  }
}

// Compiles a pattern written in this file, which is known to be valid OS_Regex.
Pattern CompileBuiltin(std::string_view text) {
  Expected<Pattern> pattern = Pattern::Compile(PatternSyntax::kOsRegex, text);
  return std::move(*pattern);
}

// The patterns of the SonicWall plugin, in OS_Regex syntax (so `.` is a literal dot).
struct SonicWallPatterns {
  Pattern priority = CompileBuiltin("pri=(\\d) c=(\\d+) m=(\\d+) ");
  Pattern addresses =
      CompileBuiltin("src=(\\d+.\\d+.\\d+.\\d+):(\\d+):\\S+ dst=(\\d+.\\d+.\\d+.\\d+):(\\d+):");
  Pattern proxy = CompileBuiltin("result=(\\d+) dstname=(\\S+) arg=(\\S+)$");
};

// SonicWall: `id=firewall sn=... pri=6 c=262144 m=98 msg="..." n=23419
// src=2.2.2.2:36701:WAN dst=1.1.1.1:50000:WAN proto=tcp/50000`. The priority becomes the
// status and m the id; the message id also decides the category and the action.
void DecodeSonicWall(Event* event) {
  static const SonicWallPatterns patterns;
  event->category = Category::kSyslog;
  std::string_view log = event->log();
  thread_local MatchResult match;
  if (!patterns.priority.Search(log, &match) || match.captures.size() < 3) return;
  event->Set(Field::kStatus, match.captures[0]);
  std::string_view message_class = match.captures[1];
  std::string id(match.captures[2]);
  event->Set(Field::kId, id);
  std::string_view rest = log.substr(match.end);
  size_t rest_offset = match.end;
  if (!patterns.addresses.Search(rest, &match) || match.captures.size() < 4) return;
  event->Set(Field::kSrcIp, match.captures[0]);
  event->Set(Field::kSrcPort, match.captures[1]);
  event->Set(Field::kDstIp, match.captures[2]);
  event->Set(Field::kDstPort, match.captures[3]);
  rest_offset += match.end;
  rest = log.substr(rest_offset);
  size_t space = rest.find(' ');
  std::string_view after =
      space == std::string_view::npos ? std::string_view() : rest.substr(space + 1);
  if (after.starts_with("proto=")) {
    std::string_view proto = after.substr(6);
    size_t end = 0;
    while (end < proto.size() && end < 6 && proto[end] != '/' && proto[end] != ' ') ++end;
    event->Set(Field::kProtocol, proto.substr(0, end));
  }

  if (message_class == "32") {
    event->category = Category::kIds;
  } else if (id == "98" || id == "597" || id == "598") {
    event->category = Category::kFirewall;
    event->Set(Field::kAction, "pass");
  } else if (id == "38" || id == "36" || id == "173" || id == "174" || id == "37") {
    event->category = Category::kFirewall;
    event->Set(Field::kAction, "drop");
  } else if (id == "537") {
    event->category = Category::kFirewall;
    event->Set(Field::kAction, "close");
  } else if (id == "97") {
    // Web proxy record: the HTTP result replaces the id and the URL is host plus path.
    event->category = Category::kSquid;
    if (space == std::string_view::npos || !patterns.proxy.Search(after, &match) ||
        match.captures.size() < 3) {
      return;
    }
    std::string url = std::string(match.captures[1]) + std::string(match.captures[2]);
    event->Set(Field::kId, match.captures[0]);
    event->Set(Field::kUrl, url);
  }
}

// A forwarded alert: `Alert Level: 10; Rule: 5712 - description; Location: host->path;
// srcip: 1.2.3.4; user: root;  original log`. The event becomes the original log, from the
// combined location, and the named rule is the decision.
void DecodeOssecAlert(Event* event) {
  event->category = Category::kOssec;
  std::string_view log = event->log();
  if (!log.starts_with("Alert Level:")) return;
  size_t pos = log.find(';');
  if (pos == std::string_view::npos) return;
  pos = log.find(':', pos + 1);
  if (pos == std::string_view::npos || pos + 1 >= log.size() || log[pos + 1] != ' ') return;
  pos += 2;
  size_t id_end = log.find(' ', pos);
  if (id_end == std::string_view::npos) return;
  int rule_id = 0;
  for (size_t i = pos; i < id_end; ++i) {
    if (log[i] < '0' || log[i] > '9' || rule_id > 99999999) return;
    rule_id = rule_id * 10 + (log[i] - '0');
  }
  pos = log.find(';', id_end);
  if (pos == std::string_view::npos) return;
  ++pos;
  constexpr std::string_view kLocation = " Location: ";
  if (log.substr(pos, kLocation.size()) != kLocation) return;
  pos += kLocation.size();
  size_t location_end = log.find(';', pos);
  if (location_end == std::string_view::npos) return;
  std::string forwarded_location(log.substr(pos, location_end - pos));
  pos = location_end + 1;

  std::string srcip, user;
  bool has_srcip = false, has_user = false;
  while (pos + 1 < log.size() && log[pos] == ' ' && log[pos + 1] != ' ') {
    ++pos;
    size_t end = log.find(';', pos);
    if (end == std::string_view::npos) return;
    std::string_view item = log.substr(pos, end - pos);
    if (item.starts_with("srcip: ")) {
      srcip = item.substr(7);
      has_srcip = true;
    } else if (item.starts_with("user: ")) {
      user = item.substr(6);
      has_user = true;
    }
    pos = end + 1;
  }
  while (pos < log.size() && log[pos] == ' ') ++pos;

  std::string original(log.substr(pos));
  bool agent_event = event->hostname == event->location;
  std::string location = agent_event
                             ? event->location + "|" + forwarded_location
                             : event->hostname + "->" + event->location + "|" + forwarded_location;
  if (location.size() > 255) location.resize(255);
  event->location = location;
  event->hostname = location;
  event->full_log = std::move(original);
  event->log_offset = 0;
  // The prefilter's hits described the log just replaced; the rules scan the new one.
  event->literal_hits.scanned = false;
  event->literal_hits.filtering = false;
  if (has_srcip) event->Set(Field::kSrcIp, srcip);
  if (has_user) event->Set(Field::kDstUser, user);
  event->generated_rule_id = rule_id;
}

}  // namespace

bool ParsePluginName(std::string_view name, Plugin* plugin) {
  for (const auto& [known, value] : kPlugins) {
    if (known == name) {
      *plugin = value;
      return true;
    }
  }
  return false;
}

void RunPlugin(Plugin plugin, Event* event) {
  switch (plugin) {
    case Plugin::kNone:
      return;
    case Plugin::kPf:
      DecodePf(event);
      return;
    case Plugin::kSymantecWs:
      DecodeSymantecWs(event);
      return;
    case Plugin::kSonicWall:
      DecodeSonicWall(event);
      return;
    case Plugin::kOssecAlert:
      DecodeOssecAlert(event);
      return;
  }
}

}  // namespace vigil::analysis
