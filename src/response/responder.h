// The analysis side of active response: decides which responses an alert triggers, checks
// the values they take from the alert and sends the requests to execd.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "common/logging.h"
#include "common/status.h"
#include "config/config.h"
#include "response/action_log.h"
#include "response/address.h"
#include "response/message.h"
#include "response/remote.h"
#include "response/socket.h"
#include "response/table.h"

namespace vigil::response {

// The facts of an alert that active response uses. Values are as decoded from the log line
// and not yet trusted. Empty strings mean absent.
struct AlertFacts {
  int rule_id = 0;
  int level = 0;
  std::vector<std::string> groups;  // the rule's groups, whole names
  bool no_ar = false;               // the rule has <options>no_ar</options>
  std::string srcip;
  std::string user;  // dstuser, as OSSEC passes it
  std::string filename;
  std::string location;
  std::string alert_id;  // "<epoch>.<offset>", as in alerts.log
  std::string agent_id;  // empty or "000" for this host
};

// Returns true when `response` is bound to the alert. That is the case when its level is set
// and the alert's level is at or above it, or the rule id is in its rules_id, or one of the
// alert's groups equals one of its rules_group names. Vigil compares whole names, where OSSEC
// matched rules_group anywhere in the group string, so `pam` also matched `pam_unix`. Alerts
// of level 0 or with no_ar, and disabled responses, bind nothing.
bool IsBound(const config::ActiveResponseConfig& response, const AlertFacts& alert);

// The destination of requests. Implementations are thread-safe.
class RequestSink {
 public:
  virtual ~RequestSink() = default;
  virtual Status Send(const ExecRequest& request) = 0;
};

// Sends requests as JSON datagrams to execd's socket.
class ExecqSink final : public RequestSink {
 public:
  static Expected<std::unique_ptr<ExecqSink>> Create(std::string socket_path);
  Status Send(const ExecRequest& request) override;

 private:
  ExecqSink(std::string path, DatagramSocket socket)
      : path_(std::move(path)), socket_(std::move(socket)) {}
  std::string path_;
  DatagramSocket socket_;
};

// The outcome for one bound response.
struct Decision {
  std::string response;
  bool sent = false;   // sent to this host's execd or queued for at least one agent
  std::string reason;  // why it was skipped, or the first send error
};

struct ResponderCounters {
  uint64_t alerts = 0;
  uint64_t sent = 0;  // requests sent to this host's execd or queued for agents
  uint64_t skipped = 0;
  uint64_t send_errors = 0;
};

// Thread-safe after Create(): OnAlert may be called from several threads.
class Responder {
 public:
  // Builds the bindings from `config`. `sink`, `agents` and `log` are not owned and must
  // outlive the Responder. `agents` is null on a host that accepts no agents, where responses
  // routed to an agent are skipped; `log` may be null. Fails when the configuration has a
  // response naming an unknown command; allow-list entries that are not addresses are logged
  // and ignored.
  static Expected<std::unique_ptr<Responder>> Create(const config::Config& config,
                                                     RequestSink* sink, ActionLog* log,
                                                     AgentSink* agents = nullptr);

  // Decides, validates and checks the allow list once, then sends to every host that
  // RouteResponse() names, for every response bound to `alert`. Each decision and each send
  // to an agent is recorded in the action log; the decisions are returned.
  std::vector<Decision> OnAlert(const AlertFacts& alert);

  ResponderCounters counters() const;

 private:
  struct Binding {
    config::ActiveResponseConfig response;
    TableEntry entry;
  };
  Responder(std::vector<Binding> bindings, AllowList allow_list, RequestSink* sink,
            AgentSink* agents, ActionLog* log)
      : bindings_(std::move(bindings)),
        allow_list_(std::move(allow_list)),
        sink_(sink),
        agents_(agents),
        log_(log) {}

  Decision Decide(const Binding& binding, const AlertFacts& alert);
  // Returns the reason `alert` cannot fill `*request` for `binding`; empty when it can.
  std::string FillRequest(const Binding& binding, const AlertFacts& alert, ExecRequest* request);
  // Sends `request` to this host's execd and records the outcome.
  void SendToThisHost(const ExecRequest& request, Decision* decision);
  // Queues `request` for `agent_id` (empty: every agent) and records the outcome.
  void SendToAgents(const Binding& binding, const ExecRequest& request,
                    const std::string& agent_id, Decision* decision);
  static ActionRecord RecordFor(const ExecRequest& request, const std::string& agent_id);
  // Counts and logs a failed send (one status-log line per `repeat_key` and minute) and
  // fills `*record` and `*decision` with the error.
  void RecordSendError(const std::string& repeat_key, const std::string& prefix,
                       const Status& error, ActionRecord* record, Decision* decision);
  void Append(ActionRecord record);

  std::vector<Binding> bindings_;
  AllowList allow_list_;
  RequestSink* sink_;
  AgentSink* agents_;
  ActionLog* log_;
  RepeatLimiter repeats_;  // for send errors, which repeat while execd is down
  std::atomic<uint64_t> alerts_{0}, sent_{0}, skipped_{0}, send_errors_{0};
};

}  // namespace vigil::response
