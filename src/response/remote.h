// Active responses across hosts: where a response runs (the manager, agents) and the request
// that a manager sends to an agent.
//
// A manager routes each bound response by its <location>; the parts bound for agents go through
// an AgentSink, which the daemon backs with the agent link. The agent decodes the command with
// DecodeAgentCommand and runs it through its own execd.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "config/config.h"
#include "response/address.h"
#include "response/message.h"
#include "response/table.h"

namespace vigil::response {

struct AlertFacts;
class Execd;

// The hosts that one response runs on for one alert.
struct ResponseRoute {
  bool this_host = false;           // the manager, or a host without agents
  bool all_agents = false;          // every enrolled agent
  std::vector<std::string> agents;  // these agent ids ("000" is never among them), each once
};

// Returns where `response` runs for `alert`. Each location adds its hosts:
//  * server: this host.
//  * local: the host where the event happened, so this host for local events (agent id empty
//    or "000") and the event's agent otherwise. No location at all means local.
//  * defined-agent: the agent `agent_id`, or this host when it is "000".
//  * all (any): every agent and this host.
// NOTE: OSSEC 3.7's analysisd runs a response that has `server` (or `local` with a local
// event) only on the manager, even when `all` or `defined-agent` is also set; Vigil runs it in
// every place named.
ResponseRoute RouteResponse(const config::ActiveResponseConfig& response, const AlertFacts& alert);

// A response for an agent: the validated request and the response-table entry it runs, so that
// the agent needs no configuration of its own for the response.
struct AgentCommand {
  ExecRequest request;
  TableEntry entry;
};

// Returns the JSON text that carries `command` to an agent.
std::string EncodeAgentCommand(const AgentCommand& command);

// Parses and checks text written by EncodeAgentCommand. The request passes ValidateRequest,
// the entry names the request's response, its executable is a plain file name or a built-in,
// and the timeout and repeated-offender values are in range. Input comes from the network.
Expected<AgentCommand> DecodeAgentCommand(std::string_view text);

// One response queued for agents.
struct AgentResponse {
  std::string agent_id;  // empty: every enrolled agent
  AgentCommand command;
};

// Queues responses for agents. Implementations are thread-safe.
class AgentSink {
 public:
  virtual ~AgentSink() = default;
  // Queues `response` and returns the number of agents it was queued for. Fails when the
  // agent is not enrolled or the queue cannot take the response.
  virtual Expected<size_t> Send(const AgentResponse& response) = 0;
};

// The result of one response on an agent, as the agent reports it to its manager.
struct AgentOutcome {
  enum class Kind { kExecuted, kSkipped, kFailed };
  Kind kind = Kind::kExecuted;
  int64_t exit_status = 0;  // the program's; -1 when it did not start or was killed
  std::string detail;       // the reason for skipped and failed, or what was done
  int64_t undo_at_ms = 0;   // when the agent undoes the response (Unix milliseconds); 0: never
};

// Origin of a command from the manager, and the time left on its block.
struct AgentCommandOrigin {
  uint64_t response_id = 0;  // the manager's id, kept with the pending delete
  // The seconds left of the response's timeout when the manager sent it; 0: the full timeout.
  // A response that waited for an offline agent ends when it would have ended had the agent
  // been online: an add with 10 s left of a 600 s timeout counts as decided 590 s ago.
  uint32_t seconds_left = 0;
};

// Runs one command from the manager through the agent's `execd` and waits up to `wait` for the
// outcome. `action` is "add" or "delete" with `payload` from EncodeAgentCommand, or "unblock"
// with the address in arguments[0], which undoes every pending block of that address. Adds
// whose source address is in `allow_list` are skipped.
AgentOutcome RunAgentCommand(Execd& execd, const AllowList& allow_list, const std::string& action,
                             const std::vector<std::string>& arguments, const std::string& payload,
                             std::chrono::milliseconds wait, const AgentCommandOrigin& origin = {},
                             const Clock* clock = nullptr);

}  // namespace vigil::response
