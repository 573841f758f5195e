#include "response/remote.h"

#include <algorithm>
#include <climits>
#include <future>
#include <memory>
#include <nlohmann/json.hpp>

#include "response/builtin_firewall.h"
#include "response/execd.h"
#include "response/responder.h"

namespace vigil::response {
namespace {

using Json = nlohmann::json;

constexpr int kCommandVersion = 1;
// Limits for values that come from the network; the configuration loader has none this tight.
constexpr int64_t kMaxTimeoutSeconds = 365LL * 86400;
constexpr size_t kMaxRepeatedOffenders = 16;
constexpr int kMaxRepeatedOffenderMinutes = 365 * 1440;

bool IsLocalAgent(const std::string& agent_id) { return agent_id.empty() || agent_id == "000"; }

void AddAgent(ResponseRoute* route, const std::string& agent_id) {
  if (IsLocalAgent(agent_id)) {
    route->this_host = true;
  } else if (std::find(route->agents.begin(), route->agents.end(), agent_id) ==
             route->agents.end()) {
    route->agents.push_back(agent_id);
  }
}

// Returns the value of `key` in `object` when it has the JSON type that `is_type` accepts.
template <typename Check>
const Json* Field(const Json& object, const char* key, Check is_type) {
  auto it = object.find(key);
  if (it == object.end() || !is_type(*it)) return nullptr;
  return &*it;
}

bool IsBool(const Json& value) { return value.is_boolean(); }
bool IsString(const Json& value) { return value.is_string(); }

}  // namespace

ResponseRoute RouteResponse(const config::ActiveResponseConfig& response,
                            const AlertFacts& alert) {
  using config::ResponseLocation;
  const unsigned where = response.locations == 0 ? static_cast<unsigned>(ResponseLocation::kLocal)
                                                 : response.locations;
  auto has = [where](ResponseLocation bit) { return (where & static_cast<unsigned>(bit)) != 0; };
  ResponseRoute route;
  if (has(ResponseLocation::kServer)) route.this_host = true;
  if (has(ResponseLocation::kLocal)) AddAgent(&route, alert.agent_id);
  if (has(ResponseLocation::kDefinedAgent)) AddAgent(&route, response.agent_id);
  if (has(ResponseLocation::kAll)) {
    route.this_host = true;
    route.all_agents = true;
    route.agents.clear();
  }
  return route;
}

std::string EncodeAgentCommand(const AgentCommand& command) {
  const ResponseOptions& options = command.entry.options;
  Json expect = Json::array();
  if (options.expect_srcip) expect.push_back("srcip");
  if (options.expect_user) expect.push_back("user");
  if (options.expect_filename) expect.push_back("filename");
  Json response = {
      {"name", command.entry.name},
      {"executable", command.entry.executable},
      {"timeout", command.entry.timeout_seconds},
      {"expect", expect},
      {"json_stdin", options.json_stdin},
      {"simulate", options.simulate},
      {"refresh_on_extend", options.refresh_on_extend},
      {"repeated_offenders", options.repeated_offenders_minutes},
  };
  Json root = {
      {"version", kCommandVersion},
      {"response", response},
      {"request", Json::parse(command.request.ToExecqJson(), nullptr, false)},
      {"extra_words", command.request.extra_words},
  };
  return root.dump(-1, ' ', false, Json::error_handler_t::replace);
}

Expected<AgentCommand> DecodeAgentCommand(std::string_view text) {
  if (text.size() > kMaxMessageBytes) {
    return Status::ParseError("agent command of " + std::to_string(text.size()) +
                              " bytes is longer than the maximum " +
                              std::to_string(kMaxMessageBytes));
  }
  const Json root = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded() || !root.is_object()) {
    return Status::ParseError("agent command is not a JSON object");
  }
  const Json* version = Field(root, "version", [](const Json& v) { return v.is_number(); });
  if (version == nullptr || *version != kCommandVersion) {
    return Status::ParseError("agent command has no \"version\" or an unsupported one");
  }
  const Json* response =
      Field(root, "response", [](const Json& value) { return value.is_object(); });
  const Json* request = Field(root, "request", [](const Json& value) { return value.is_object(); });
  if (response == nullptr || request == nullptr) {
    return Status::ParseError("agent command needs the objects \"response\" and \"request\"");
  }

