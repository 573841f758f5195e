// Wiring between active response and the agent link: the manager's AgentSink, the recording of
// agents' results, and the agent's handler for the responses its manager sends.
#pragma once

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <vector>

#include "response/action_log.h"
#include "response/address.h"
#include "response/agent_blocks.h"
#include "response/execd.h"
#include "response/remote.h"
#include "transport/agent.h"
#include "transport/manager.h"

namespace vigil::cli {

// Returns the transport request that carries `response` to its agent(s).
transport::ResponseRequest ToResponseRequest(const response::AgentResponse& response);

// Queues agent-bound responses on the manager. Sends fail until set_manager() is called.
class ManagerAgentSink final : public response::AgentSink {
 public:
  // `manager` is not owned; set it to null before the manager is destroyed.
  void set_manager(transport::Manager* manager) { manager_ = manager; }
  Expected<size_t> Send(const response::AgentResponse& response) override;

 private:
  std::atomic<transport::Manager*> manager_{nullptr};
};

// Records an agent's result (or an expiry) in the manager's action log and in the table of
// agents' blocks. `log` and `blocks` may be null.
void RecordAgentResult(const transport::ResponseRecord& record, response::ActionLog* log,
                       response::AgentBlockTable* blocks);

// Returns the agent's handler for responses from its manager. The handler runs each response
// through `execd`, which is not owned and must outlive it. When `disabled_reason` is set, the
// handler runs nothing and reports every response as skipped with that reason.
transport::ResponseHandler MakeAgentResponseHandler(response::Execd* execd,
                                                    response::AllowList allow_list,
                                                    std::string disabled_reason,
                                                    std::chrono::milliseconds wait);

// Reports the agent's own deletes at the end of a timeout to its manager. execd starts before
// the agent link, and deletes that are overdue at start run at once, so reports wait here
// until set_agent() names the link. Thread-safe.
class UndoReporter {
 public:
  // For ExecdOptions::on_timed_undo. Reports only blocks that a manager's response started.
  void Report(const response::PendingEntry& entry, const response::SubmitResult& result);
  // `agent` is not owned; reports made while it is null wait for the next agent. Set it to null
  // before the agent is destroyed.
  void set_agent(transport::Agent* agent);

 private:
  std::mutex mu_;
  transport::Agent* agent_ = nullptr;
  std::vector<transport::ResponseResultMessage> waiting_;
};

}  // namespace vigil::cli
