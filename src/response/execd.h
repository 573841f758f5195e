// execd: receives response requests on the execq socket, runs the response programs, and
// undoes them when their timeout ends.
//
// Threads: one loop thread owns the socket, the response table and the pending store; worker
// threads run the programs. Requests with the same response and key always go to the same
// worker, so an add and its delete never run out of order.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/logging.h"
#include "common/status.h"
#include "config/config.h"
#include "response/action_log.h"
#include "response/executor.h"
#include "response/message.h"
#include "response/pending.h"
#include "response/socket.h"
#include "response/table.h"

namespace vigil::response {

struct SubmitResult;

struct ExecdOptions {
  std::string state_dir;      // see StatePaths
  std::string responses_dir;  // where the programs named by the table are
  std::chrono::milliseconds program_time_limit{60'000};
  int workers = 2;
  // Write the response table from the configuration at start (the manager or a standalone
  // host). Agents set false and read the table that their manager sent.
  bool write_table = true;
  const Clock* clock = nullptr;  // null: the system clock. Not owned.
  // Called on a worker thread after each delete that the timer ran at the end of a timeout,
  // with the pending entry and the outcome ("undone", "simulated" or "failed"). Agents report
  // these to their manager. Not called for deletes requested by a message or an unblock.
  std::function<void(const PendingEntry& entry, const SubmitResult& result)> on_timed_undo;
};

// The outcome of one request handed to Execd::Submit().
struct SubmitResult {
  // The action-log event: executed, failed, simulated, extended, escalated, undone or skipped.
  std::string event;
  std::optional<int> exit_status;  // the program's, when one ran; -1 when it was killed
  std::string detail;              // the reason for skipped and failed, or what was done
  int64_t undo_at_ms = 0;  // wall clock when the pending delete runs; 0 when none is pending
};
using SubmitCallback = std::function<void(const SubmitResult&)>;
// The blocks an unblock undid, as "response key", and those whose delete failed, as
// "response key" with the reason.
struct UnblockResult {
  std::vector<std::string> undone;
  std::vector<std::pair<std::string, std::string>> failed;
};
using UnblockCallback = std::function<void(const UnblockResult& result)>;

struct ExecdCounters {
  uint64_t messages = 0;          // datagrams received and handled
  uint64_t invalid_messages = 0;  // rejected by the parser or validation
  uint64_t executed = 0;          // program runs that exited with status 0
  uint64_t failed = 0;            // program runs that failed to start, exited non-zero or timed out
  uint64_t simulated = 0;
  uint64_t extended = 0;  // repeats that extended or escalated a pending block
  uint64_t undone = 0;    // deletes run
};

class Execd {
 public:
  // Takes the state folder's lock, writes or reads the response table, loads the pending
  // deletes, binds the socket and starts the threads. Fails when another execd has locked
  // the state folder, the configuration is invalid or the socket cannot be bound.
  static Expected<std::unique_ptr<Execd>> Start(const config::Config& config, ExecdOptions options);
  ~Execd();

  // Stops receiving, finishes the programs already queued and saves the pending deletes,
  // which the next start carries out on time. Idempotent.
  void Stop();

  // Makes the loop check the timers now; tests call it after moving a ManualClock.
  void Wake();

  // Handles `request` on the loop thread as if it had arrived on the socket, and calls `done`
  // once with the outcome, on the loop thread or a worker thread. When `offered` is set and the
  // table has no entry of its name or a different one, execd adopts the entry and rewrites its
  // table file first: an agent learns its manager's responses this way. Requests submitted
  // after Stop() get a "skipped" result at once. Thread-safe.
  void Submit(ExecRequest request, std::optional<TableEntry> offered, SubmitCallback done);

  // Undoes every pending block of `srcip` (a normalised address) and, once every delete has
  // run, calls `done` with the blocks undone and those whose delete failed. Thread-safe.
  void SubmitUnblock(std::string srcip, UnblockCallback done);

  // Waits until no request is queued or running; returns false after `timeout`.
  bool WaitIdle(std::chrono::milliseconds timeout);

  ExecdCounters counters() const;
  std::vector<PendingEntry> Pending() const;
  const StatePaths& paths() const { return paths_; }

 private:
  Execd(ExecdOptions options, StatePaths paths)
      : options_(std::move(options)), paths_(std::move(paths)) {}

  Status Init(const config::Config& config);
  void Loop();
  void HandleDatagram(const std::string& payload, const std::string& sender);
  // Calls `done` (may be empty) once with the outcome.
  void HandleRequest(ExecRequest request, const SubmitCallback& done);
  // Dispatches the deletes of every pending block of `srcip`, and calls `done` (may be empty)
  // once all of them have run, from the worker thread of the last.
  void HandleUnblock(const std::string& srcip, UnblockCallback done);
  void AdoptEntry(const TableEntry& offered);
  void DrainSubmitted();
  void RunDue();
  void Dispatch(Job job, SubmitCallback done = nullptr, int64_t undo_at_ms = 0);
  void WorkerLoop(size_t index);
  void SavePending();
  // Re-reads ar.conf; options come from the configuration's table.
  void ReloadTable();
  const TableEntry* FindEntry(const std::string& name);
  int64_t NowMs() const;

  // A job and who waits for its outcome.
  struct QueuedJob {
    Job job;
    SubmitCallback done;
    int64_t undo_at_ms = 0;  // reported with a successful add
  };
  struct Worker {
    std::mutex mu;
    std::condition_variable cv;
    std::deque<QueuedJob> jobs;
    bool stopping = false;
    std::thread thread;
  };

  ExecdOptions options_;
  StatePaths paths_;
  const Clock* clock_ = nullptr;
  std::shared_ptr<spdlog::logger> logger_;
  RepeatLimiter repeats_;
  int lock_fd_ = -1;
  int wake_fd_ = -1;
  DatagramSocket socket_;
  ResponseTable config_table_;  // from the configuration: the options of every response
  ResponseTable table_;         // what the loop uses; re-read from ar.conf on an unknown name
  std::unique_ptr<ActionLog> log_;

  mutable std::mutex state_mu_;  // guards pending_ and counters_ for readers on other threads
  PendingStore pending_;
  ExecdCounters counters_;

  std::mutex idle_mu_;
  std::condition_variable idle_cv_;
  size_t busy_ = 0;  // jobs queued or running

  // Requests from Submit() and SubmitUnblock(), handled by the loop.
  struct Submitted {
    std::optional<ExecRequest> request;
    std::optional<TableEntry> offered;
    SubmitCallback done;
    std::string unblock_srcip;
    UnblockCallback unblock_done;
  };
  std::mutex submitted_mu_;
  std::deque<Submitted> submitted_;
  bool submit_closed_ = false;  // set by Stop(); guarded by submitted_mu_

  std::atomic<bool> stopping_{false};
  bool started_ = false;  // Init() completed
  bool stopped_ = false;
  std::thread loop_;
  std::vector<std::unique_ptr<Worker>> workers_;
};

}  // namespace vigil::response