  AgentCommand command;
  TableEntry& entry = command.entry;
  const Json* name = Field(*response, "name", IsString);
  const Json* executable = Field(*response, "executable", IsString);
  const Json* timeout =
      Field(*response, "timeout", [](const Json& value) { return value.is_number_integer(); });
  if (name == nullptr || executable == nullptr || timeout == nullptr) {
    return Status::ParseError("agent command: \"response\" needs name, executable and timeout");
  }
  entry.name = name->get<std::string>();
  entry.executable = executable->get<std::string>();
  if (entry.name.empty() || !IsValidTextArgument(entry.name)) {
    return Status::InvalidArgument("agent command: invalid response name");
  }
  if (!IsValidExecutableName(entry.executable) && !IsBuiltinExecutable(entry.executable)) {
    return Status::InvalidArgument("agent command: response '" + entry.name +
                                   "' names an invalid executable '" +
                                   EscapeForLog(entry.executable) + "'");
  }
  const int64_t seconds = timeout->get<int64_t>();
  if (seconds < 0 || seconds > kMaxTimeoutSeconds) {
    return Status::InvalidArgument("agent command: timeout " + std::to_string(seconds) +
                                   " s is out of range (0 to " +
                                   std::to_string(kMaxTimeoutSeconds) + ")");
  }
  entry.timeout_seconds = static_cast<int>(seconds);

  ResponseOptions& options = entry.options;
  if (const Json* expect = Field(*response, "expect", [](const Json& v) { return v.is_array(); })) {
    for (const Json& item : *expect) {
      if (item == "srcip") {
        options.expect_srcip = true;
      } else if (item == "user") {
        options.expect_user = true;
      } else if (item == "filename") {
        options.expect_filename = true;
      } else {
        return Status::InvalidArgument("agent command: unknown expect value " + item.dump());
      }
    }
  }
  const std::pair<const char*, bool*> flags[] = {
      {"json_stdin", &options.json_stdin},
      {"simulate", &options.simulate},
      {"refresh_on_extend", &options.refresh_on_extend},
  };
  for (const auto& [key, target] : flags) {
    if (const Json* flag = Field(*response, key, IsBool)) *target = flag->get<bool>();
  }
  if (const Json* minutes =
          Field(*response, "repeated_offenders", [](const Json& v) { return v.is_array(); })) {
    if (minutes->size() > kMaxRepeatedOffenders) {
      return Status::InvalidArgument("agent command: more than " +
                                     std::to_string(kMaxRepeatedOffenders) +
                                     " repeated_offenders values");
    }
    for (const Json& value : *minutes) {
      if (!value.is_number_integer() || value.get<int64_t>() < 1 ||
          value.get<int64_t>() > kMaxRepeatedOffenderMinutes) {
        return Status::InvalidArgument("agent command: invalid repeated_offenders value " +
                                       value.dump());
      }
      options.repeated_offenders_minutes.push_back(value.get<int>());
    }
  }

  ResponseTable table;
  auto message = ParseExecMessage(request->dump(), table);
  if (!message.ok()) return message.status();
  if (!message->request) {
    return Status::InvalidArgument("agent command: \"request\" is not a response request");
  }
  command.request = std::move(*message->request);
  if (command.request.name != entry.name) {
    return Status::InvalidArgument("agent command: the request names response '" +
                                   EscapeForLog(command.request.name) + "', the entry '" +
                                   entry.name + "'");
  }
  if (const Json* words =
          Field(root, "extra_words", [](const Json& v) { return v.is_number_integer(); })) {
    command.request.extra_words = static_cast<int>(std::clamp<int64_t>(words->get<int64_t>(), 0, 4));
  }
  return command;
}

