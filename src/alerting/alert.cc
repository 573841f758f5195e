#include "alerting/alert.h"

#include <ctime>

#include "alerting/json_writer.h"
#include "analysis/decoder.h"

namespace vigil::alerting {
namespace {

using analysis::Field;

// OSSEC cuts each logged line of an alert at this many bytes.
constexpr size_t kMaxLoggedLine = 1256;

std::string_view Cut(std::string_view text) { return text.substr(0, kMaxLoggedLine); }

// Host part of the second alert line: empty for agent events, whose host name is the location.
std::string HostPart(const analysis::Event& event) {
  if (!event.location.empty() && event.location[0] == '(' && event.hostname == event.location) {
    return "";
  }
  return event.hostname + "->";
}

std::vector<std::string> SplitGroups(const std::string& groups) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < groups.size()) {
    size_t comma = groups.find(',', start);
    if (comma == std::string::npos) comma = groups.size();
    if (comma > start) out.push_back(groups.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

}  // namespace

std::string FormatAlertTime(int64_t epoch_seconds) {
  // Alerts come in bursts within one second, so the last formatted second is reused.
  thread_local int64_t cached_seconds = -1;
  thread_local std::string cached_text;
  if (epoch_seconds != cached_seconds) {
    time_t t = static_cast<time_t>(epoch_seconds);
    struct tm local {};
    localtime_r(&t, &local);
    char buffer[32];
    strftime(buffer, sizeof buffer, "%Y %b %d %H:%M:%S", &local);
    cached_text = buffer;
    cached_seconds = epoch_seconds;
  }
  return cached_text;
}

std::string FormatAlertLog(const Alert& alert) {
  const analysis::Rule& rule = *alert.rule;
  const analysis::Event& event = *alert.event;
  std::string out;
  out.reserve(256 + event.full_log.size());
  out += "** Alert ";
  out += alert.id;
  out += ':';
  if (rule.mail_alert) out += " mail ";
  out += " - ";
  out += rule.groups;
  out += '\n';
  out += FormatAlertTime(event.time);
  out += ' ';
  out += HostPart(event);
  out += event.location;
  out += '\n';
  out += "Rule: " + std::to_string(rule.id) + " (level " + std::to_string(rule.level) + ") -> '" +
         rule.description + "'\n";
  if (event.Has(Field::kSrcIp)) out += "Src IP: " + std::string(event.Get(Field::kSrcIp)) + "\n";
  if (!event.srcgeoip.empty()) out += "Src Location: " + event.srcgeoip + "\n";
  if (event.Has(Field::kSrcPort)) {
    out += "Src Port: " + std::string(event.Get(Field::kSrcPort)) + "\n";
  }
  if (event.Has(Field::kDstIp)) out += "Dst IP: " + std::string(event.Get(Field::kDstIp)) + "\n";
  if (!event.dstgeoip.empty()) out += "Dst Location: " + event.dstgeoip + "\n";
  if (event.Has(Field::kDstPort)) {
    out += "Dst Port: " + std::string(event.Get(Field::kDstPort)) + "\n";
  }
  if (event.Has(Field::kDstUser)) out += "User: " + std::string(event.Get(Field::kDstUser)) + "\n";
  if (!(rule.options & analysis::kOptionNoFullLog)) {
    out += Cut(event.full_log);
    out += '\n';
    if (alert.previous != nullptr) {
      for (const auto& previous : *alert.previous) {
        out += Cut(previous->full_log);
        out += '\n';
      }
    }
  }
  out += '\n';
  return out;
}

std::string FormatAlertJson(const Alert& alert) {
  const analysis::Rule& rule = *alert.rule;
  const analysis::Event& event = *alert.event;
  std::string out;
  out.reserve(512 + event.full_log.size() * 2);
  JsonWriter json(&out);
  json.BeginObject();
  json.Key("rule");
  json.BeginObject();
  json.MemberInt("level", rule.level);
  json.Member("comment", rule.description);
  json.MemberInt("sidid", rule.id);
  if (rule.frequency > 0) json.MemberInt("frequency", rule.frequency);
  json.Key("firedtimes");
  json.UInt(rule.fired_times);
  json.Key("groups");
  json.BeginArray();
  for (const std::string& group : SplitGroups(rule.groups)) json.String(group);
  json.EndArray();
  for (const analysis::RuleInfo& info : rule.info) {
    json.Member(info.type == "cve" ? "cve" : "info", info.value);
  }
  json.EndObject();
  json.Member("id", alert.id);
  json.MemberInt("TimeStamp", event.time * 1000);
  json.Member("timestamp", FormatAlertTime(event.time));
  if (event.decoder != nullptr) {
    json.Member("decoder", event.decoder->ReportedName());
    if (event.decoder->parent != nullptr)
      json.Member("decoder_parent", event.decoder->parent->name);
  }
  // Decoded fields sit at the top level as in OSSEC's alerts.json, except `id`, which is the
  // alert id there. The decoded id and the dynamic fields go in "fields", where their names
  // cannot collide with the alert's own keys.
  for (size_t i = 0; i < analysis::kFieldCount; ++i) {
    auto field = static_cast<Field>(i);
    if (field != Field::kId && event.Has(field)) {
      json.Member(analysis::FieldName(field), event.Get(field));
    }
  }
  if (!event.srcgeoip.empty()) json.Member("srcgeoip", event.srcgeoip);
  if (!event.dstgeoip.empty()) json.Member("dstgeoip", event.dstgeoip);
  if (event.Has(Field::kId) || !event.dynamic_fields.empty()) {
    json.Key("fields");
    json.BeginObject();
    if (event.Has(Field::kId)) json.Member("id", event.Get(Field::kId));
    for (const auto& [name, value] : event.dynamic_fields) json.Member(name, value);
    json.EndObject();
  }
  json.Member("hostname", event.hostname);
  if (event.has_program_name) json.Member("program_name", event.program_name);
  json.Member("location", event.location);
  if (!(rule.options & analysis::kOptionNoFullLog)) {
    json.Member("full_log", event.full_log);
    if (alert.previous != nullptr && !alert.previous->empty()) {
      std::string previous;
      for (const auto& item : *alert.previous) {
        if (!previous.empty()) previous += '\n';
        previous += item->full_log;
      }
      json.Member("previous_output", previous);
    }
  }
  json.EndObject();
  out += '\n';
  return out;
}

std::string FormatArchiveLine(const analysis::Event& event) {
  return FormatAlertTime(event.time) + " " + HostPart(event) + event.location + " " +
         event.full_log + "\n";
}

std::string FormatArchiveJson(const analysis::Event& event) {
  std::string out;
  out.reserve(256 + event.full_log.size() * 2);
  JsonWriter json(&out);
  json.BeginObject();
  json.Member("timestamp", FormatAlertTime(event.time));
  json.MemberInt("TimeStamp", event.time * 1000);
  json.Member("hostname", event.hostname);
  if (event.has_program_name) json.Member("program_name", event.program_name);
  if (event.decoder != nullptr) json.Member("decoder", event.decoder->ReportedName());
  json.Member("location", event.location);
  json.Member("full_log", event.full_log);
  json.EndObject();
  out += '\n';
  return out;
}

}  // namespace vigil::alerting
