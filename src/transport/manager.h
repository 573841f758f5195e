// The manager's side of the agent link: a TLS 1.3 listener for thousands of agents, the
// per-agent state, event delivery with acknowledgements, and active responses queued per
// agent.
//
// Threads: `io_threads` event loops (epoll, non-blocking sockets and OpenSSL) share the
// listening socket; each connection belongs to one loop. The events callback and the
// response-result callback run on a loop thread, so they must not block for long. Every
// public method is thread-safe.
//
// Delivery contract: a batch is acknowledged to the agent only after the events callback
// returned true for it. Each agent's batches carry a session id (the agent's queue) and a
// sequence number; the manager delivers sequence n only after n-1, drops a batch it already
// delivered, and rejects a gap. The last delivered number per (agent, session) is saved in
// sessions.json every second and at Stop(), so a restarted manager drops the batches an agent
// resends. NOTE: after a crash (no Stop()), batches delivered in the last second before it may
// be delivered again when the agent had not received their acknowledgement.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "transport/manager_store.h"
#include "transport/message.h"

namespace vigil::transport {

// Returns OSSEC's location form for an agent event: "(name) address->path".
std::string FormatAgentLocation(std::string_view name, std::string_view address,
                                std::string_view path);

// One delivered batch. The views are valid only during the callback.
struct AgentEventBatch {
  std::string_view agent_id;
  std::string_view agent_name;
  // The agent's enrolled address, or the address it connected from when it enrolled as "any".
  std::string_view agent_address;
  const std::vector<EventRecord>& records;

