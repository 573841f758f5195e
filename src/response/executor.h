// Runs one response program for a request and records the result; shared by execd's workers
// and by `vigil control` when no execd runs.
#pragma once

#include <chrono>
#include <string>

#include "response/action_log.h"
#include "response/message.h"
#include "response/runner.h"
#include "response/table.h"

namespace vigil::response {

// Files of active response inside the state folder.
struct StatePaths {
  std::string execq;    // queue/alerts/execq: execd's socket
  std::string table;    // shared/ar.conf: the response table
  std::string pending;  // response/pending.json: pending deletes and offence counts
  std::string actions;  // response/actions.log: the action records
  std::string lock;     // response/execd.lock: held by the running execd
  // response/agent-blocks.json: on a manager, the blocks its agents hold
  std::string agent_blocks;

  static StatePaths ForStateDir(const std::string& state_dir);
};

struct Job {
  TableEntry entry;         // name, executable and options of the response
  ExecRequest request;      // request.action selects add or delete
  int timeout_seconds = 0;  // of the block, for VIGIL_AR_TIMEOUT
  std::string event;        // action-log event on success: "executed" or "undone"
};

struct ExecutorOptions {
  std::string responses_dir;
  std::chrono::milliseconds time_limit{60'000};
};

// Runs `job`, or only records it when the response simulates, and appends the outcome to `log`
// (may be null). The program gets OSSEC's arguments and Wazuh's JSON on stdin when the command
// sets json_stdin. Its environment is PATH, LANG=C, VIGIL_AR_NAME and, for responses with
// refresh_on_extend, VIGIL_AR_TIMEOUT (seconds, where 0 never expires). Thread-safe.
ProgramResult ExecuteJob(const Job& job, const ExecutorOptions& options, ActionLog* log);

}  // namespace vigil::response
