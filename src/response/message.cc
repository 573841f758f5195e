#include "response/message.h"

#include <nlohmann/json.hpp>

#include "common/text.h"
#include "response/address.h"

namespace vigil::response {
namespace {

using Json = nlohmann::json;

// Returns the string at `key` of `object`, or `fallback` when it is absent. Numbers are
// accepted for ids, which Wazuh writes as strings and other senders as numbers.
Expected<std::string> StringField(const Json& object, const char* key, std::string fallback) {
  if (!object.is_object()) return fallback;
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return fallback;
  if (it->is_string()) return it->get<std::string>();
  if (it->is_number_unsigned()) return std::to_string(it->get<uint64_t>());
  return Status::ParseError(std::string("field '") + key + "' must be a string");
}

const Json& Member(const Json& object, const char* key) {
  static const Json kNull;
  if (!object.is_object()) return kNull;
  auto it = object.find(key);
  return it == object.end() ? kNull : *it;
}

Json AlertObject(const ExecRequest& request) {
  Json alert = Json::object();
  if (request.alert_id != "-") alert["id"] = request.alert_id;
  Json rule = Json::object();
  if (request.rule_id != "-") rule["id"] = request.rule_id;
  if (request.rule_level > 0) rule["level"] = request.rule_level;
  if (!request.rule_groups.empty()) rule["groups"] = request.rule_groups;
  alert["rule"] = rule;
  alert["agent"] = {{"id", request.agent_id}};
  if (request.location != "-") alert["location"] = request.location;
  Json data = Json::object();
  if (request.srcip != "-") data["srcip"] = request.srcip;
  if (request.user != "-") data["dstuser"] = request.user;
  alert["data"] = data;
  if (request.filename != "-") alert["syscheck"] = {{"path", request.filename}};
  return alert;
}

Expected<ExecMessage> ParseJsonMessage(std::string_view text) {
  Json root = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded() || !root.is_object()) {
    return Status::ParseError("message is not a JSON object");
  }
  ExecMessage message;
  if (root.contains("control")) {
    auto verb = StringField(root, "control", "");
    if (!verb.ok()) return verb.status();
    if (*verb != "unblock") {
      return Status::ParseError("unknown control request '" + *verb + "'");
    }
    auto srcip = StringField(root, "srcip", "");
    if (!srcip.ok()) return srcip.status();
    auto address = ParseSourceAddress(*srcip);
    if (!address.ok()) return address.status();
    message.control = ControlRequest{*verb, address->ToString()};
    return message;
  }
  ExecRequest request;
  const Json& name = Member(root, "command");
  if (!name.is_string() || name.get<std::string>().empty()) {
    return Status::ParseError("JSON message needs \"command\": the response name");
  }
  request.name = name.get<std::string>();
  auto action = StringField(root, "action", "add");
  if (!action.ok()) return action.status();
  if (*action == "delete") {
    request.action = Action::kDelete;
  } else if (*action != "add") {
    return Status::ParseError("\"action\" must be \"add\" or \"delete\", not '" + *action + "'");
  }
  const Json& alert = Member(Member(root, "parameters"), "alert");
  const Json& data = Member(alert, "data");
  struct Field {
    const Json& object;
    const char* key;
    std::string* target;
  };
  const Field fields[] = {
      {data, "dstuser", &request.user},
      {data, "srcip", &request.srcip},
      {alert, "id", &request.alert_id},
      {Member(alert, "rule"), "id", &request.rule_id},
      {alert, "location", &request.location},
      {Member(alert, "syscheck"), "path", &request.filename},
      {Member(alert, "agent"), "id", &request.agent_id},
  };
  for (const Field& field : fields) {
    auto value = StringField(field.object, field.key, *field.target);
    if (!value.ok()) return value.status();
    *field.target = value->empty() ? "-" : *value;
  }
  const Json& level = Member(Member(alert, "rule"), "level");
  if (level.is_number_integer()) request.rule_level = level.get<int>();
  const Json& groups = Member(Member(alert, "rule"), "groups");
  if (groups.is_array()) {
    for (const Json& group : groups) {
      if (group.is_string()) request.rule_groups.push_back(group.get<std::string>());
    }
  }
  message.request = std::move(request);
  return message;
}

Expected<ExecMessage> ParseTextMessage(std::string_view text, const ResponseTable& table) {
  ExecRequest request;
  request.name = table.MatchNamePrefix(text);
  if (request.name.empty()) request.name = std::string(text.substr(0, text.find(' ')));
  if (request.name.empty()) return Status::ParseError("message starts with a space");
  std::string_view rest = text.substr(request.name.size());
  if (!rest.empty()) rest.remove_prefix(1);

  std::vector<std::string_view> words;
  while (true) {
    const size_t space = rest.find(' ');
    words.push_back(rest.substr(0, space));
    if (space == std::string_view::npos) break;
    rest.remove_prefix(space + 1);
  }
  if (words.size() < 2) {
    return Status::ParseError("message for '" + request.name +
                              "' needs at least a user and an address ('-' when absent)");
  }
  request.user = std::string(words[0]);
  request.srcip = std::string(words[1]);
  request.extra_words = static_cast<int>(std::min<size_t>(words.size() - 2, 4));
  if (words.size() > 2) request.alert_id = std::string(words[2]);
  if (words.size() > 3) request.rule_id = std::string(words[3]);
  if (words.size() == 5) request.location = std::string(words[4]);
  if (words.size() >= 6) {
    // The location keeps its spaces: every word between the rule id and the last word.
    const char* begin = words[4].data();
    const char* end = words[words.size() - 2].data() + words[words.size() - 2].size();
    request.location = std::string(begin, end);
    request.filename = std::string(words.back());
  }
  ExecMessage message;
  message.request = std::move(request);
  return message;
}

}  // namespace

