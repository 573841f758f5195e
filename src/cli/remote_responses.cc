#include "cli/remote_responses.h"

#include <memory>

#include "common/logging.h"

namespace vigil::cli {

transport::ResponseRequest ToResponseRequest(const response::AgentResponse& response) {
  transport::ResponseRequest request;
  request.agent_id = response.agent_id;
  request.command = response.command.request.name;
  request.action = response.command.request.action == response::Action::kAdd ? "add" : "delete";
  std::vector<std::string> arguments = response.command.request.Arguments();
  request.arguments.assign(arguments.begin() + 1, arguments.end());
  // An offline agent gets the response while its block would still be in force.
  request.timeout_seconds = static_cast<uint32_t>(response.command.entry.timeout_seconds);
  request.payload = response::EncodeAgentCommand(response.command);
  return request;
}

Expected<size_t> ManagerAgentSink::Send(const response::AgentResponse& response) {
  transport::Manager* manager = manager_.load();
  if (manager == nullptr) return Status::Internal("the agent link is not running");
  auto ids = manager->SendResponse(ToResponseRequest(response));
  if (!ids.ok()) return ids.status();
  return ids->size();
}

void RecordAgentResult(const transport::ResponseRecord& record, response::ActionLog* log,
                       response::AgentBlockTable* blocks) {
  response::ActionRecord action;
  action.event = record.state;
  action.response = record.command;
  action.agent_id = record.agent_id;
  action.reason = record.detail;
  action.args = record.arguments;
  if (record.state != "expired" && record.state != "skipped") {
    action.exit_status = static_cast<int>(record.exit_status);
  }
  std::string key;
  if (record.action == "unblock") {
    key = record.arguments.empty() ? "" : record.arguments.front();
    action.response = "unblock";
  } else if (auto command = response::DecodeAgentCommand(record.payload); command.ok()) {
    key = command->request.Key();
    action.rule_id = command->request.rule_id;
  }
  action.key = key;
  if (!record.undo_state.empty()) {
    // The agent's own delete at the end of the timeout.
    action.event = record.state == "undone" ? "undone" : "failed";
    action.args.clear();
    if (auto command = response::DecodeAgentCommand(record.payload); command.ok()) {
      command->request.action = response::Action::kDelete;
      action.args = command->request.Arguments();
    }
    action.reason = "undone by agent " + record.agent_id + " at the end of the timeout" +
                    (record.detail.empty() ? "" : ": " + record.detail);
    // The block has ended even when the delete failed: the agent holds no pending delete of it
    // any more, so nothing would undo it later.
    if (blocks != nullptr) {
      blocks->RemoveUndone(record.agent_id, record.command, key, record.undo_at_ms);
    }
    if (log != nullptr) log->Append(std::move(action));
    return;
  }
  if (blocks != nullptr && record.state == "executed") {
    if (record.action == "unblock" || record.action == "delete") {
      blocks->RemoveKey(record.agent_id, key);
    } else if (record.undo_at_ms > 0) {
      blocks->Set(response::AgentBlock{record.agent_id, record.command, key,
                                       record.undo_at_ms});
    }
  }
  if (log != nullptr) log->Append(std::move(action));
}

transport::ResponseHandler MakeAgentResponseHandler(response::Execd* execd,
                                                    response::AllowList allow_list,
                                                    std::string disabled_reason,
                                                    std::chrono::milliseconds wait) {
  auto allowed = std::make_shared<response::AllowList>(std::move(allow_list));
  return [execd, allowed, disabled_reason, wait](const transport::ResponseCommandMessage& m) {
    transport::ResponseResultMessage result;
    result.response_id = m.response_id;
    if (!disabled_reason.empty() || execd == nullptr) {
      result.outcome = transport::ResponseOutcome::kSkipped;
      result.detail = disabled_reason.empty() ? "active response is disabled on this agent"
                                              : disabled_reason;
      return result;
    }
    const response::AgentOutcome outcome =
        response::RunAgentCommand(*execd, *allowed, m.action, m.arguments, m.payload, wait,
                                  response::AgentCommandOrigin{m.response_id, m.timeout_seconds});
    switch (outcome.kind) {
      case response::AgentOutcome::Kind::kExecuted:
        result.outcome = transport::ResponseOutcome::kExecuted;
        break;
      case response::AgentOutcome::Kind::kSkipped:
        result.outcome = transport::ResponseOutcome::kSkipped;
        break;
      case response::AgentOutcome::Kind::kFailed:
        result.outcome = transport::ResponseOutcome::kFailed;
        break;
    }
    result.exit_status = outcome.exit_status;
    result.detail = outcome.detail;
    result.undo_at_ms = outcome.undo_at_ms;
    return result;
  };
}

}  // namespace vigil::cli

namespace vigil::cli {

void UndoReporter::Report(const response::PendingEntry& entry,
                          const response::SubmitResult& result) {
  if (entry.request.origin_id == 0) return;  // a block this agent started itself
  transport::ResponseResultMessage message;
  message.response_id = entry.request.origin_id;
  message.outcome = result.event == "failed" ? transport::ResponseOutcome::kUndoFailed
                                             : transport::ResponseOutcome::kUndone;
  message.exit_status = result.exit_status.value_or(result.event == "failed" ? -1 : 0);
  message.detail = result.event == "undone" ? "" : result.detail;
  message.undo_at_ms = entry.due_ms;
  std::lock_guard lock(mu_);
  if (agent_ != nullptr) {
    agent_->ReportResult(std::move(message));
  } else {
    waiting_.push_back(std::move(message));
  }
}

void UndoReporter::set_agent(transport::Agent* agent) {
  std::lock_guard lock(mu_);
  agent_ = agent;
  if (agent_ == nullptr) return;
  for (transport::ResponseResultMessage& message : waiting_) {
    agent_->ReportResult(std::move(message));
  }
  waiting_.clear();
}

}  // namespace vigil::cli