AgentOutcome RunAgentCommand(Execd& execd, const AllowList& allow_list, const std::string& action,
                             const std::vector<std::string>& arguments, const std::string& payload,
                             std::chrono::milliseconds wait, const AgentCommandOrigin& origin,
                             const Clock* clock) {
  using Kind = AgentOutcome::Kind;
  const std::string waited = "no outcome from execd within " +
                             std::to_string(wait.count() / 1000) + " s; the response may still run";
  if (action == "unblock") {
    if (arguments.empty()) return {Kind::kSkipped, 0, "unblock needs an address", 0};
    auto address = ParseSourceAddress(arguments.front());
    if (!address.ok()) return {Kind::kSkipped, 0, address.status().message(), 0};
    auto promise = std::make_shared<std::promise<UnblockResult>>();
    auto future = promise->get_future();
    execd.SubmitUnblock(address->ToString(),
                        [promise](const UnblockResult& result) { promise->set_value(result); });
    if (future.wait_for(wait) != std::future_status::ready) return {Kind::kFailed, -1, waited, 0};
    const UnblockResult result = future.get();
    if (result.undone.empty() && result.failed.empty()) {
      return {Kind::kExecuted, 0, "nothing was blocked for " + address->ToString(), 0};
    }
    // "failed: R K (reason), ...; undone: R K, ..."
    std::string detail;
    for (size_t i = 0; i < result.failed.size(); ++i) {
      detail += i == 0 ? "failed: " : ", ";
      detail += result.failed[i].first + " (" + result.failed[i].second + ")";
    }
    for (size_t i = 0; i < result.undone.size(); ++i) {
      detail += i > 0 ? ", " : detail.empty() ? "undone: " : "; undone: ";
      detail += result.undone[i];
    }
    if (!result.failed.empty()) return {Kind::kFailed, -1, detail, 0};
    return {Kind::kExecuted, 0, detail, 0};
  }
  if (action != "add" && action != "delete") {
    return {Kind::kSkipped, 0, "unknown action '" + EscapeForLog(action) + "'", 0};
  }
  auto command = DecodeAgentCommand(payload);
  if (!command.ok()) return {Kind::kSkipped, 0, command.status().message(), 0};
  ExecRequest& request = command->request;
  request.action = action == "delete" ? Action::kDelete : Action::kAdd;
  request.origin_id = origin.response_id;
  const int timeout = command->entry.timeout_seconds;
  if (timeout > 0 && origin.seconds_left > 0 &&
      origin.seconds_left < static_cast<uint32_t>(timeout)) {
    const Clock& now = clock != nullptr ? *clock : SystemClock::Get();
    const int64_t now_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(now.Now().time_since_epoch()).count();
    request.decided_ms = now_ms - (timeout - static_cast<int64_t>(origin.seconds_left)) * 1000;
  }
  if (request.action == Action::kAdd && request.srcip != "-") {
    auto address = ParseSourceAddress(request.srcip);
    if (address.ok()) {
      if (std::string match = allow_list.FindMatch(*address); !match.empty()) {
        return {Kind::kSkipped, 0,
                "source address " + address->ToString() + " is in this agent's allow list (" +
                    match + ")",
                0};
      }
    }
  }
  auto promise = std::make_shared<std::promise<SubmitResult>>();
  auto future = promise->get_future();
  execd.Submit(std::move(request), std::move(command->entry),
               [promise](const SubmitResult& result) { promise->set_value(result); });
  if (future.wait_for(wait) != std::future_status::ready) return {Kind::kFailed, -1, waited, 0};
  const SubmitResult result = future.get();
  AgentOutcome outcome;
  outcome.exit_status = result.exit_status.value_or(result.event == "failed" ? -1 : 0);
  outcome.undo_at_ms = result.undo_at_ms;
  if (result.event == "skipped") {
    outcome.kind = Kind::kSkipped;
    outcome.detail = result.detail;
  } else if (result.event == "failed") {
    outcome.kind = Kind::kFailed;
    outcome.detail = result.detail;
  } else {
    outcome.kind = Kind::kExecuted;
    outcome.detail = result.event + ": " + result.detail;
  }
  return outcome;
}

}  // namespace vigil::response
