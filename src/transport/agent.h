// The agent's side of the link: forwards the collector's records to a manager through the
// on-disk queue, keeps the connection alive, fails over between managers, and runs the active
// responses the manager sends.
//
// Threads: Start() runs one link thread (connect, TLS, send, receive) and one response thread
// (runs the response handler, which may block). Submit() and the accessors are thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/logging.h"
#include "common/status.h"
#include "transport/disk_queue.h"
#include "transport/enrollment.h"
#include "transport/message.h"

namespace vigil::transport {

// Runs one active response and reports what became of it. Runs on the response thread.
using ResponseHandler = std::function<ResponseResultMessage(const ResponseCommandMessage&)>;

struct AgentOptions {
  std::string state_dir;               // the credential from EnrollAgent and the queue
  std::vector<std::string> managers;   // HOST:PORT, tried in order; the next one on failure
  std::string version;                 // reported in keepalives
  std::string config_checksum;         // reported in keepalives
  std::chrono::seconds keepalive{60};  // status interval (OSSEC's notify_time)
  std::chrono::milliseconds connect_timeout{10000};
  // Silence from the manager after which the agent reconnects (OSSEC's time-reconnect);
  // 0: three keepalive intervals plus 30 s.
  std::chrono::seconds reconnect_after{0};
  std::chrono::milliseconds backoff_initial{1000};  // first reconnect delay
  std::chrono::milliseconds backoff_max{60000};     // reconnect delays double up to this
  size_t max_in_flight_batches = 64;                // batches sent and not yet acknowledged
  uint64_t queue_max_bytes = 64ull << 20;
  bool queue_fsync = false;
  ResponseHandler on_response;  // unset: every response is reported as skipped
};

struct AgentCounters {
  uint64_t connects = 0;          // sessions established (hello acknowledged)
  uint64_t connect_failures = 0;  // TCP, TLS or hello failures
  uint64_t disconnects = 0;
  uint64_t batches_sent = 0;
  uint64_t batches_resent = 0;  // sent again after a reconnect
  uint64_t batches_acked = 0;
  uint64_t records_submitted = 0;
  uint64_t backpressure = 0;  // Submit calls rejected because the queue was full
  uint64_t keepalives_sent = 0;
  uint64_t responses_received = 0;
  uint64_t responses_duplicate = 0;  // responses already run; the logged result is resent
  uint64_t results_resent = 0;       // results sent again because no ack came before a reconnect
  uint64_t results_acked = 0;
  uint64_t queue_records = 0;
  uint64_t queue_bytes = 0;
};

class Agent {
 public:
  // Loads the credential and opens the queue; does not connect yet.
  static Expected<std::unique_ptr<Agent>> Create(AgentOptions options);
  ~Agent();

  Status Start();
  // Stops the threads; unacknowledged records stay in the queue for the next start.
  void Stop();

  // Queues records for the manager, all or nothing. Returns kResourceExhausted when the queue
  // is full: the collector must keep its position and retry after WaitForSpace().
  Status Submit(const std::vector<EventRecord>& records);
  // Blocks until about `bytes` fit into the queue or the timeout passes.
  bool WaitForSpace(uint64_t bytes, std::chrono::milliseconds timeout);

  bool connected() const { return connected_; }
  // The manager currently or last connected, as HOST:PORT.
  std::string current_manager() const;
  const std::string& agent_id() const { return identity_.agent_id; }
  std::string session_id() const { return queue_->session_id(); }
  AgentCounters counters() const;

  // Sends a result that the agent produced by itself, such as the report of a block undone at
  // the end of its timeout (outcome kUndone or kUndoFailed). Like the results of the manager's
  // commands, it is kept in responses.json and sent on every connection until the manager
  // acknowledges it. Thread-safe; works before Start() and after Stop() too.
  void ReportResult(ResponseResultMessage result);

 private:
  Agent(AgentOptions options, AgentIdentity identity, std::unique_ptr<DiskQueue> queue);
  void RunLink();
  // Runs one connection until it fails or Stop(); returns why it ended.
  Status RunSession(const std::string& manager);
  void RunResponses();
  AgentStatus CurrentStatus() const;
  void LoadResponseLog();
  void SaveResponseLog();
  // Keeps `result` until the manager acknowledges it and sends it on the link.
  void Queue(ResponseResultMessage result);
  void Wake();

  AgentOptions options_;
  AgentIdentity identity_;
  std::unique_ptr<DiskQueue> queue_;
  SslCtxPtr ssl_ctx_;
  std::string hostname_;
  std::string os_;

  std::atomic<bool> stop_{false};
  std::atomic<bool> connected_{false};
  int wake_fd_ = -1;
  std::thread link_thread_;
  std::thread response_thread_;

  mutable std::mutex mu_;
  std::condition_variable cv_;  // Stop() and new responses
  AgentCounters counters_;
  std::string current_manager_;
  std::deque<ResponseCommandMessage> responses_todo_;
  std::vector<ResponseResultMessage> results_todo_;  // to send on the link
  // Results of responses already run, by id, so a resent response is not run twice.
  std::map<uint64_t, ResponseResultMessage> response_log_;
  // Results the manager has not acknowledged, by response id and phase (true: undo).
  std::map<std::pair<uint64_t, bool>, ResponseResultMessage> unacked_;
  uint64_t highest_sent_seq_ = 0;  // link thread only; counts resends
  RepeatLimiter limiter_{std::chrono::seconds(60)};
};

}  // namespace vigil::transport