  // Returns "(name) address->location" for records[i].
  std::string Location(size_t i) const {
    return FormatAgentLocation(agent_name, agent_address, records[i].location);
  }
};

// Returns true when the events were accepted (they are then acknowledged to the agent) and
// false to make the manager retry the batch later; the agent's connection stops reading
// meanwhile, which pushes back to the agent's queue.
using EventsCallback = std::function<bool(const AgentEventBatch& batch)>;

// A request for an active response on one agent or on all of them.
struct ResponseRequest {
  std::string agent_id;  // empty: every enrolled agent
  std::string command;
  std::string action = "add";
  std::vector<std::string> arguments;
  uint32_t timeout_seconds = 0;  // the response's own timeout; 0: never undone
  std::string payload;
};

// The outcome of one response on one agent.
struct ResponseRecord {
  uint64_t response_id = 0;
  std::string agent_id;
  std::string command;
  std::string action;
  std::vector<std::string> arguments;
  uint32_t timeout_seconds = 0;
  std::string payload;
  int64_t created_at = 0;  // Unix seconds
  int64_t expires_at = 0;  // undelivered after this, the response is dropped as "expired"
  // "pending" (waiting for the agent), "sent", "executed", "skipped", "failed", "expired".
  std::string state = "pending";
  int64_t exit_status = 0;
  std::string detail;
  int64_t updated_at = 0;
  int64_t undo_at_ms = 0;  // from the agent's result: when its execd undoes it (Unix ms)
  // Set once the agent reported its own delete at the end of the timeout: "undone" or
  // "failed". The record passed to on_response_result for that report has action "delete",
  // this value as its state, and the exit status and detail of the delete.
  std::string undo_state;
};

// One line of `vigil control -l`.
struct AgentInfo {
  std::string id;
  std::string name;
  std::string address;       // enrolled address or "any"
  std::string peer_address;  // where the current or last connection came from
  std::string version;
  std::string hostname;
  std::string os;
  std::string config_checksum;
  std::string status;          // "active", "disconnected", "never connected" or "removed"
  int64_t last_keepalive = 0;  // Unix seconds; 0 when never seen
  uint64_t events_received = 0;
  uint64_t batches_received = 0;
  uint64_t duplicate_batches = 0;
  uint64_t queue_records = 0;  // the agent's unacknowledged records, as last reported
  uint64_t queue_bytes = 0;
  uint64_t pending_responses = 0;
};

struct ManagerCounters {
  uint64_t connections_accepted = 0;
  uint64_t connections_active = 0;
  uint64_t agents_connected = 0;
  uint64_t handshakes_failed = 0;  // TLS failures, including revoked certificates
  uint64_t handshake_timeouts = 0;
  uint64_t enrollments = 0;
  uint64_t enrollments_rejected = 0;
  uint64_t rejected_oversize = 0;       // frames over the maximum size
  uint64_t rejected_malformed = 0;      // invalid frames or messages, garbage
  uint64_t rejected_truncated = 0;      // connections closed in the middle of a frame
  uint64_t rejected_unknown_agent = 0;  // hello for an id that is not the certificate's
  uint64_t rejected_revoked = 0;        // certificates revoked or not current, removed PSK agents
  uint64_t rejected_psk = 0;            // unknown PSK identities and wrong keys
  uint64_t connections_denied = 0;      // peers refused by allowed-ips or denied-ips
  uint64_t rejected_protocol = 0;       // messages out of place, such as a batch before hello
  uint64_t replayed_batches = 0;        // batches already delivered, dropped and acknowledged
  uint64_t reordered_batches = 0;       // batches past a gap, rejected
  uint64_t rejected_sessions = 0;       // hellos for a retired session
  uint64_t batches_delivered = 0;
  uint64_t events_delivered = 0;
  uint64_t callback_refusals = 0;  // batches the callback asked to retry
  uint64_t responses_sent = 0;
  uint64_t response_results = 0;
  uint64_t responses_expired = 0;
  uint64_t duplicate_results = 0;  // results already recorded, acknowledged again and dropped
};

// One agent port: a <remote> block with <connection>secure</connection>.
struct ListenerOptions {
  std::string address = "0.0.0.0";  // "::" for IPv6
  uint16_t port = 1514;             // 0 picks a free port (tests)
  // Peer filter applied before the TLS handshake (see PeerFilter); empty lists accept every
  // address.
  std::vector<std::string> allowed_ips;
  std::vector<std::string> denied_ips;
};

struct ManagerOptions {
  std::string state_dir;
  // The agent ports. When empty, one port on listen_address:port without a peer filter.
  std::vector<ListenerOptions> listeners;
  std::string listen_address = "0.0.0.0";  // "::" for IPv6
  uint16_t port = 1514;                    // 0 picks a free port (tests)
  int io_threads = 1;
  size_t max_frame_bytes = kDefaultMaxFrameBytes;
  size_t max_body_bytes = kDefaultMaxBodyBytes;
  // Sent to agents in the hello ack. A connection silent for 3 intervals plus 30 s is closed.
  uint32_t keepalive_seconds = 60;
  uint32_t handshake_timeout_ms = 10000;
  // How long a response with timeout 0 waits for an offline agent.
  uint32_t response_ttl_seconds = 600;
  // Serve `vigil control` on <state_dir>/control.sock.
  bool control_socket = true;
  EventsCallback on_events;
  // Called once with the record of each response that an agent reported a result for, once
  // more when the agent reports the undo at the end of the timeout (see undo_state), and once
  // with each response that expired before its agent connected. A result the agent resends is
  // recognised by its ResultId, also across a restart of the manager, and not passed again.
  std::function<void(const ResponseRecord&)> on_response_result;
};

class Manager {
 public:
  // Opens the state folder (creating the CA on first use). Does not listen yet.
  static Expected<std::unique_ptr<Manager>> Create(ManagerOptions options);
  ~Manager();

  // Binds the port and starts the event loops and the control socket.
  Status Start();
  // Closes every connection, stops the threads and saves the state. Idempotent.
  void Stop();

  // The bound port of the first listener (after Start()).
  uint16_t port() const;
  // The bound ports of every listener, in the order of ManagerOptions::listeners.
  std::vector<uint16_t> ports() const;

  // Queues a response for one agent or all; returns the response ids created.
  Expected<std::vector<uint64_t>> SendResponse(const ResponseRequest& request);
  // Revokes an agent and closes its connection.
  Status RemoveAgent(const std::string& id);

  std::vector<AgentInfo> ListAgents() const;
  std::vector<ResponseRecord> ListResponses() const;
  ManagerCounters counters() const;
  ManagerStore& store();

  class Impl;

 private:
  explicit Manager(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace vigil::transport
