// Internal to the manager: the shared per-agent state and the event loops. Only manager.cc,
// manager_loop.cc and control.cc include this header.
#pragma once

#include <chrono>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "common/logging.h"
#include "transport/frame.h"
#include "transport/manager.h"
#include "transport/peer_filter.h"
#include "transport/tls.h"
#include "transport/tls_io.h"

namespace vigil::transport {

class ControlServer;
// Deletes a control server; defined where ControlServer is complete.
struct ControlServerDeleter {
  void operator()(ControlServer* server) const;
};

// The loop and connection id of an agent's live connection.
struct ConnectionRef {
  int loop = -1;
  uint64_t connection_id = 0;
  bool valid() const { return loop >= 0; }
};

// Replay state of one agent: its current session and the sessions it left.
struct SessionState {
  std::string session_id;
  uint64_t last_seq = 0;
  bool established = false;  // false until the first batch of a session sets the base
  std::deque<std::string> retired;
};

struct AgentRuntime {
  ConnectionRef connection;
  std::string peer_address;
  AgentStatus status;
  int64_t last_keepalive = 0;
  uint64_t events_received = 0;
  uint64_t batches_received = 0;
  uint64_t duplicate_batches = 0;
  SessionState session;
  std::deque<uint64_t> pending_responses;  // ids, in order of creation
};

struct LoopCommand {
  enum class Kind { kClose, kFlushResponses } kind;
  uint64_t connection_id = 0;
  std::string reason;
};

// One bound agent port and its peer filter.
struct Listener {
  ListenerOptions options;
  PeerFilter filter;
  int fd = -1;
  uint16_t port = 0;
};

class EventLoop;
// Deletes an event loop; defined where EventLoop is complete.
struct EventLoopDeleter {
  void operator()(EventLoop* loop) const;
};
using EventLoopPtr = std::unique_ptr<EventLoop, EventLoopDeleter>;

// Listening sockets share the epoll tag space with connections, so their number is bounded.
inline constexpr size_t kMaxListeners = 64;

class Manager::Impl {
 public:
  explicit Impl(ManagerOptions options) : options_(std::move(options)) {}
  ~Impl();

  Status Init();
  Status Start();
  void Stop();

  // The state shared by the loops. Guarded by mu_.
  mutable std::mutex mu_;
  std::unordered_map<std::string, AgentRuntime> agents_;
  std::map<uint64_t, ResponseRecord> responses_;
  uint64_t next_response_id_ = 1;
  // The ResultId of the latest results recorded, oldest first, kept in responses.json.
  std::deque<std::string> seen_results_;
  std::unordered_set<std::string> seen_result_set_;
  // Remembers `id`; returns false when it was already there. REQUIRES: mu_ held.
  bool MarkResultSeenLocked(const std::string& id);
  bool sessions_dirty_ = false;
  ManagerCounters counters_;

  // Adds `n` to one counter under mu_.
  void Count(uint64_t ManagerCounters::*field, uint64_t n = 1) {
    std::lock_guard lock(mu_);
    counters_.*field += n;
  }

  // Logs a rejection through the repeat limiter.
  template <typename... Args>
  void LogRejection(const std::string& key, fmt::format_string<Args...> format, Args&&... args) {
    uint64_t suppressed = 0;
    if (!limiter_.ShouldLog(key, &suppressed)) return;
    std::string text = fmt::format(format, std::forward<Args>(args)...);
    if (suppressed > 0) text += fmt::format(" ({} similar messages suppressed)", suppressed);
    log_->warn("{}", text);
  }

  void PostToLoop(int loop, LoopCommand command);
  void CloseListeners();

  // Response bookkeeping (REQUIRES: mu_ held).
  // Marks the pending responses whose time is up as expired and returns them.
  std::vector<ResponseRecord> ExpireResponsesLocked(int64_t now);
  Status SaveResponsesLocked();
  Status SaveSessionsLocked();
  Status LoadPersistentState();
  void WriteAgentStateFile();

  Expected<std::vector<uint64_t>> SendResponse(const ResponseRequest& request);
  Status RemoveAgent(const std::string& id);
  std::vector<AgentInfo> ListAgents() const;
  // Runs once a second on loop 0: saves state, expires responses, cuts removed agents.
  void Housekeeping();

  ManagerOptions options_;
  std::unique_ptr<ManagerStore> store_;
  SslCtxPtr ssl_ctx_;
  std::vector<Listener> listeners_;
  std::vector<EventLoopPtr> loops_;
  std::unique_ptr<ControlServer, ControlServerDeleter> control_;
  std::atomic<bool> running_{false};
  std::atomic<uint64_t> next_connection_id_{1};
  std::shared_ptr<spdlog::logger> log_ = GetLogger("transport");
  RepeatLimiter limiter_{std::chrono::seconds(10)};
  std::chrono::steady_clock::time_point last_state_file_{};
};

// Create, start, stop and post to one event loop; defined in manager_loop.cc.
EventLoopPtr MakeEventLoop(Manager::Impl* impl, int index);
void StartEventLoop(EventLoop* loop);
void StopEventLoop(EventLoop* loop);
void PostEventLoop(EventLoop* loop, LoopCommand command);
// SSL verify callback that checks client certificates against the agent list.
int VerifyClientCertificate(int preverify_ok, X509_STORE_CTX* store_ctx);
// SSL_psk_find_session_cb_func that looks the PSK identity up among the PSK agents.
int FindAgentPsk(SSL* ssl, const unsigned char* identity, size_t identity_len,
                 SSL_SESSION** session);

}  // namespace vigil::transport