std::vector<std::string> ExecRequest::Arguments() const {
  std::vector<std::string> args = {action == Action::kAdd ? "add" : "delete", user, srcip};
  const std::string* extras[] = {&alert_id, &rule_id, &location, &filename};
  for (int i = 0; i < extra_words && i < 4; ++i) args.push_back(*extras[i]);
  return args;
}

std::string ExecRequest::Key() const {
  if (srcip != "-") return srcip;
  if (user != "-") return "user:" + user;
  if (filename != "-") return "file:" + filename;
  return "alert:" + alert_id + " " + rule_id + " " + location;
}

std::string ExecRequest::ToProgramJson(const std::string& program_path) const {
  Json message = {
      {"version", 1},
      {"origin", {{"name", "vigil"}, {"module", "vigil-execd"}}},
      {"command", action == Action::kAdd ? "add" : "delete"},
      {"parameters",
       {{"extra_args", Json::array()}, {"alert", AlertObject(*this)}, {"program", program_path}}},
  };
  return message.dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::string ExecRequest::ToExecqJson() const {
  Json message = {
      {"version", 1},
      {"command", name},
      {"action", action == Action::kAdd ? "add" : "delete"},
      {"parameters", {{"alert", AlertObject(*this)}}},
  };
  return message.dump(-1, ' ', false, Json::error_handler_t::replace);
}

Expected<ExecMessage> ParseExecMessage(std::string_view datagram, const ResponseTable& table) {
  if (datagram.size() > kMaxMessageBytes) {
    return Status::ParseError("message of " + std::to_string(datagram.size()) +
                              " bytes is longer than the maximum " +
                              std::to_string(kMaxMessageBytes));
  }
  // OSSEC's senders end a datagram with a NUL; socat and echo end it with a newline.
  while (!datagram.empty() && datagram.back() == '\0') datagram.remove_suffix(1);
  if (!datagram.empty() && datagram.back() == '\n') datagram.remove_suffix(1);
  if (!datagram.empty() && datagram.back() == '\r') datagram.remove_suffix(1);
  if (Trim(datagram).empty()) return Status::ParseError("empty message");

  auto message = Trim(datagram).front() == '{' ? ParseJsonMessage(datagram)
                                               : ParseTextMessage(datagram, table);
  if (!message.ok() || !message->request) return message;
  VIGIL_RETURN_IF_ERROR(ValidateRequest(&*message->request));
  return message;
}

Status ValidateRequest(ExecRequest* request) {
  const std::string prefix = "response '" + request->name + "': ";
  if (!IsValidTextArgument(request->name)) {
    return Status::InvalidArgument("invalid response name");
  }
  if (request->srcip != "-") {
    auto address = ParseSourceAddress(request->srcip);
    if (!address.ok()) return Status::InvalidArgument(prefix + address.status().message());
    request->srcip = address->ToString();
  }
  if (request->user != "-" && !IsValidUserName(request->user)) {
    return Status::InvalidArgument(prefix +
                                   "invalid user name; allowed are 1 to 64 of "
                                   "A-Z a-z 0-9 . _ @ -, not starting with '-'");
  }
  if (!IsValidAlertId(request->alert_id) || !IsValidIdWord(request->rule_id)) {
    return Status::InvalidArgument(prefix + "invalid alert id or rule id");
  }
  if (!IsValidIdWord(request->agent_id)) {
    return Status::InvalidArgument(prefix + "invalid agent id");
  }
  if (!IsValidTextArgument(request->location) || !IsValidTextArgument(request->filename)) {
    return Status::InvalidArgument(prefix +
                                   "location or file name is empty, longer than 1024 bytes or "
                                   "contains a control character");
  }
  return Status::Ok();
}

}  // namespace vigil::response
