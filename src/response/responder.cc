#include "response/responder.h"

#include <algorithm>

#include "common/logging.h"

namespace vigil::response {
namespace {

bool IsLocalEvent(const AlertFacts& alert) {
  return alert.agent_id.empty() || alert.agent_id == "000";
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
  return socket_.SendTo(path_, request.ToExecqJson(), kExecdNotRunningHint);
}

Expected<std::unique_ptr<Responder>> Responder::Create(const config::Config& config,
                                                       RequestSink* sink, ActionLog* log,
                                                       AgentSink* agents) {
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
      new Responder(std::move(bindings), std::move(allow_list), sink, agents, log));
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

  const ResponseRoute route = RouteResponse(binding.response, alert);
  std::string reason = FillRequest(binding, alert, &request);
  if (reason.empty() && agents_ == nullptr && !route.agents.empty()) {
    // A host without a <remote> section has no agents; `all` still runs here.
    reason = "runs on agent " + route.agents.front() +
             ", and this host accepts no agents (it has no <remote> section)";
  }
  if (!reason.empty()) {
    ++skipped_;
    decision.reason = reason;
    ActionRecord record = RecordFor(request, "");
    record.event = "skipped";
    record.reason = reason;
    // Every skip is in the action log; the status log gets one per response and minute.
    uint64_t suppressed = 0;
    if (repeats_.ShouldLog("skip " + request.name, &suppressed)) {
      GetLogger("response")
          ->info("response {} for rule {} skipped: {} ({} more not logged)", request.name,
                 alert.rule_id, reason, suppressed);
    }
    Append(std::move(record));
    return decision;
  }
  if (route.this_host) SendToThisHost(request, &decision);
  if (agents_ != nullptr) {
    if (route.all_agents) SendToAgents(binding, request, "", &decision);
    for (const std::string& agent : route.agents) {
      SendToAgents(binding, request, agent, &decision);
    }
  }
  return decision;
}

std::string Responder::FillRequest(const Binding& binding, const AlertFacts& alert,
                                   ExecRequest* request) {
  const ResponseOptions& expect = binding.entry.options;
  if (expect.expect_srcip) {
    if (alert.srcip.empty()) return "the alert has no source address";
    auto address = ParseSourceAddress(alert.srcip);
    if (!address.ok()) return address.status().message();
    if (std::string match = allow_list_.FindMatch(*address); !match.empty()) {
      return "source address " + address->ToString() + " is in the allow list (" + match + ")";
    }
    request->srcip = address->ToString();
  }
  if (expect.expect_user) {
    if (alert.user.empty()) return "the alert has no user";
    if (!IsValidUserName(alert.user)) return "invalid user name '" + EscapeForLog(alert.user) + "'";
    request->user = alert.user;
  }
  if (expect.expect_filename) {
    if (alert.filename.empty()) return "the alert has no file name";
    request->filename = alert.filename;
  }
  Status valid = ValidateRequest(request);
  return valid.ok() ? "" : valid.message();
}

void Responder::SendToThisHost(const ExecRequest& request, Decision* decision) {
  ActionRecord record = RecordFor(request, "");
  if (Status sent = sink_->Send(request); !sent.ok()) {
    RecordSendError(request.name, "cannot send to execd: ", sent, &record, decision);
  } else {
    ++sent_;
    decision->sent = true;
    record.event = "decided";
    record.args = request.Arguments();
  }
  Append(std::move(record));
}

void Responder::SendToAgents(const Binding& binding, const ExecRequest& request,
                             const std::string& agent_id, Decision* decision) {
  ActionRecord record = RecordFor(request, agent_id);
  const std::string where = agent_id.empty() ? "every agent" : "agent " + agent_id;
  auto queued = agents_->Send(AgentResponse{agent_id, AgentCommand{request, binding.entry}});
  if (!queued.ok()) {
    RecordSendError("agent " + request.name, "cannot send to " + where + ": ", queued.status(),
                    &record, decision);
  } else {
    ++sent_;
    decision->sent = true;
    record.event = "sent";
    record.args = request.Arguments();
    if (agent_id.empty()) {
      record.reason = "sent to every agent (" + std::to_string(*queued) + ")";
    } else {
      record.reason = "sent to agent " + agent_id;
    }
  }
  Append(std::move(record));
}

ActionRecord Responder::RecordFor(const ExecRequest& request, const std::string& agent_id) {
  ActionRecord record;
  record.response = request.name;
  record.key = request.Key();
  record.rule_id = request.rule_id;
  record.agent_id = agent_id;
  return record;
}

void Responder::RecordSendError(const std::string& repeat_key, const std::string& prefix,
                                const Status& error, ActionRecord* record, Decision* decision) {
  ++send_errors_;
  if (decision->reason.empty()) decision->reason = error.message();
  record->event = "failed";
  record->reason = prefix + error.message();
  uint64_t suppressed = 0;
  if (repeats_.ShouldLog(repeat_key, &suppressed)) {
    GetLogger("response")
        ->error("response {} for rule {}: {} ({} more not logged)", record->response,
                record->rule_id, record->reason, suppressed);
  }
}

void Responder::Append(ActionRecord record) {
  if (log_ != nullptr) log_->Append(std::move(record));
}

ResponderCounters Responder::counters() const {
  return ResponderCounters{alerts_.load(), sent_.load(), skipped_.load(), send_errors_.load()};
}

}  // namespace vigil::response
