#include "response/responder.h"

#include <algorithm>

#include "common/logging.h"

namespace vigil::response {
namespace {

bool IsLocalEvent(const AlertFacts& alert) {
  return alert.agent_id.empty() || alert.agent_id == "000";
}

// Returns an empty string when the response runs on this host for `alert`, else the reason.
std::string CheckLocation(const config::ActiveResponseConfig& response, const AlertFacts& alert) {
  using config::ResponseLocation;
  const unsigned where = response.locations == 0 ? static_cast<unsigned>(ResponseLocation::kLocal)
                                                 : response.locations;
  auto has = [where](ResponseLocation bit) { return (where & static_cast<unsigned>(bit)) != 0; };
  if (has(ResponseLocation::kServer) || has(ResponseLocation::kAll)) return "";
  if (has(ResponseLocation::kLocal) && IsLocalEvent(alert)) return "";
  if (has(ResponseLocation::kDefinedAgent) && response.agent_id == "000") return "";
  const std::string agent =
      has(ResponseLocation::kDefinedAgent) ? response.agent_id : alert.agent_id;
  // TODO: forward to agents through the transport stage once agents exist.
  return "runs on agent " + agent + ", and sending responses to agents is not implemented";
}

}  // namespace

bool IsBound(const config::ActiveResponseConfig& response, const AlertFacts& alert) {
  if (response.disabled || alert.level <= 0 || alert.no_ar) return false;
  if (response.level && alert.level >= *response.level) return true;
  if (std::find(response.rules_id.begin(), response.rules_id.end(), alert.rule_id) !=
      response.rules_id.end()) {
    return true;
  }
  for (const std::string& group : response.rules_group) {
    if (std::find(alert.groups.begin(), alert.groups.end(), group) != alert.groups.end()) {
      return true;
    }
  }
  return false;
}

Expected<std::unique_ptr<ExecqSink>> ExecqSink::Create(std::string socket_path) {
  auto socket = DatagramSocket::Unbound();
  if (!socket.ok()) return socket.status();
  return std::unique_ptr<ExecqSink>(new ExecqSink(std::move(socket_path), std::move(*socket)));
}

Status ExecqSink::Send(const ExecRequest& request) {
  return socket_.SendTo(path_, request.ToExecqJson());
}

Expected<std::unique_ptr<Responder>> Responder::Create(const config::Config& config,
                                                       RequestSink* sink, ActionLog* log) {
  std::vector<std::string> errors;
  ResponseTable table = ResponseTable::FromConfig(config, &errors);
  if (!errors.empty()) {
    std::string message = "active response configuration is invalid:";
    for (const std::string& error : errors) message += "\n  " + error;
    return Status::InvalidArgument(message);
  }
  std::vector<Binding> bindings;
  for (const config::ActiveResponseConfig& response : config.active_responses) {
    if (response.disabled) continue;
    const TableEntry* entry = table.Find(ResponseName(response));
    if (entry == nullptr) continue;
    bindings.push_back(Binding{response, *entry});
  }
  std::vector<std::string> ignored;
  AllowList allow_list = AllowList::FromEntries(config.global.allow_list, &ignored);
  auto logger = GetLogger("response");
  for (const std::string& entry : ignored) {
    logger->warn(
        "allow-list entry '{}' is not an IP address or CIDR range and is ignored; "
        "responses act only on validated addresses",
        EscapeForLog(entry));
  }
  logger->info("active response ready: {} responses, {} allow-list ranges", bindings.size(),
               allow_list.size());
  return std::unique_ptr<Responder>(
      new Responder(std::move(bindings), std::move(allow_list), sink, log));
}

std::vector<Decision> Responder::OnAlert(const AlertFacts& alert) {
  ++alerts_;
  std::vector<Decision> decisions;
  for (const Binding& binding : bindings_) {
    if (!IsBound(binding.response, alert)) continue;
    decisions.push_back(Decide(binding, alert));
  }
  return decisions;
}

Decision Responder::Decide(const Binding& binding, const AlertFacts& alert) {
  const ResponseOptions& expect = binding.entry.options;
  Decision decision;
  decision.response = binding.entry.name;
  ExecRequest request;
  request.name = binding.entry.name;
  request.rule_id = std::to_string(alert.rule_id);
  request.rule_level = alert.level;
  request.rule_groups = alert.groups;
  request.agent_id = IsLocalEvent(alert) ? "000" : alert.agent_id;
  request.alert_id = alert.alert_id.empty() ? "-" : alert.alert_id;
  request.location = alert.location.empty() ? "-" : alert.location;

  std::string reason = CheckLocation(binding.response, alert);
  if (reason.empty() && expect.expect_srcip) {
    if (alert.srcip.empty()) {
      reason = "the alert has no source address";
    } else if (auto address = ParseSourceAddress(alert.srcip); !address.ok()) {
      reason = address.status().message();
    } else if (std::string match = allow_list_.FindMatch(*address); !match.empty()) {
      reason = "source address " + address->ToString() + " is in the allow list (" + match + ")";
    } else {
      request.srcip = address->ToString();
    }
  }
  if (reason.empty() && expect.expect_user) {
    if (alert.user.empty()) {
      reason = "the alert has no user";
    } else if (!IsValidUserName(alert.user)) {
      reason = "invalid user name '" + EscapeForLog(alert.user) + "'";
    } else {
      request.user = alert.user;
    }
  }
  if (reason.empty() && expect.expect_filename) {
    if (alert.filename.empty()) {
      reason = "the alert has no file name";
    } else {
      request.filename = alert.filename;
    }
  }
  if (reason.empty()) {
    Status valid = ValidateRequest(&request);
    if (!valid.ok()) reason = valid.message();
  }

  ActionRecord record;
  record.response = request.name;
  record.key = request.Key();
  record.rule_id = request.rule_id;
  if (!reason.empty()) {
    ++skipped_;
    decision.reason = reason;
    record.event = "skipped";
    record.reason = reason;
    // Every skip is in the action log; the status log gets one per response and minute.
    uint64_t suppressed = 0;
    if (repeats_.ShouldLog("skip " + request.name, &suppressed)) {
      GetLogger("response")
          ->info("response {} for rule {} skipped: {} ({} more not logged)", request.name,
                 alert.rule_id, reason, suppressed);
    }
  } else if (Status sent = sink_->Send(request); !sent.ok()) {
    ++send_errors_;
    decision.reason = sent.message();
    record.event = "failed";
    record.reason = "cannot send to execd: " + sent.message();
    uint64_t suppressed = 0;
    if (repeats_.ShouldLog(request.name, &suppressed)) {
      GetLogger("response")
          ->error("response {} for rule {}: {} ({} more not logged)", request.name, alert.rule_id,
                  record.reason, suppressed);
    }
  } else {
    ++sent_;
    decision.sent = true;
    record.event = "decided";
    record.args = request.Arguments();
  }
  if (log_ != nullptr) log_->Append(std::move(record));
  return decision;
}

ResponderCounters Responder::counters() const {
  return ResponderCounters{alerts_.load(), sent_.load(), skipped_.load(), send_errors_.load()};
}

}  // namespace vigil::response
