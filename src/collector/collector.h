// The collector: every <localfile> of the configuration (files, commands, journald) and the
// local queue socket, delivered as records to one sink.
//
// Threading: Start() runs the collector on its own thread and the sink is called on that
// thread only, one record at a time, in order per source. FollowerOptions::checkpoint is
// called on the same thread. The sink must not call Stop().
// Snapshot() may be called from any thread. Without Start(), PollOnce() runs one pass on the
// calling thread (tests, benchmarks and `vigil analyze`-style tools); the two modes must not
// be mixed.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "collector/file_follower.h"
#include "collector/reader.h"
#include "collector/source_status.h"
#include "config/config.h"

namespace vigil::collector {

struct CollectorOptions {
  std::vector<config::LocalFileConfig> localfiles;
  FollowerOptions follower;
  // Path of OSSEC's local queue socket to bind (AF_UNIX datagrams `1:location:message`);
  // empty disables it.
  std::string queue_socket;
  // JSON status file written every loop_timeout and at stop, read by `vigil status`; empty
  // disables it.
  std::string status_file;
  // Saved journald cursor; empty starts journald at its tail on every start.
  std::string journald_cursor_file;
  // A command still running after this is killed (its output so far is kept).
  std::chrono::milliseconds command_timeout{60000};
};

// Builds the options from a loaded config: loop_timeout, the localfiles, and state files in
// config.paths.state_dir (`collector.positions`, `collector-status.json`,
// `journald.cursor`, and the queue socket `queue/ossec/queue`).
CollectorOptions CollectorOptionsFromConfig(const config::Config& config);

class Collector {
 public:
  // Validates every localfile (errors name the config file and line), loads positions and
  // binds the queue socket. Reads nothing yet.
  static Expected<std::unique_ptr<Collector>> Create(CollectorOptions options, RecordCallback sink);
  ~Collector();
  Collector(const Collector&) = delete;
  Collector& operator=(const Collector&) = delete;

  // Starts the collector thread. Logs the enabled inputs.
  Status Start();

  // Stops the thread: the current pass ends, pending groups that a restart could not rebuild
  // are emitted, positions and status are saved, and the counters are logged. Idempotent.
  void Stop();

  // Runs one pass on the calling thread: rescans locations when `rescan` (always the first
  // time), reads files, receives socket datagrams, runs due commands and reads journald.
  // Returns true when more file data is waiting. REQUIRES: Start() was not called.
  bool PollOnce(bool rescan = true);

  // Ends PollOnce() use the way Stop() ends the thread. REQUIRES: Start() was not called.
  void Close();

  // Returns the counters of every source; thread-safe.
  CollectorStatus Snapshot() const;

  // Returns the checkpoint text saved with the positions by the last run (see
  // FollowerOptions::checkpoint), empty when there was none. Call before Start().
  const std::string& SavedCheckpoint() const;

  // Returns the paths of the files with saved positions: the locations whose records a
  // restart reads again from those positions. Call before Start().
  std::set<std::string> SavedPaths() const;

 private:
  struct CommandSource;

  Collector(CollectorOptions options, RecordCallback sink);
  Status Init();
  void Run();
  bool Pass(bool rescan);
  void RunDueCommands();
  void UpdateWatches();
  // Reads pending inotify events; returns true when names changed, so a rescan is due.
  bool ReadInotifyEvents();
  void PublishStatus(bool write_file);
  void Finish();

  CollectorOptions options_;
  RecordCallback sink_;
  std::shared_ptr<spdlog::logger> log_;
  std::unique_ptr<FileFollower> follower_;
  std::unique_ptr<class QueueSocket> queue_;
  std::unique_ptr<class JournaldSource> journald_;
  std::vector<std::unique_ptr<CommandSource>> commands_;
  int inotify_fd_ = -1;
  int wake_fd_ = -1;
  std::map<std::string, int> watches_;     // folder -> inotify watch descriptor
  std::set<std::string> unwatched_;        // folders whose watch failed, logged once
  std::map<uint32_t, std::string> moves_;  // IN_MOVED_FROM cookie -> old path
  bool rescan_due_ = false;  // events read during a pass changed names
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  bool started_ = false;
  bool finished_ = false;
  std::chrono::steady_clock::time_point last_rescan_;
  std::chrono::steady_clock::time_point last_status_write_;
  mutable std::mutex status_mu_;
  CollectorStatus status_;  // guarded by status_mu_
};

}  // namespace vigil::collector
